"""The scripted reference teacher: real multi-turn trajectories without a teacher model.

For a question whose task has a `reference_program`, the teacher writes one sentence of intent,
the reference program in a ```python block, and stops at the closing fence like a real model. The
rollout engine runs the block in the real sandbox and appends the real interpreter output; the
teacher then reads that output back from its context and writes the final `<<<answer>>>` from it.
Nothing is faked: if the program fails or prints the wrong thing, the verifier rejects the
trajectory like any other.

It runs on the rollout engine's scripted backend (`ScriptedBackend`), which tokenises the words
with a real tokenizer and replays them token by token, so the trajectories carry ids and masks
exactly like sampled ones. It is what the CPU demo uses for SFT data: `--backend scripted --model reference`.

A program's turn must fit the rollout's token budgets, or the engine cuts it before the closing
fence and the trajectory fails, and a long output must reach the teacher unclipped: `fit_rollout`
raises `max_tokens_per_turn` / `max_new_tokens` / `max_output_chars` of a rollout config to what
the teacher needs (SFT synthesis applies it to the scripted backend).

Phrasing varies across samples of one question (a few templates, chosen by the sample's
occurrence), so several samples per question are not all byte-identical; the de-duplication filter
still drops exact repeats.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from r1ci.rollout.backends.scripted import last_output

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from r1ci.rollout.backends.base import Backend
    from r1ci.rollout.backends.scripted import ScriptedBackend
    from r1ci.rollout.protocol import RolloutConfig
    from r1ci.tasks.base import Question

TEACHER_NAME = "reference"

OPENINGS = (
    "I will compute the answer exactly with a short Python program.",
    "Let me solve this with code and read off the result.",
    "This is easiest to get right by computing it in Python.",
    "I'll write a program that works out the answer, then check its output.",
)
CLOSINGS = (
    "The program printed {out}, so the answer is <<<{out}>>>",
    "The code's output is {out}. <<<{out}>>>",
    "Based on the execution result, the final answer is <<<{out}>>>",
)
CLOSINGS_LONG = (
    "The program printed the answer above. <<<{out}>>>",
    "Based on the execution result, the final answer is <<<{out}>>>",
)
FAILED = "The program did not produce a usable result, so I cannot give a verified answer."
_INLINE_MAX = 80
"""Outputs longer than this (or multi-line) are not repeated inside the closing sentence."""


def _pick(options: Sequence[str], key: str, occurrence: int) -> str:
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return options[(digest + occurrence) % len(options)]


class ReferenceTeacher:
    """A `script(prompt, so_far, turn) -> str` for `ScriptedBackend`, built over known questions.

    The scripted backend identifies a rollout by its user prompt, so the teacher maps prompt text
    to the question (and so to its task's reference program). Questions must have reference programs.
    """

    def __init__(self, questions: Sequence[Question]) -> None:
        from r1ci import tasks

        self._programs: dict[str, str] = {}
        for q in questions:
            task = tasks.get(q.task)
            if task.reference_program is None:
                raise ValueError(
                    f"task {q.task!r} has no reference program, so the scripted teacher cannot answer it; "
                    "drop it from --tasks or use a model teacher (--backend hf|vllm|openai)"
                )
            program = task.reference_program(q)
            if not program or not program.strip():
                raise ValueError(f"task {q.task!r} returned an empty reference program for {q.id}")
            known = self._programs.get(q.prompt)
            if known is not None and known != program:
                raise ValueError(f"two questions share the prompt of {q.id} but have different programs")
            self._programs[q.prompt] = program.strip("\n")
        self._starts: dict[str, int] = defaultdict(int)

    def turn_texts(self) -> list[str]:
        """The longest text each question's first turn can be (any opening, the fenced program)."""
        longest = max(OPENINGS, key=len)
        return [f"{longest}\n```python\n{program}\n```\n" for program in self._programs.values()]

    def __call__(self, prompt: str, so_far: str, turn: int) -> str:
        program = self._programs.get(prompt)
        if program is None:
            raise KeyError("the reference teacher was asked a question it was not built with")
        if turn == 0:
            occurrence = self._starts[prompt]
            self._starts[prompt] += 1
            opening = _pick(OPENINGS, prompt, occurrence)
            return f"{opening}\n```python\n{program}\n```\n"
        out = last_output(so_far)
        if out is None or out == "(no output)" or "Traceback (most recent call last)" in out:
            return FAILED
        inline = "\n" not in out and len(out) <= _INLINE_MAX
        key = prompt + so_far[:200]  # the opening chosen above also picks the closing
        template = _pick(CLOSINGS if inline else CLOSINGS_LONG, key, 0)
        return template.format(out=out)


def reference_backend(
    questions: Sequence[Question], tokenizer: PreTrainedTokenizerBase | str | None = "default"
) -> ScriptedBackend:
    """The scripted backend speaking as the reference teacher, tokenising with `tokenizer` (a
    tokenizer, a model spec like "default" / a hub id, or None for text-only trajectories)."""
    from r1ci.rollout.backends.scripted import ScriptedBackend

    return ScriptedBackend(ReferenceTeacher(questions), tokenizer=tokenizer, model_name=TEACHER_NAME)


_TURN_MARGIN = 64
"""Tokens beyond the longest program turn: the end-of-turn ids and tokenisation at the seams."""
_ANSWER_TOKENS = 4096
"""What the closing turn may take: it repeats the program's output (a long list, a grid)."""
_OUTPUT_CHARS = 16_000
"""Interpreter output the teacher must see whole to copy it into its answer."""


def fit_rollout(cfg: RolloutConfig, backend: Backend) -> RolloutConfig:
    """`cfg` with budgets large enough for the scripted teacher (unchanged for other backends, never
    lowered): the program turn fits its longest program, the closing turn and the interpreter
    output fit a long answer. Without it a long program is cut mid-block, or a long output is
    clipped before the teacher copies it, and the trajectory fails. The scripted backend emits
    exactly its text, so a larger cap costs nothing; `filters.max_tokens` still drops long ones."""
    from r1ci.rollout.backends.scripted import ScriptedBackend
    from r1ci.rollout.tokenize import encode_text
    from r1ci.tasks.check import PROGRAM_TIMEOUT_S

    if not isinstance(backend, ScriptedBackend) or not isinstance(backend.script, ReferenceTeacher):
        return cfg
    texts = backend.script.turn_texts()
    if not texts:
        return cfg
    if backend.tokenizer is None:
        longest = max(len(t) for t in texts)  # text-only trajectories: characters bound tokens
    else:
        longest = max(len(encode_text(backend.tokenizer, t)) for t in texts)
    per_turn = max(cfg.max_tokens_per_turn, longest + _TURN_MARGIN, _ANSWER_TOKENS)
    update = {
        "max_tokens_per_turn": per_turn,
        # the whole completion counts the interpreter output too: program + output + answer
        "max_new_tokens": max(cfg.max_new_tokens, longest + _TURN_MARGIN + 2 * _ANSWER_TOKENS),
        "max_output_chars": max(cfg.max_output_chars, _OUTPUT_CHARS),
        "exec_timeout_s": max(cfg.exec_timeout_s, PROGRAM_TIMEOUT_S),
    }
    if all(getattr(cfg, k) == v for k, v in update.items()):
        return cfg
    return cfg.model_copy(update=update)
