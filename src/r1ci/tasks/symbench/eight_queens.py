"""Eight queens with pre-placed queens and blocked cells (N queens at the top levels).

Generator: a random full solution first (randomised backtracking, fast for N <= 10), then some of
its queens are shown as pre-placed and some cells off the solution are blocked, so the puzzle is
solvable by construction. Difficulty: fewer pre-placed queens, more blocked cells, larger boards.
Checker: exactly N distinct in-board queens, all pre-placed ones included, none on a blocked cell,
no two attacking. Any valid completion scores 1.

Reference set: `eight_queens_dataset` (150 boards); `VARIANTS` holds `eight_queens_dataset_2`,
`_hard` and `_varied_complexity`.
"""

from __future__ import annotations

import random
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    call_program,
    first_rejected,
    format_positions,
    parse_positions,
    read_question_folder,
)
from r1ci.tasks.symbench.common import ReferenceParser

DESCRIPTION = "Complete an N-queens board with pre-placed queens and blocked cells."
MANY_VALID_ANSWERS = True

# difficulty -> (board size, pre-placed queens (min, max), blocked cells (min, max))
LEVELS: dict[int, tuple[int, tuple[int, int], tuple[int, int]]] = {
    1: (8, (3, 4), (0, 2)),
    2: (8, (1, 3), (1, 4)),
    3: (8, (0, 1), (3, 8)),
    4: (9, (0, 2), (4, 10)),
    5: (10, (0, 1), (8, 16)),
}


def random_solution(n: int, rng: random.Random) -> list[tuple[int, int]]:
    """One N-queens solution, row by row with shuffled columns (a few hundred nodes for N <= 10)."""
    cols: list[int] = []

    def place(row: int) -> bool:
        if row == n:
            return True
        order = list(range(n))
        rng.shuffle(order)
        for c in order:
            if all(c != pc and abs(c - pc) != row - pr for pr, pc in enumerate(cols)):
                cols.append(c)
                if place(row + 1):
                    return True
                cols.pop()
        return False

    place(0)
    return list(enumerate(cols))


def solve(n: int, placed: list[list[int]], blocked: list[list[int]]) -> list[tuple[int, int]] | None:
    """Complete a board: backtracking row by row, honouring pre-placed queens and blocked cells."""
    fixed = {r: c for r, c in placed}
    banned = {(r, c) for r, c in blocked}
    cols: list[int] = []

    def ok(row: int, c: int) -> bool:
        return (row, c) not in banned and all(c != pc and abs(c - pc) != row - pr for pr, pc in enumerate(cols))

    def place(row: int) -> bool:
        if row == n:
            return True
        options = [fixed[row]] if row in fixed else range(n)
        for c in options:
            if ok(row, c):
                cols.append(c)
                if place(row + 1):
                    return True
                cols.pop()
        return False

    return list(enumerate(cols)) if place(0) else None


def board_rows(n: int, placed: list[tuple[int, int]], blocked: list[tuple[int, int]]) -> list[str]:
    grid = [["0"] * n for _ in range(n)]
    for r, c in placed:
        grid[r][c] = "1"
    for r, c in blocked:
        grid[r][c] = "X"
    return ["".join(row) for row in grid]


def problem_text(n: int, rows: list[str]) -> str:
    board = "\n".join(rows)
    return (
        f"Given a{'n' if n in (8, 11, 18) else ''} {n}*{n} grid, cells marked with 1 have a queen placed, and cells marked with 0 are empty. "
        f"A total of {n} queens need to be placed such that no two queens can attack each other, meaning no "
        "two queens can be in the same row, column, or diagonal. Additionally, positions marked with X are "
        "not allowed for placing queens. Please help me complete the placement of the remaining queens on "
        f"the partially filled board.\n\n{board}\n\n"
        f"Return the positions of all {n} queens (the pre-placed ones included) in the format "
        "<<<list of queen positions>>>, where each position is given as row column (0-based indices). "
        "For example, <<<0 3, 1 0, 2 4>>> means queens are placed at positions (0,3), (1,0), and (2,4)."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, (pmin, pmax), (bmin, bmax) = LEVELS[difficulty]
    solution = random_solution(n, rng)
    placed = sorted(rng.sample(solution, rng.randint(pmin, pmax)))
    free = [(r, c) for r in range(n) for c in range(n) if (r, c) not in set(solution)]
    blocked = sorted(rng.sample(free, rng.randint(bmin, bmax)))
    meta = {"n": n, "placed": [list(p) for p in placed], "blocked": [list(b) for b in blocked]}
    return Sample(problem_text(n, board_rows(n, placed, blocked)), format_positions(solution), meta)


def check(answer: str, q: Question) -> bool:
    n: int = q.metadata["n"]
    queens = parse_positions(answer)
    if queens is None or len(queens) != n or len(set(queens)) != n:
        return False
    if any(not (0 <= r < n and 0 <= c < n) for r, c in queens):
        return False
    chosen = set(queens)
    if any(tuple(p) not in chosen for p in q.metadata["placed"]):
        return False
    if any(tuple(b) in chosen for b in q.metadata["blocked"]):
        return False
    for i, (r1, c1) in enumerate(queens):
        for r2, c2 in queens[i + 1:]:
            if r1 == r2 or c1 == c2 or abs(r1 - r2) == abs(c1 - c2):
                return False
    return True


def _read(folder: Path) -> list[Sample]:
    out = []
    for question, sol in read_question_folder(folder):
        rows = sol["initial_board"]
        meta = {"n": len(rows), "placed": sol["placed_queens"], "blocked": sol["blocked_positions"],
                "complexity": sol.get("complexity")}
        out.append(Sample(question, format_positions(sol["solution"]), meta))
    return out


def reference(root: Path) -> list[Sample]:
    return _read(root / "eight_queens_dataset")


def _varied(root: Path) -> list[Sample]:
    base = root / "eight_queens_dataset_varied_complexity"
    return [s for level in range(1, 6) for s in _read(base / f"eight_queens_dataset_complexity{level}")]


VARIANTS: dict[str, ReferenceParser] = {
    "2": lambda root: _read(root / "eight_queens_dataset_2"),
    "hard": lambda root: _read(root / "eight_queens_dataset_hard"),
    "varied_complexity": _varied,
}


def corrupt(gold: str, q: Question) -> str:
    """Shift one queen a column sideways (it then shares a column with another queen)."""
    queens = parse_positions(gold) or []
    n = q.metadata["n"]
    cands = []
    for i, (r, c) in enumerate(queens):
        moved = [*queens[:i], (r, (c + 1) % n), *queens[i + 1:]]
        cands.append(format_positions(moved))
    return first_rejected(gold, q, check, cands)


reference_program = call_program(
    solve, "n", "placed", "blocked", show=lambda call: f"', '.join(f'{{r}} {{c}}' for r, c in {call})"
)
