"""Pattern recognition: find the largest one-letter square in a letter matrix.

The answer is the bottom-right corner of the largest square block (side >= 3) made of a single
repeated character; the generator guarantees that block is the only one of maximal size (the
published golds follow the same rule: checked over all 100).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    metadata_program,
    parse_int_list,
    published_samples,
)

DESCRIPTION = "Locate the largest single-character square in a letter matrix."
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# difficulty -> (rows range, cols range, square side range)
_LEVELS = {1: ((6, 7), (6, 7), (3, 3)), 2: ((7, 9), (7, 9), (3, 4)), 3: ((9, 11), (9, 12), (3, 5)),
           4: ((11, 13), (11, 14), (3, 6)), 5: ((13, 16), (13, 18), (3, 7))}


def largest_squares(data: dict) -> list[list[int]]:
    """[side, row, col] of every square (side >= 3) of maximal side, by bottom-right corner (0-based)."""
    grid = data["grid"]
    rows, cols = len(grid), len(grid[0])
    side = [[1] * cols for _ in range(rows)]
    for r in range(1, rows):
        for c in range(1, cols):
            if grid[r][c] == grid[r - 1][c] == grid[r][c - 1] == grid[r - 1][c - 1]:
                side[r][c] = 1 + min(side[r - 1][c], side[r][c - 1], side[r - 1][c - 1])
    best = max(max(row) for row in side)
    if best < 3:
        return []
    return [[best, r, c] for r in range(rows) for c in range(cols) if side[r][c] == best]


def find_square(data: dict) -> str:
    """The `[row, column]` answer for the unique largest square."""
    found = largest_squares(data)
    if len(found) != 1:
        raise ValueError(f"expected exactly one largest square, found {len(found)}")
    return f"[{found[0][1]}, {found[0][2]}]"


def _problem(grid: list[list[str]]) -> str:
    matrix = "\n".join(" ".join(row) for row in grid)
    return (
        "Given a character matrix, your task is to find the largest square block made of one repeated "
        "character whose side length is at least 3, and output the row and column numbers of its bottom-right "
        "corner.\n\n"
        f"If the matrix is\n\n{matrix}\n\n"
        "Please provide the row and column of the bottom-right corner of that square (the answer is unique). "
        "Notice: all coordinates start from 0.\n\n"
        "Your answer should be in the format <<<[row, column]>>>."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    (r_lo, r_hi), (c_lo, c_hi), (k_lo, k_hi) = _LEVELS[difficulty]
    while True:
        rows, cols = rng.randint(r_lo, r_hi), rng.randint(c_lo, c_hi)
        grid = [[rng.choice(_LETTERS) for _ in range(cols)] for _ in range(rows)]
        k = rng.randint(k_lo, min(k_hi, rows, cols))
        top, left = rng.randint(0, rows - k), rng.randint(0, cols - k)
        letter = rng.choice(_LETTERS)
        for r in range(top, top + k):
            for c in range(left, left + k):
                grid[r][c] = letter
        data = {"grid": grid}
        found = largest_squares(data)
        if found == [[k, top + k - 1, left + k - 1]]:
            return Sample(_problem(grid), find_square(data), data)


def check(answer: str, q: Question) -> bool:
    guess = parse_int_list(answer, length=2)
    return guess is not None and guess == parse_int_list(q.answer or "", length=2)


def corrupt(gold: str, q: Question) -> str:
    r, c = json.loads(gold)
    return first_rejected(gold, q, check, [f"[{r}, {c + 1}]", f"[{r - 1}, {c}]", f"[{c}, {r + 1}]"])


reference_program = metadata_program(find_square, "grid", helpers=[largest_squares])


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    body = problem.split("If the matrix is", 1)[1].split("Please provide", 1)[0]
    grid = [line.split() for line in body.strip().splitlines()]
    return Sample(problem, f"[{sol['row']}, {sol['column']}]", {"grid": grid})


reference = published_samples("pattern_recognition", _from_published)
