"""String splitting: dismantle machines A, B, C into parts X, Y, Z by cycling five methods.

Each pass runs every method at most once, in order; the cycle stops when a whole pass changes
nothing (this reproduces all 200 published golds). Our generator draws its own coefficients and,
at higher difficulty, its own method order, so the questions are not the published ones.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    join_and,
    metadata_program,
    parse_int_list,
    published_samples,
)
from r1ci.tasks.symbench._rewriting import run_methods

DESCRIPTION = "Cycle dismantling/combining methods over machines and parts until none applies."
ORDER = ["A", "B", "C", "X", "Y", "Z"]
_KIND = {"A": "machine", "B": "machine", "C": "machine", "X": "part", "Y": "part", "Z": "part"}

# The published method set (all 200 reference questions use it, in paraphrase).
PUBLISHED_METHODS: list[list[dict[str, int]]] = [
    [{"A": 1}, {"X": 2, "Y": 1}],
    [{"B": 2}, {"X": 1}],
    [{"C": 2}, {"Y": 1}],
    [{"B": 1, "C": 1}, {"A": 1}],
    [{"X": 1, "Y": 1}, {"Z": 1}],
]

# difficulty -> (max coefficient, max initial machines, shuffle method order)
_LEVELS = {1: (1, 4, False), 2: (2, 6, False), 3: (2, 9, True), 4: (3, 12, True), 5: (3, 16, True)}


def _amounts(counts: dict[str, int]) -> str:
    return join_and([f"{n} {_KIND[k]}{'s' if n > 1 else ''} {k}" for k, n in counts.items()])


def describe_method(needs: dict[str, int], gives: dict[str, int]) -> str:
    verb = "combined into" if all(_KIND[k] == _KIND[next(iter(gives))] for k in needs) else "dismantled into"
    return f"{_amounts(needs)} can be {verb} {_amounts(gives)}."


def _problem(methods: list[list[dict[str, int]]], initial: dict[str, int]) -> str:
    n = len(methods)
    lines = [
        "There is a dismantling engineer who has old machines A, B and C. He discovered that he can obtain "
        "a batch of new parts X, Y and Z through the following methods:",
        *(f"Method {i}: {describe_method(a, b)}" for i, (a, b) in enumerate(methods, 1)),
        "",
        f"Xiao Li cycles through these methods in the given order, executing each method at most once per "
        f"round (a method whose inputs are not available is skipped). After Method {n}, start again from "
        "Method 1. Continue until a whole round executes no method.",
        f"Initially, there are {initial['A']} units of machine A, {initial['B']} units of machine B and "
        f"{initial['C']} units of machine C. How many machines A, B, C remain and how many parts X, Y, Z "
        "does Xiao Li end up with?",
        "",
        "Give the answer as a list of six integers in the order machines A, B, C, parts X, Y, Z. For example, "
        "<<<[1, 0, 1, 1, 1, 1]>>> means 1 machine A, 0 machines B, 1 machine C, 1 part X, 1 part Y and 1 part Z.",
    ]
    return "\n".join(lines)


def sample(rng: random.Random, difficulty: int) -> Sample:
    k, max_init, shuffle = _LEVELS[difficulty]
    c = lambda: rng.randint(1, k)  # noqa: E731 - a tiny local sampler keeps the method table readable
    methods = [
        [{"A": 1}, {"X": c(), "Y": c()}],
        [{"B": c() + 1}, {"X": c()}],
        [{"C": c() + 1}, {"Y": c()}],
        [{"B": c(), "C": c()}, {"A": 1}],
        [{"X": c(), "Y": c()}, {"Z": 1}],
    ]
    if shuffle:
        rng.shuffle(methods)
    initial = {m: rng.randint(1, max_init) for m in "ABC"}
    data = {"initial": initial, "methods": methods, "order": ORDER, "mode": "once"}
    return Sample(_problem(methods, initial), json.dumps(run_methods(data)), data)


def check(answer: str, q: Question) -> bool:
    guess = parse_int_list(answer, length=len(ORDER))
    gold = parse_int_list(q.answer or "", length=len(ORDER))
    return guess is not None and guess == gold


def corrupt(gold: str, q: Question) -> str:
    values = parse_int_list(gold) or []
    bumped = [[*values[:i], values[i] + 1, *values[i + 1 :]] for i in range(len(values))]
    return first_rejected(gold, q, check, (json.dumps(v) for v in bumped))


reference_program = metadata_program(run_methods, "initial", "methods", "order", "mode")


_INITIAL_RE = re.compile(r"there are (\d+) units of Machine A, (\d+) units of Machine B, and (\d+) units of Machine C")


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    m = _INITIAL_RE.search(problem)
    if m is None:
        raise ValueError(f"{d}: initial machine counts not found in the question")
    initial = dict(zip("ABC", map(int, m.groups()), strict=True))
    data = {"initial": initial, "methods": PUBLISHED_METHODS, "order": ORDER, "mode": "once"}
    return Sample(problem, json.dumps([int(x) for x in sol["expected_answer"]]), data)


reference = published_samples("string_splitting", _from_published)
