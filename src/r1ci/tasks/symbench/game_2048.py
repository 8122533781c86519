"""2048 (SymBench variant): move one tile step by step through a grid, merging with equal tiles.

Rules (the SymBench ones, stated precisely in our prompt): the chosen tile moves one cell per
letter (u/d/l/r). Into an empty cell it simply moves; into a cell holding the same number the two
merge into their sum (in the new cell); into a different number or off the grid it stays where it
is, and later letters continue from wherever the tile is. Generator: random powers of two on an
n*n grid, a non-empty start tile, a random move string; difficulty grows grid, tiles and moves.
Checker: the final grid as n*n comma-separated integers (row-major), compared exactly.

Reference set: `2048_dataset` (200 questions).
"""

from __future__ import annotations

import random
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import call_program, flat, grid_text, parse_ints, read_question_folder

DESCRIPTION = "2048 variant: slide one tile along a move string, merging equal tiles."

# difficulty -> (grid size, number of moves)
LEVELS: dict[int, tuple[int, int]] = {1: (2, 2), 2: (3, 3), 3: (4, 4), 4: (5, 6), 5: (6, 9)}


def slide(grid: list[list[int]], start: list[int], moves: str) -> list[list[int]]:
    """Move the tile at 0-based `start` along `moves`, merging into equal tiles; returns the new grid."""
    g = [list(row) for row in grid]
    n = len(g)
    r, c = start
    step = {"u": (-1, 0), "d": (1, 0), "l": (0, -1), "r": (0, 1)}
    for mv in moves:
        dr, dc = step[mv]
        nr, nc = r + dr, c + dc
        if not (0 <= nr < n and 0 <= nc < n):
            continue
        if g[nr][nc] == 0:
            g[nr][nc], g[r][c] = g[r][c], 0
            r, c = nr, nc
        elif g[nr][nc] == g[r][c]:
            g[nr][nc], g[r][c] = 2 * g[r][c], 0
            r, c = nr, nc
    return g


def problem_text(grid: list[list[int]], start: list[int], moves: str) -> str:
    n = len(grid)
    return (
        f"In a {n}x{n} grid, there are several squares containing powers of 2 (0 marks an empty square). "
        "We define the '2048' game: the chosen number moves one square per step. Moving into an empty square, "
        "it simply moves there. When it meets the same power of 2, the two combine into the next power of 2 in "
        "that square (2 meets 2 -> 4; 4 meets 4 -> 8; 16 meets 16 -> 32) and the combined number keeps moving "
        "with the next steps. When it meets a different number, or the edge of the grid, it stays where it is "
        "for that step.\n"
        "u: represents moving up one step\nd: represents moving down one step\n"
        "l: represents moving left one step\nr: represents moving right one step\n\n"
        f"Now, in the following matrix, move the number in position ({start[0] + 1}, {start[1] + 1}) "
        f"(row, column, counting from 1) using the sequence '{moves}':\n{grid_text(grid)}\n\n"
        "What is the matrix after moving? Write it row by row as comma-separated numbers, e.g. "
        "<<<16, 0, 4, 2>>> for a 2x2 grid."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, n_moves = LEVELS[difficulty]
    cells = [(r, c) for r in range(n) for c in range(n)]
    grid = [[0] * n for _ in range(n)]
    small = [2, 4, 8] if difficulty <= 2 else [2, 4, 8, 16, 32]
    for r, c in rng.sample(cells, rng.randint(n, min(2 * n, n * n - 1))):
        grid[r][c] = rng.choice(small)
    start = list(rng.choice([p for p in cells if grid[p[0]][p[1]]]))
    moves = "".join(rng.choice("udlr") for _ in range(n_moves))
    result = slide(grid, start, moves)
    meta = {"grid": grid, "start": start, "moves": moves}
    return Sample(problem_text(grid, start, moves), ", ".join(map(str, flat(result))), meta)


def check(answer: str, q: Question) -> bool:
    m = q.metadata
    return parse_ints(answer) == flat(slide(m["grid"], m["start"], m["moves"]))


def reference(root: Path) -> list[Sample]:
    out = []
    for question, sol in read_question_folder(root / "2048_dataset"):
        meta = {"grid": sol["grid"], "start": list(sol["start_pos"]), "moves": sol["moves"],
                "complexity": sol.get("complexity")}
        out.append(Sample(question, sol["solution"], meta))
    return out


def corrupt(gold: str, q: Question) -> str:
    """The grid before moving if that differs from the gold, else one cell changed."""
    before = ", ".join(map(str, flat(q.metadata["grid"])))
    if not check(before, q):
        return before
    vals = [int(v) for v in before.split(",")]
    vals[0] = vals[0] * 2 if vals[0] else 2
    return ", ".join(map(str, vals))


reference_program = call_program(
    slide, "grid", "start", "moves", show=lambda call: f"', '.join(str(v) for row in {call} for v in row)"
)
