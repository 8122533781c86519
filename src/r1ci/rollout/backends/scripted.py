"""A backend whose words come from a Python function: tests, demos and the scripted SFT teacher.

    def script(prompt: str, so_far: str, turn: int) -> str:
        if turn == 0:
            return "Let me compute.\\n```python\\nprint(6 * 7)\\n```\\n"
        return "The result is 42. <<<42>>>"

    backend = ScriptedBackend(script, tokenizer="default")

`prompt` is the question's user text, `so_far` the completion so far exactly as the model would see
it (model text and interpreter output), `turn` the number of code executions so far. The returned
chunk is tokenised with a real tokenizer (`encode_text`) and then behaves like sampled tokens: it
stops at the first stop event (a closed code block, a closed answer) like a real model would, is
cut at the request's token budget, and is followed by the end-of-turn token when it runs out. So a
chunk should hold one turn: text up to and including one code block, or the final answer.
With `tokenizer=None` it produces text-only trajectories (like an API teacher).

Built-in scripts (`SCRIPTS`, selectable by name from `get_backend("scripted", script=...)` and the
CLI): "calculator" evaluates the arithmetic expression in the question with one code turn and
answers with the printed result; an offline, model-free demo of the whole loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from r1ci.rollout.backends.base import GenerationRequest, GenerationResult, OnFinish, SamplingParams
from r1ci.rollout.backends.shared import BaseBackend
from r1ci.rollout.tokenize import decode, encode_text, end_of_turn_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

ScriptFn = Callable[[str, str, int], str]


class ScriptedBackend(BaseBackend):
    name = "scripted"
    default_batch_size = 64

    def __init__(
        self,
        script: ScriptFn,
        tokenizer: PreTrainedTokenizerBase | str | None = "default",
        *,
        model_name: str = "scripted",
        max_context: int | None = None,
    ) -> None:
        if not callable(script):
            raise TypeError(f"script must be a function (prompt, so_far, turn) -> str, got {type(script).__name__}")
        if isinstance(tokenizer, str):
            from r1ci.models import load_tokenizer

            tokenizer = load_tokenizer(tokenizer)
        self.script = script
        self.tokenizer = tokenizer
        self.model_name = model_name
        self.max_context = max_context
        self._eot = end_of_turn_ids(tokenizer) if tokenizer is not None else []

    def _generate(
        self, requests: list[GenerationRequest], params: SamplingParams, on_finish: OnFinish | None
    ) -> list[GenerationResult]:
        results = []
        for i, req in enumerate(requests):
            prompt = next((m["content"] for m in reversed(req.messages) if m["role"] == "user"), "")
            turn = sum(1 for s in req.segments if s.kind == "interpreter")
            chunk = self.script(prompt, req.completion_text, turn)
            if not isinstance(chunk, str):
                raise TypeError(f"script returned {type(chunk).__name__}, expected the next text chunk (str)")
            res = self._emit(req, chunk) if self.tokenizer is not None else self._emit_text(req, chunk)
            if on_finish is not None:
                on_finish(i, res.text)
            results.append(res)
        return results

    def _emit(self, req: GenerationRequest, chunk: str) -> GenerationResult:
        """Replay the chunk token by token, stopping where a sampler would."""
        tok = self.tokenizer
        ids = encode_text(tok, chunk)
        budget = req.max_new_tokens
        for k, tid in enumerate(ids[:budget]):
            if req.rules.may_trigger(decode(tok, [tid])):
                text = decode(tok, ids[: k + 1])
                if req.rules.event(req.turn_text + text) is not None:
                    return GenerationResult(text, ids[: k + 1], "stop")
        if len(ids) >= budget:
            return GenerationResult(decode(tok, ids[:budget]), ids[:budget], "length")
        out = ids + self._eot[: budget - len(ids)]
        reason = "eos" if len(out) == len(ids) + len(self._eot) else "length"
        return GenerationResult(decode(tok, out), out, reason)

    def _emit_text(self, req: GenerationRequest, chunk: str) -> GenerationResult:
        event = req.rules.event(req.turn_text + chunk)
        if event is not None and event.end > len(req.turn_text):
            return GenerationResult(chunk[: event.end - len(req.turn_text)], [], "stop")
        return GenerationResult(chunk, [], "eos")


_EXPR_RE = re.compile(r"[\d(][\d\s+\-*/%().]*[\d)]")
_OUTPUT_RE = re.compile(r"```output\n(.*?)\n```", re.DOTALL)


def last_output(so_far: str) -> str | None:
    """The body of the last interpreter output block in `so_far`."""
    found = _OUTPUT_RE.findall(so_far)
    return found[-1].strip() if found else None


def calculator_script(prompt: str, so_far: str, turn: int) -> str:
    if turn == 0:
        candidates = [m.group().strip() for m in _EXPR_RE.finditer(prompt)]
        exprs = [c for c in candidates if any(op in c for op in "+-*/%")]
        if not exprs:
            return "I see no arithmetic expression to evaluate, so I cannot compute an answer. <<<unknown>>>"
        expr = max(exprs, key=len)
        return f"I will evaluate the expression with Python.\n```python\nprint({expr})\n```\n"
    out = last_output(so_far)
    return f"The interpreter printed {out}, so the answer is <<<{out}>>>"


SCRIPTS: dict[str, ScriptFn] = {"calculator": calculator_script}
