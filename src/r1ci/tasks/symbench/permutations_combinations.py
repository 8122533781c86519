"""Permutations and combinations: shelve lettered books so that positional constraints hold.

Many arrangements can be valid, so the checker validates the constraints (and that the answer is
a permutation of the books) instead of comparing with one gold. Generated questions are built
around a hidden arrangement, which is the gold; every constraint is true of it.
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
    match_kind,
    metadata_program,
    parse_items,
    published_samples,
)

DESCRIPTION = "Arrange labelled books on a shelf so that every positional constraint holds."
Constraint = list  # [kind, book, other]: kind in at | not_at (other: 1-based position) | left | right | adjacent

# difficulty -> (number of books, number of constraints)
_LEVELS = {1: (5, 5), 2: (6, 6), 3: (7, 8), 4: (8, 9), 5: (9, 11)}


def constraint_holds(kind: str, a: str, b: str | int, order: list[str]) -> bool | None:
    """Whether one constraint holds in a (possibly partial, left-to-right) arrangement; None = undecided yet."""
    pos = {book: i + 1 for i, book in enumerate(order)}
    if kind == "at":
        if a in pos:
            return pos[a] == b
        return None if len(order) < b else False
    if kind == "not_at":
        return None if a not in pos else pos[a] != b
    if a not in pos or b not in pos:
        return None
    if kind == "left":
        return pos[a] < pos[b]
    if kind == "right":
        return pos[a] > pos[b]
    if kind == "adjacent":
        return abs(pos[a] - pos[b]) == 1
    raise ValueError(f"unknown constraint kind {kind!r}")


def satisfies(order: list[str], constraints: list) -> bool:
    return all(constraint_holds(kind, a, b, order) for kind, a, b in constraints)


def solve_shelf(data: dict) -> list[str]:
    """Backtracking search (left to right) for one arrangement satisfying every constraint."""
    books, constraints = data["items"], data["constraints"]
    order: list[str] = []

    def search() -> bool:
        if len(order) == len(books):
            return True
        for book in books:
            if book not in order:
                order.append(book)
                if all(constraint_holds(k, a, b, order) is not False for k, a, b in constraints) and search():
                    return True
                order.pop()
        return False

    if not search():
        raise ValueError("no arrangement satisfies the constraints")
    return order


def describe(c: Constraint) -> str:
    kind, a, b = c
    return {
        "at": f"Book {a} must be placed in position {b}.",
        "not_at": f"Book {a} cannot be placed in position {b}.",
        "left": f"Book {a} must be to the left of book {b}.",
        "right": f"Book {a} must be to the right of book {b}.",
        "adjacent": f"Book {a} must be adjacent to book {b}.",
    }[kind]


def _random_constraint(rng: random.Random, order: list[str]) -> Constraint:
    n = len(order)
    kind = rng.choices(["at", "not_at", "left", "right", "adjacent"], weights=[1, 2, 2, 2, 2])[0]
    if kind == "at":
        i = rng.randrange(n)
        return ["at", order[i], i + 1]
    if kind == "not_at":
        a = rng.choice(order)
        return ["not_at", a, rng.choice([p for p in range(1, n + 1) if order[p - 1] != a])]
    if kind == "adjacent":
        i = rng.randrange(n - 1)
        pair = [order[i], order[i + 1]]
        rng.shuffle(pair)
        return ["adjacent", *pair]
    i, j = sorted(rng.sample(range(n), 2))
    return ["left", order[i], order[j]] if kind == "left" else ["right", order[j], order[i]]


def _problem(books: list[str], constraints: list[Constraint]) -> str:
    n = len(books)
    lines = [
        f"Xiao Wang is a librarian responsible for shelving {n} books labeled {', '.join(books)} on a shelf "
        f"with positions 1 to {n}.",
        "",
        "The constraints are:",
        *(f"{i}. {describe(c)}" for i, c in enumerate(constraints, 1)),
        "",
        "\"To the left of\" and \"to the right of\" do not require the books to be next to each other; "
        "\"adjacent\" means in neighbouring positions.",
        "",
        f"Question: Based on the above conditions, arrange the {n} books from left to right on the bookshelf, "
        f"i.e. positions 1 through {n}. One valid arrangement is enough. Return your answer as a list of "
        'strings, for example <<<["A", "B", "C"]>>>.',
    ]
    return "\n".join(lines)


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, n_constraints = _LEVELS[difficulty]
    books = [chr(ord("A") + i) for i in range(n)]
    order = books[:]
    rng.shuffle(order)
    constraints: list[Constraint] = []
    while len(constraints) < n_constraints:
        c = _random_constraint(rng, order)
        if c not in constraints:
            constraints.append(c)
    data = {"items": books, "constraints": constraints}
    return Sample(_problem(books, constraints), json.dumps(order), data)


def check(answer: str, q: Question) -> bool:
    items = parse_items(answer)
    books = q.metadata["items"]
    if items is None or sorted(i.upper() for i in items) != sorted(books):
        return False
    return satisfies([i.upper() for i in items], q.metadata["constraints"])


def corrupt(gold: str, q: Question) -> str:
    order = json.loads(gold)
    swaps = []
    for i in range(len(order)):
        for j in range(i + 1, len(order)):
            o = order[:]
            o[i], o[j] = o[j], o[i]
            swaps.append(json.dumps(o))
    return first_rejected(gold, q, check, [*swaps, json.dumps(order[:-1] + order[:1])])


reference_program = metadata_program(solve_shelf, "items", "constraints", helpers=[constraint_holds])


_PATTERNS = [
    (re.compile(r"Book (\w) must be placed in position (\d+)\."), "at"),
    (re.compile(r"Book (\w) cannot be placed in position (\d+)\."), "not_at"),
    (re.compile(r"Book (\w) must be to the left of book (\w)\."), "left"),
    (re.compile(r"Book (\w) must be to the right of book (\w)\."), "right"),
    (re.compile(r"Book (\w) must be adjacent to book (\w)\."), "adjacent"),
]


def parse_constraint(text: str) -> Constraint:
    kind, m = match_kind(_PATTERNS, text, "constraint")
    other = int(m.group(2)) if kind in ("at", "not_at") else m.group(2)
    return [kind, m.group(1), other]


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    constraints = [parse_constraint(line.split(". ", 1)[1]) for line in sol["constraints_text"].splitlines()]
    data = {"items": sol["items"], "constraints": constraints}
    return Sample(problem, json.dumps(sol["correct_solution"]), data)


reference = published_samples("permutations_and_combinations", _from_published)
