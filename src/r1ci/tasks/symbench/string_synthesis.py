"""String synthesis: combine blocks [A] [B] [C] into {A} {B} {C} and (A) (B) (C) by cycling methods.

Unlike string_splitting, each method here is applied as many times as possible before moving on
to the next one (the only reading that reproduces all 200 published golds); the cycle repeats
until a whole pass changes nothing. Our generator draws its own tiered method sets.
"""

from __future__ import annotations

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
from r1ci.tasks.symbench._rewriting import run_methods, tiered_method

DESCRIPTION = "Combine blocks by greedily cycling synthesis methods; report all nine block counts."
BLOCKS = ["[A]", "[B]", "[C]", "{A}", "{B}", "{C}", "(A)", "(B)", "(C)"]
_TIERS = [BLOCKS[0:3], BLOCKS[3:6], BLOCKS[6:9]]
_WORDS = {1: "One", 2: "Two", 3: "Three", 4: "Four"}

PUBLISHED_METHODS: list[list[dict[str, int]]] = [
    [{"[A]": 1, "[B]": 1, "[C]": 1}, {"{A}": 1}],
    [{"[A]": 1, "[B]": 1}, {"{C}": 1}],
    [{"[B]": 1, "[C]": 1}, {"{B}": 1}],
    [{"[C]": 2}, {"{C}": 1}],
    [{"{A}": 1, "{C}": 1}, {"(A)": 1, "(B)": 1}],
    [{"{B}": 2}, {"(C)": 1}],
]

# difficulty -> (number of methods, max coefficient, max initial count)
_LEVELS = {1: (4, 1, 4), 2: (5, 2, 6), 3: (6, 2, 9), 4: (6, 3, 12), 5: (7, 3, 16)}


def _side(counts: dict[str, int]) -> str:
    text = join_and([f"{_WORDS.get(n, str(n)).lower()} {k}" for k, n in counts.items()])
    return text[0].upper() + text[1:]


def _problem(methods: list[list[dict[str, int]]], initial: dict[str, int]) -> str:
    lines = [
        "There are nine different blocks [A], [B], [C], {A}, {B}, {C}, (A), (B), (C) that satisfy:",
        *(f"{i}. {_side(a)} can be combined to form {_side(b)[0].lower() + _side(b)[1:]}."
          for i, (a, b) in enumerate(methods, 1)),
        "",
        f"Cycle through Methods 1..{len(methods)} in order. Apply each method as many times as it can be applied "
        "before moving on to the next one; after the last method, start again from Method 1. Stop when a whole "
        "cycle makes no change.",
        "",
        f"Question: If we now have {initial['[A]']} [A], {initial['[B]']} [B] and {initial['[C]']} [C], how many "
        "blocks of each kind will there be at the end?",
        "",
        "Give the nine counts in the order [A], [B], [C], {A}, {B}, {C}, (A), (B), (C) as a list of integers, "
        "for example <<<[2, 0, 1, 1, 0, 0, 0, 0, 0]>>>.",
    ]
    return "\n".join(lines)


def sample(rng: random.Random, difficulty: int) -> Sample:
    n_methods, k, max_init = _LEVELS[difficulty]
    methods = [tiered_method(rng, _TIERS, k, max(1, k - 1), min_total_in=2) for _ in range(n_methods)]
    initial = {b: rng.randint(1, max_init) for b in BLOCKS[:3]}
    data = {"initial": initial, "methods": methods, "order": BLOCKS, "mode": "max"}
    return Sample(_problem(methods, initial), str(run_methods(data)), data)


def check(answer: str, q: Question) -> bool:
    guess = parse_int_list(answer, length=len(BLOCKS))
    return guess is not None and guess == parse_int_list(q.answer or "", length=len(BLOCKS))


def corrupt(gold: str, q: Question) -> str:
    values = parse_int_list(gold) or []
    bumped = [[*values[:i], values[i] + 1, *values[i + 1 :]] for i in range(len(values))]
    return first_rejected(gold, q, check, (str(v) for v in bumped))


reference_program = metadata_program(run_methods, "initial", "methods", "order", "mode")


_COUNTS_RE = re.compile(r"we now have (\d+) \[A\], (\d+) \[B\], and (\d+) \[C\]")


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    initial = {"[A]": sol["A_count"], "[B]": sol["B_count"], "[C]": sol["C_count"]}
    data = {"initial": initial, "methods": PUBLISHED_METHODS, "order": BLOCKS, "mode": "max"}
    return Sample(problem, " ".join(str(n) for n in sol["final_counts"]), data)


reference = published_samples("string_synthesis", _from_published)
