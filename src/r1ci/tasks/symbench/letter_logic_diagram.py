"""Letter logic diagram: complete a Latin square whose minor diagonal holds a single letter.

Generation needs no search: the cyclic square L[(i + j) mod n] has a constant minor diagonal,
and permuting rows by p and columns by r∘p∘r (r(x) = n-1-x) keeps both the Latin property and the
constant diagonal; relabelling the letters adds the rest of the variety. Cells are then blanked.
The checker validates any completion (Latin rows/columns, givens kept, constant diagonal).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    MAX_ANSWER_CHARS,
    first_rejected,
    metadata_program,
    published_samples,
)

DESCRIPTION = "Complete a Latin square of letters whose minor diagonal is one repeated letter."

# difficulty -> (grid size, fraction of cells left filled)
_LEVELS = {1: (5, 0.6), 2: (6, 0.5), 3: (7, 0.5), 4: (7, 0.42), 5: (7, 0.35)}


def is_valid_completion(data: dict, grid: list[list[str]]) -> bool:
    puzzle = data["grid"]
    n = len(puzzle)
    letters = set(data["letters"])
    if len(grid) != n or any(len(row) != n for row in grid):
        return False
    if any(set(row) != letters for row in grid) or any({grid[r][c] for r in range(n)} != letters for c in range(n)):
        return False
    if any(puzzle[r][c] is not None and puzzle[r][c] != grid[r][c] for r in range(n) for c in range(n)):
        return False
    return len({grid[r][n - 1 - r] for r in range(n)}) == 1


def solve_letter_grid(data: dict) -> str:
    """Backtracking: fix the diagonal letter, then fill the blank cells row by row."""
    puzzle, letters = data["grid"], data["letters"]
    n = len(puzzle)
    for diag in letters:
        if any(puzzle[r][n - 1 - r] not in (None, diag) for r in range(n)):
            continue
        grid = [row[:] for row in puzzle]
        cells = [(r, c) for r in range(n) for c in range(n) if grid[r][c] is None]

        def fill(k: int, grid: list = grid, cells: list = cells, diag: str = diag) -> bool:
            if k == len(cells):
                return True
            r, c = cells[k]
            used = set(grid[r]) | {grid[i][c] for i in range(n)}
            for letter in [diag] if c == n - 1 - r else letters:
                if letter not in used:
                    grid[r][c] = letter
                    if fill(k + 1):
                        return True
            grid[r][c] = None
            return False

        if fill(0):
            return "\n".join(",".join(row) for row in grid)
    raise ValueError("the puzzle has no solution")


def parse_grid(text: str) -> list[list[str]] | None:
    if len(text) > MAX_ANSWER_CHARS:
        return None
    rows = [line.strip().strip("[]").strip() for line in text.strip().strip("[]").splitlines()]
    rows = [r for r in rows if r]
    if len(rows) == 1 and ";" in rows[0]:
        rows = [r.strip() for r in rows[0].split(";") if r.strip()]
    out = []
    for row in rows:
        cells = [c.strip().strip("\"'").lower() for c in (row.split(",") if "," in row else row.split())]
        if not all(len(c) == 1 for c in cells):
            return None
        out.append(cells)
    return out


def _problem(grid: list[list[str | None]], letters: list[str]) -> str:
    n = len(grid)
    span = f"{{{letters[0]}..{letters[-1]}}}"
    puzzle = "\n".join(",".join(c or "" for c in row) for row in grid)
    return (
        f"Given a {n}x{n} grid of letters {span}, some cells are pre-filled. Fill the rest so that:\n"
        f"1) Each row has exactly one of each letter {span}.\n"
        f"2) Each column has exactly one of each letter {span}.\n"
        "3) All cells on the minor diagonal (top-right to bottom-left) contain the same letter.\n\n"
        "Here is the puzzle (each row on its own line, cells separated by commas, empty cells blank):\n\n"
        f"{puzzle}\n\n"
        "Any completion satisfying all the rules is accepted. Return the answer with the format:\n"
        f"<<<\nrow1\nrow2\n...  ({n} rows total)\n>>>\n\n"
        f"where each row has {n} letters separated by commas."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, keep = _LEVELS[difficulty]
    letters = [chr(ord("a") + i) for i in range(n)]
    labels = letters[:]
    rng.shuffle(labels)
    p = list(range(n))
    rng.shuffle(p)
    cyclic = [[labels[(i + j) % n] for j in range(n)] for i in range(n)]
    # Row i moves to p[i], column j moves to n-1-p[n-1-j]: the minor diagonal maps onto itself.
    solution = [[""] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            solution[p[i]][n - 1 - p[n - 1 - j]] = cyclic[i][j]
    cells = [(r, c) for r in range(n) for c in range(n)]
    shown = set(rng.sample(cells, round(keep * n * n)))
    grid: list[list[str | None]] = [[solution[r][c] if (r, c) in shown else None for c in range(n)] for r in range(n)]
    data = {"grid": grid, "letters": letters}
    return Sample(_problem(grid, letters), "\n".join(",".join(row) for row in solution), data)


def check(answer: str, q: Question) -> bool:
    grid = parse_grid(answer)
    return grid is not None and is_valid_completion(q.metadata, grid)


def corrupt(gold: str, q: Question) -> str:
    rows = [r.split(",") for r in gold.splitlines()]
    swapped = [rows[1], rows[0], *rows[2:]]
    changed = [[*rows[0][:-2], rows[0][-1], rows[0][-2]], *rows[1:]]
    return first_rejected(gold, q, check, ["\n".join(",".join(r) for r in g) for g in (changed, swapped)])


reference_program = metadata_program(solve_letter_grid, "grid", "letters")


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    n = len(sol["grid"])
    data = {"grid": sol["grid"], "letters": [chr(ord("a") + i) for i in range(n)]}
    return Sample(problem, "\n".join(",".join(row) for row in sol["solution"]), data)


reference = published_samples("letter_logic_diagram", _from_published)
