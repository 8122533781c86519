"""Standard 9x9 Sudoku: fill the empty cells.

Generator: a full grid from the canonical pattern shuffled by validity-preserving symmetries (digit
relabelling, row swaps within a band, band swaps, the same for columns, transpose), then cells are
blanked; difficulty sets how many (20 -> 58). Puzzles need not have a unique solution, so the
checker validates instead of comparing: 81 digits 1-9, givens kept, every row, column and 3x3 box
a permutation of 1..9. The gold is the grid the puzzle was cut from.

Reference set: `standard_sudoku` (120 puzzles).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import call_program, cells, first_rejected, read_question_folder

DESCRIPTION = "Fill a 9x9 Sudoku (any valid completion counts)."

BLANKS: dict[int, tuple[int, int]] = {1: (18, 24), 2: (28, 34), 3: (38, 44), 4: (46, 52), 5: (54, 58)}


def _shuffled_groups(rng: random.Random) -> list[int]:
    """A permutation of 0..8 that keeps the three bands (0-2, 3-5, 6-8) intact as groups."""
    bands = [0, 1, 2]
    rng.shuffle(bands)
    order = []
    for b in bands:
        inner = [0, 1, 2]
        rng.shuffle(inner)
        order += [3 * b + i for i in inner]
    return order


def full_grid(rng: random.Random) -> list[list[int]]:
    base = [[(3 * (r % 3) + r // 3 + c) % 9 + 1 for c in range(9)] for r in range(9)]
    digits = list(range(1, 10))
    rng.shuffle(digits)
    rows, cols = _shuffled_groups(rng), _shuffled_groups(rng)
    grid = [[digits[base[r][c] - 1] for c in cols] for r in rows]
    if rng.random() < 0.5:
        grid = [list(row) for row in zip(*grid, strict=True)]
    return grid


def is_solution(puzzle: list[list[int]], grid: list[list[int]]) -> bool:
    if len(grid) != 9 or any(len(row) != 9 for row in grid):
        return False
    full = set(range(1, 10))
    for r in range(9):
        for c in range(9):
            if puzzle[r][c] and puzzle[r][c] != grid[r][c]:
                return False
    boxes = [[grid[r][c] for r in range(br, br + 3) for c in range(bc, bc + 3)] for br in (0, 3, 6) for bc in (0, 3, 6)]
    return (all(set(row) == full for row in grid) and all(set(col) == full for col in zip(*grid, strict=True))
            and all(set(box) == full for box in boxes))


def solve(puzzle: list[list[int]]) -> list[list[int]] | None:
    """Backtracking on the most constrained empty cell (milliseconds for these puzzles)."""
    grid = [list(row) for row in puzzle]

    def options(r: int, c: int) -> set[int]:
        used = set(grid[r]) | {grid[i][c] for i in range(9)}
        br, bc = 3 * (r // 3), 3 * (c // 3)
        used |= {grid[i][j] for i in range(br, br + 3) for j in range(bc, bc + 3)}
        return set(range(1, 10)) - used

    def search() -> bool:
        best = None
        for r in range(9):
            for c in range(9):
                if grid[r][c] == 0:
                    opts = options(r, c)
                    if best is None or len(opts) < len(best[2]):
                        best = (r, c, opts)
        if best is None:
            return True
        r, c, opts = best
        for v in sorted(opts):
            grid[r][c] = v
            if search():
                return True
        grid[r][c] = 0
        return False

    return grid if search() else None


def format_grid(grid: list[list[int]]) -> str:
    return json.dumps(grid, separators=(",", ":"))


def problem_text(puzzle: list[list[int]]) -> str:
    shown = "\n".join(",".join(str(v) if v else " " for v in row) for row in puzzle)
    return (
        "Given a 9*9 Sudoku grid, each cell must be filled with a number between 1 and 9. No number may appear "
        "more than once in the same row, column, or 3*3 subgrid. Some cells are pre-filled; empty cells are left "
        f"blank. Please fill the remaining empty cells.\n{shown}\n\n"
        "Return the completed grid as a 9*9 matrix (a list of 9 rows, each a list of 9 numbers) in the format "
        "<<<[[1,2,3,4,5,6,7,8,9],[...],...]>>>."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    grid = full_grid(rng)
    lo, hi = BLANKS[difficulty]
    puzzle = [list(row) for row in grid]
    for i in rng.sample(range(81), rng.randint(lo, hi)):
        puzzle[i // 9][i % 9] = 0
    return Sample(problem_text(puzzle), format_grid(grid), {"puzzle": puzzle})


def parse_grid(answer: str) -> list[list[int]] | None:
    toks = cells(answer)
    if toks is None:
        return None
    if len(toks) == 9 and all(len(t) == 9 for t in toks):
        toks = [ch for t in toks for ch in t]  # rows written as 853214679
    if len(toks) != 81 or not all(t in "123456789" and len(t) == 1 for t in toks):
        return None
    vals = [int(t) for t in toks]
    return [vals[9 * r: 9 * r + 9] for r in range(9)]


def check(answer: str, q: Question) -> bool:
    grid = parse_grid(answer)
    return grid is not None and is_solution(q.metadata["puzzle"], grid)


def reference(root: Path) -> list[Sample]:
    out = []
    for question, sol in read_question_folder(root / "standard_sudoku"):
        meta = {"puzzle": sol["puzzle"], "complexity": sol.get("complexity")}
        out.append(Sample(question, format_grid(sol["solution"]), meta))
    return out


def corrupt(gold: str, q: Question) -> str:
    """One blank cell filled with a different digit (a duplicate in its row)."""
    grid = json.loads(gold)
    puzzle = q.metadata["puzzle"]
    cands = []
    for r in range(9):
        for c in range(9):
            if puzzle[r][c] == 0:
                wrong = [list(row) for row in grid]
                wrong[r][c] = grid[r][c] % 9 + 1
                cands.append(format_grid(wrong))
                if len(cands) >= 3:
                    return first_rejected(gold, q, check, cands)
    return first_rejected(gold, q, check, cands)


reference_program = call_program(solve, "puzzle")
