"""Logical equation: assign distinct given numbers to letters so a system of relations holds.

The checker validates the relations (and that the answer uses each number exactly once), so any
valid assignment scores 1. The generator builds the relations around a hidden assignment (the gold).
"""

from __future__ import annotations

import json
import random
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    match_kind,
    metadata_program,
    parse_items,
    parse_number,
    published_samples,
)

DESCRIPTION = "Assign distinct numbers to letters so that sums, differences, ratios and orderings hold."
Relation = list  # ["sum", a, b, v] | ["diff", a, b, v] | ["ratio", a, b, k] (a = k*b) | ["gt", a, b]

# difficulty -> (letters, number of relations, largest number)
_LEVELS = {1: (5, 5, 30), 2: (7, 7, 50), 3: (9, 9, 80), 4: (11, 11, 120), 5: (13, 13, 200)}
_NICE_RATIOS = {Fraction(k, 2) for k in range(3, 11)} | {Fraction(k, 5) for k in range(6, 25)}


def relation_holds(rel: list, values: dict) -> bool:
    kind, a, b = rel[0], values[rel[1]], values[rel[2]]
    if kind == "sum":
        return a + b == rel[3]
    if kind == "diff":
        return a - b == rel[3]
    if kind == "ratio":
        return abs(a - rel[3] * b) < 1e-9
    if kind == "gt":
        return a > b
    raise ValueError(f"unknown relation kind {kind!r}")


def solve_letters(data: dict) -> list[int]:
    """Backtracking with most-constrained-letter-first; returns values in alphabetical letter order."""
    letters, numbers, relations = data["letters"], data["numbers"], data["relations"]
    values: dict = {}

    def candidates(letter: str) -> list[int]:
        used = set(values.values())
        out = []
        for n in numbers:
            if n in used:
                continue
            values[letter] = n
            if all(relation_holds(r, values) for r in relations if r[1] in values and r[2] in values):
                out.append(n)
            del values[letter]
        return out

    def search() -> bool:
        free = [x for x in letters if x not in values]
        if not free:
            return True
        options = {x: candidates(x) for x in free}
        letter = min(free, key=lambda x: len(options[x]))
        for n in options[letter]:
            values[letter] = n
            if search():
                return True
            del values[letter]
        return False

    if not search():
        raise ValueError("the relations have no solution")
    return [values[x] for x in letters]


def describe(rel: Relation) -> str:
    kind, a, b = rel[0], rel[1], rel[2]
    if kind == "sum":
        return f"{a} + {b} = {rel[3]}"
    if kind == "diff":
        return f"{a} - {b} = {rel[3]}"
    if kind == "ratio":
        return f"{a} = {float(rel[3])}{b}"
    return f"{a} > {b}"


def _random_relation(rng: random.Random, a: str, b: str, values: dict[str, int]) -> Relation:
    ratio = Fraction(values[a], values[b])
    kind = rng.choices(["sum", "diff", "ratio", "gt"], weights=[4, 4, 3 if ratio in _NICE_RATIOS else 0, 1])[0]
    if kind == "sum":
        return ["sum", a, b, values[a] + values[b]]
    if kind == "diff":
        return ["diff", a, b, values[a] - values[b]]
    if kind == "ratio":
        return ["ratio", a, b, float(ratio)]
    return ["gt", a, b] if values[a] > values[b] else ["gt", b, a]


def _problem(letters: list[str], numbers: list[int], relations: list[Relation]) -> str:
    n = len(letters)
    return "\n".join([
        "Calculate the number for each letter based on the range and set of inequalities that the given letter "
        f"represents. There are {n} letters {', '.join(letters)}, each representing a different one of the numbers "
        f"{', '.join(map(str, numbers))}. The system of inequalities is satisfied as follows:",
        *(f"{i}. {describe(r)}" for i, r in enumerate(relations, 1)),
        "",
        "(\"X = 2.5Y\" means X equals 2.5 times Y.) Return the values in alphabetical order of the letters, "
        "starting with A. Return your answer with the format <<<list of values>>>, like <<<[1, 2, 3]>>> means "
        "that A represents 1, B represents 2, and C represents 3.",
    ])


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, n_relations, top = _LEVELS[difficulty]
    letters = [chr(ord("A") + i) for i in range(n)]
    numbers = sorted(rng.sample(range(1, top + 1), n))
    shuffled = numbers[:]
    rng.shuffle(shuffled)
    values = dict(zip(letters, shuffled, strict=True))
    # A random spanning tree first, so every letter is tied to the others, then extra relations.
    pairs = [(x, rng.choice(letters[:i])) for i, x in enumerate(letters) if i > 0]
    while len(pairs) < n_relations:
        a, b = rng.sample(letters, 2)
        if {a, b} not in [set(p) for p in pairs]:
            pairs.append((a, b))
    rng.shuffle(pairs)
    relations = [_random_relation(rng, *(p if rng.random() < 0.5 else p[::-1]), values) for p in pairs]
    data = {"letters": letters, "numbers": numbers, "relations": relations}
    return Sample(_problem(letters, numbers, relations), json.dumps(shuffled), data)


def check(answer: str, q: Question) -> bool:
    items = parse_items(answer)
    letters, numbers = q.metadata["letters"], q.metadata["numbers"]
    if items is None or len(items) != len(letters):
        return False
    parsed = [parse_number(i) for i in items]
    if any(v is None or v.denominator != 1 for v in parsed):
        return False
    guess = [int(v) for v in parsed if v is not None]
    if sorted(guess) != sorted(numbers):
        return False
    values = dict(zip(letters, guess, strict=True))
    return all(relation_holds(r, values) for r in q.metadata["relations"])


def corrupt(gold: str, q: Question) -> str:
    values = json.loads(gold)
    swaps = []
    for i in range(len(values) - 1):
        v = values[:]
        v[i], v[i + 1] = v[i + 1], v[i]
        swaps.append(json.dumps(v))
    return first_rejected(gold, q, check, swaps)


reference_program = metadata_program(
    solve_letters, "letters", "numbers", "relations", helpers=[relation_holds]
)


_REL_RES = [
    (re.compile(r"(\w) \+ (\w) = (-?\d+)"), "sum"),
    (re.compile(r"(\w) - (\w) = (-?\d+)"), "diff"),
    (re.compile(r"(\w) = (\d+(?:\.\d+)?)(\w)"), "ratio"),
    (re.compile(r"(\w) > (\w)"), "gt"),
]


def parse_relation(text: str) -> Relation:
    kind, m = match_kind(_REL_RES, text, "relation")
    if kind in ("sum", "diff"):
        return [kind, m.group(1), m.group(2), int(m.group(3))]
    if kind == "ratio":
        return [kind, m.group(1), m.group(3), float(m.group(2))]
    return [kind, m.group(1), m.group(2)]


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    header = re.search(r"There are \d+ letters ([A-Z, ]+), each representing one of the numbers ([\d, ]+)\.", problem)
    if header is None:
        raise ValueError(f"{d}: letters/numbers header not found")
    letters = header.group(1).split(", ")
    numbers = [int(x) for x in header.group(2).split(", ")]
    relations = [parse_relation(line) for line in re.findall(r"^\d+\. (.*)$", problem, re.M)]
    data = {"letters": letters, "numbers": numbers, "relations": relations}
    return Sample(problem, json.dumps(sol), data)


reference = published_samples("logical_equation", _from_published)
