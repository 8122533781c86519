"""The task contract: a `Task` makes `Question`s and grades completions.

A task owns three things and nothing else: how its questions are made (a generator or a reference
data file), the prompt text each question carries, and how a final answer is verified. Answer
extraction from a model completion is shared (`r1ci.tasks.answers`) so every task reads the same
`<<<answer>>>` protocol; a task's `check` only ever sees the extracted answer string.

Scoring never raises: malformed model output, a checker bug triggered by hostile text, or an
answer in the wrong shape all give reward 0 with a reason.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from r1ci.tasks.answers import ANSWER_INSTRUCTION, extract_answer

Source = Literal["symbench", "bbh", "reasoning_gym"]
SOURCES: tuple[Source, ...] = ("symbench", "bbh", "reasoning_gym")


@dataclass(frozen=True)
class Question:
    """One question. `prompt` is the full user-facing text, answer-format instruction included."""

    id: str
    task: str
    prompt: str
    answer: str | None
    """Canonical gold answer (what a correct model writes inside `<<<...>>>`); None when only a checker exists."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Checker data (e.g. the puzzle state), difficulty, seed. JSON-serialisable."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Question:
        return cls(id=d["id"], task=d["task"], prompt=d["prompt"], answer=d.get("answer"),
                   metadata=dict(d.get("metadata") or {}))


@dataclass(frozen=True)
class Grade:
    reward: float
    reason: str
    extracted: str | None = None


@dataclass(frozen=True)
class Sample:
    """What a generator returns for one question, before the task wraps it into a `Question`."""

    problem: str
    """The problem statement without the answer-format instruction (the task appends it)."""
    answer: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


# A checker gets the extracted answer text and the question; returns a bool or a score in [0, 1].
Checker = Callable[[str, Question], "bool | float"]
# A question maker: (n, seed, difficulty) -> questions. Generators are wrapped by `generated_questions`.
QuestionMaker = Callable[[int, int, "int | None"], list[Question]]


@dataclass
class Task:
    name: str
    source: Source
    make_questions: QuestionMaker
    check: Checker
    description: str = ""
    difficulties: tuple[int, ...] = ()
    """Valid values of the difficulty knob (empty when the task has none)."""
    reference_program: Callable[[Question], str] | None = None
    """Optional: Python source that prints this question's answer (a scripted teacher for SFT data)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def questions(self, n: int, seed: int = 0, difficulty: int | None = None) -> list[Question]:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if difficulty is not None and self.difficulties and difficulty not in self.difficulties:
            raise ValueError(
                f"task {self.name!r} has difficulties {list(self.difficulties)}, got {difficulty}; "
                "pick one of those or leave it unset"
            )
        return self.make_questions(n, seed, difficulty)

    def iter_questions(self, n: int, seed: int = 0, difficulty: int | None = None) -> Iterator[Question]:
        yield from self.questions(n, seed, difficulty)

    def grade(self, question: Question, completion: str) -> Grade:
        try:
            extracted = extract_answer(completion)
        except Exception as exc:  # extraction is regex-only, but hostile text must never crash training
            return Grade(0.0, f"answer extraction failed: {exc!r}")
        if extracted is None:
            return Grade(0.0, "no <<<answer>>> found in completion")
        try:
            verdict = self.check(extracted, question)
        except Exception as exc:
            return Grade(0.0, f"checker rejected malformed answer: {type(exc).__name__}: {exc}", extracted)
        reward = float(verdict)
        if not 0.0 <= reward <= 1.0:
            return Grade(0.0, f"checker returned out-of-range score {reward}", extracted)
        return Grade(reward, "correct" if reward == 1.0 else ("partial" if reward > 0 else "wrong"), extracted)

    def score(self, question: Question, completion: str) -> float:
        return self.grade(question, completion).reward


def question_rng(task: str, seed: int, index: int) -> random.Random:
    """Per-question RNG: question i of (task, seed) is the same whatever n is, on every machine."""
    digest = hashlib.sha256(f"{task}|{seed}|{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def question_id(task: str, seed: int, index: int) -> str:
    return f"{task}/{seed}/{index}"


def with_instruction(problem: str) -> str:
    return f"{problem.rstrip()}\n\n{ANSWER_INSTRUCTION}"


def generated_questions(
    name: str,
    sample: Callable[[random.Random, int], Sample],
    default_difficulty: int,
) -> QuestionMaker:
    """Wrap a `sample(rng, difficulty) -> Sample` generator into a deterministic question maker."""

    def make(n: int, seed: int, difficulty: int | None) -> list[Question]:
        level = default_difficulty if difficulty is None else difficulty
        out = []
        for i in range(n):
            s = sample(question_rng(name, seed, i), level)
            out.append(
                Question(
                    id=question_id(name, seed, i),
                    task=name,
                    prompt=with_instruction(s.problem),
                    answer=s.answer,
                    metadata={**s.metadata, "difficulty": level, "seed": seed, "index": i},
                )
            )
        return out

    return make
