"""Grid selection puzzle: pick k cells holding k different numbers under a row/column constraint.

Two constraint kinds (as in SymBench): every row and column sum of the selected numbers is at most
4, or every row and column product of the selected numbers is positive. The top-right cell must be
selected. Generator: builds a valid selection first (for products, negatives come in rectangles so
each row and column holds an even number of them), then fills the other cells at random, so every
puzzle is solvable. Checker: any selection meeting all rules scores 1: k distinct in-grid cells,
distinct values, the top-right cell included, the constraint on every row and column.

Reference set: `logic_puzzle_dataset` (200 puzzles, 2x2 .. 10x10). The published grader does not
require distinct values, so reference questions are graded the same way (`distinct_values: False`);
our own prompts state the distinct-values rule and our checker enforces it there.
"""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    format_positions,
    grid_text,
    parse_positions,
    read_question_folder,
)

DESCRIPTION = "Select k distinct numbers in a grid under row/column sum or product constraints."

# difficulty -> (grid size, cells to select, value range, constraint)
# (the published set runs from 2x2 to 10x10; difficulty 5 matches its largest puzzles)
LEVELS: dict[int, tuple[int, int, tuple[int, int], str]] = {
    1: (3, 4, (1, 4), "sum_le_4"),
    2: (4, 6, (-5, 8), "product_gt_0"),
    3: (6, 12, (-12, 12), "product_gt_0"),
    4: (8, 18, (-16, 16), "product_gt_0"),
    5: (10, 25, (-20, 20), "product_gt_0"),
}


def satisfies(grid: list[list[int]], chosen: list[tuple[int, int]], constraint: str) -> bool:
    lines: dict[tuple[str, int], list[int]] = {}
    for r, c in chosen:
        lines.setdefault(("row", r), []).append(grid[r][c])
        lines.setdefault(("col", c), []).append(grid[r][c])
    if constraint == "sum_le_4":
        return all(sum(v) <= 4 for v in lines.values())
    if constraint == "product_gt_0":
        return all(math.prod(v) > 0 for v in lines.values())
    raise ValueError(f"unknown constraint {constraint!r}; expected 'sum_le_4' or 'product_gt_0'")


def _place_sum(n: int, k: int, lo: int, hi: int, rng: random.Random) -> dict[tuple[int, int], int] | None:
    values = rng.sample(range(lo, hi + 1), k)
    others = [(r, c) for r in range(n) for c in range(n) if (r, c) != (0, n - 1)]
    cells = [(0, n - 1), *rng.sample(others, n * n - 1)]
    placed: dict[tuple[int, int], int] = {}
    row_sum, col_sum = [0] * n, [0] * n
    for v in values:
        spot = next(((r, c) for r, c in cells if (r, c) not in placed and row_sum[r] + v <= 4 and col_sum[c] + v <= 4
                     and (placed or (r, c) == (0, n - 1))), None)
        if spot is None:
            return None
        placed[spot] = v
        row_sum[spot[0]] += v
        col_sum[spot[1]] += v
    return placed


def _place_product(n: int, k: int, lo: int, hi: int, rng: random.Random) -> dict[tuple[int, int], int] | None:
    """k cells including the top-right one; negatives on the corners of rectangles (even per row/column)."""
    need = max(0, -(-(k - hi) // 4))  # rectangles needed so that k distinct values fit the positive range
    want = rng.randint(need, max(need, 2))
    chosen = {(0, n - 1)}
    negatives: set[tuple[int, int]] = set()
    for _ in range(10 * want):
        if len(negatives) == 4 * want:
            break
        r1, r2 = rng.sample(range(n), 2)
        c1, c2 = rng.sample(range(n), 2)
        quad = {(r1, c1), (r1, c2), (r2, c1), (r2, c2)}
        if quad & chosen or len(chosen | quad) > k or len(negatives) + 4 > min(-lo, k - 1):
            continue
        chosen |= quad
        negatives |= quad
    if len(negatives) < 4 * need or k - len(negatives) > hi:
        return None
    free = [(r, c) for r in range(n) for c in range(n) if (r, c) not in chosen]
    chosen |= set(rng.sample(free, k - len(chosen)))
    neg_vals = rng.sample(range(lo, 0), len(negatives))
    pos_vals = rng.sample(range(1, hi + 1), k - len(negatives))
    placed = dict(zip(sorted(negatives), neg_vals, strict=True))
    placed.update(zip(sorted(chosen - negatives), pos_vals, strict=True))
    return placed


def problem_text(grid: list[list[int]], k: int, constraint: str) -> str:
    n = len(grid)
    rule = ("The sum of the selected numbers in each row and each column must be less than or equal to 4."
            if constraint == "sum_le_4" else
            "In each row and each column, the product of the selected numbers must be greater than 0.")
    lo, hi = min(map(min, grid)), max(map(max, grid))
    return (
        f"Given a {n}*{n} grid where each cell contains a number (between {lo} to {hi}), you must select {k} "
        f"different numbers from these cells (no two selected cells may hold the same value). {rule} "
        "Rows and columns with no selected number are unconstrained. The numbers in the same row are separated by "
        "',', and positions are (row, column) with 0-based indices, (0,0) being the top-left cell.\n"
        f"The number {grid[0][n - 1]} in the top-right square (0,{n - 1}) must be one of the selected numbers.\n"
        f"{grid_text(grid)}\n\n"
        "Return your answer with the format <<<list of selected number positions>>>, where each position is given "
        "as row column (0-based indices). For example, <<<0 3, 1 0, 2 4>>> means numbers selected are at positions "
        "(0,3), (1,0), and (2,4)."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, k, (lo, hi), constraint = LEVELS[difficulty]
    placed = None
    while placed is None:
        placed = (_place_sum(n, k, lo, hi, rng) if constraint == "sum_le_4" else _place_product(n, k, lo, hi, rng))
    grid = [[rng.randint(lo, hi) for _ in range(n)] for _ in range(n)]
    for (r, c), v in placed.items():
        grid[r][c] = v
    chosen = sorted(placed)
    meta = {"grid": grid, "k": k, "constraint": constraint, "start": [0, n - 1]}
    return Sample(problem_text(grid, k, constraint), format_positions(chosen), meta)


def check(answer: str, q: Question) -> bool:
    m = q.metadata
    grid: list[list[int]] = m["grid"]
    n = len(grid)
    chosen = parse_positions(answer)
    if chosen is None or len(chosen) != m["k"] or len(set(chosen)) != len(chosen):
        return False
    if any(not (0 <= r < n and 0 <= c < n) for r, c in chosen) or tuple(m["start"]) not in chosen:
        return False
    values = [grid[r][c] for r, c in chosen]
    if m.get("distinct_values", True) and len(set(values)) != len(values):
        return False
    return satisfies(grid, chosen, m["constraint"])


def solve(grid: list[list[int]], k: int, constraint: str, start: list[int], distinct: bool = True,
          budget: int = 200_000) -> list[tuple[int, int]] | None:
    """Backtracking over cells in order (start cell forced); None if none is found within `budget` nodes."""
    n = len(grid)
    first = (start[0], start[1])
    cells = [(r, c) for r in range(n) for c in range(n) if (r, c) != first]
    nodes = 0

    def extend(chosen: list[tuple[int, int]], values: set[int], i: int) -> list[tuple[int, int]] | None:
        nonlocal nodes
        nodes += 1
        if nodes > budget:
            return None
        if len(chosen) == k:
            return list(chosen) if satisfies(grid, chosen, constraint) else None
        if len(cells) - i < k - len(chosen):
            return None
        for j in range(i, len(cells)):
            r, c = cells[j]
            v = grid[r][c]
            if distinct and v in values:
                continue
            chosen.append((r, c))
            if constraint != "sum_le_4" or satisfies(grid, chosen, constraint):
                found = extend(chosen, values | {v}, j + 1)
                if found is not None:
                    return found
            chosen.pop()
        return None

    return extend([first], {grid[first[0]][first[1]]}, 0)


def solve_logic_puzzle(text: str) -> str:
    """Read the grid and rules from the question and construct a selection.

    Sum rule (small grids): try every combination. Product rule: negatives must come in even numbers
    per row and column, so they are taken as corners of rectangles (distinct values), as few as the
    number of distinct positive values left over requires; the rest are one cell per distinct
    positive value. Zeros are never selected."""
    import itertools
    import re

    n = int(re.search(r"Given a (\d+)\*\d+ grid", text)[1])
    k = int(re.search(r"select (\d+) different", text)[1])
    start = tuple(int(x) for x in re.search(r"square \((\d+),\s*(\d+)\)", text).groups())
    rows = [line for line in text.split("\n") if re.fullmatch(r"\s*-?\d+(\s*,\s*-?\d+)+\s*", line)]
    grid = [[int(x) for x in line.split(",")] for line in rows[-n:]]
    distinct = "no two selected cells may hold the same value" in text
    cells = [(r, c) for r in range(n) for c in range(n)]

    def fmt(chosen):  # type: ignore[no-untyped-def]
        return ", ".join(f"{r} {c}" for r, c in sorted(chosen))

    if "less than or equal to 4" in text:
        others = [p for p in cells if p != start]
        for combo in itertools.combinations(others, k - 1):
            chosen = [start, *combo]
            values = [grid[r][c] for r, c in chosen]
            if distinct and len(set(values)) < len(values):
                continue
            if all(sum(grid[r][c] for r, c in chosen if r == i) <= 4 and
                   sum(grid[r][c] for r, c in chosen if c == i) <= 4 for i in range(n)):
                return fmt(chosen)
        raise ValueError("no selection found")

    def positives(taken, used_values):  # type: ignore[no-untyped-def]
        """One cell per distinct positive value not used yet, never a taken cell."""
        picks, seen = [], set(used_values)
        for r, c in cells:
            v = grid[r][c]
            if v > 0 and (r, c) not in taken and (v not in seen or not distinct):
                picks.append((r, c))
                seen.add(v)
        return picks

    def rectangles(taken, used_values, must=None):  # type: ignore[no-untyped-def]
        for r1, r2 in itertools.combinations(range(n), 2):
            for c1, c2 in itertools.combinations(range(n), 2):
                quad = [(r1, c1), (r1, c2), (r2, c1), (r2, c2)]
                values = [grid[r][c] for r, c in quad]
                if must is not None and must not in quad:
                    continue
                if any(v >= 0 for v in values) or any(q in taken for q in quad):
                    continue
                if distinct and (len(set(values)) < 4 or set(values) & used_values):
                    continue
                yield quad, values

    def search(taken, used_values, depth):  # type: ignore[no-untyped-def]
        need = k - len(taken)
        if need < 0:
            return None
        extra = positives(taken, used_values)
        if len(extra) >= need:
            return [*taken, *extra[:need]]
        if depth == 0:
            return None
        for quad, values in rectangles(set(taken), used_values):
            found = search([*taken, *quad], used_values | set(values), depth - 1)
            if found is not None:
                return found
        return None

    v0 = grid[start[0]][start[1]]
    if v0 > 0:
        found = search([start], {v0}, 3)
    else:
        found = None
        for quad, values in rectangles(set(), set(), must=start):
            found = search(quad, set(values), 3)
            if found is not None:
                break
    assert found is not None, "no selection found"
    return fmt(found)


def reference_program(q: Question) -> str:
    from r1ci.tasks.symbench._helpers import program_from
    from r1ci.tasks.symbench.common import problem_text as question_text

    return program_from([solve_logic_puzzle], f"solve_logic_puzzle({question_text(q)!r})")


def reference(root: Path) -> list[Sample]:
    """27 of the 200 published golds break the sum/product rule (the published solver cached its
    constraint checks across puzzles). 21 of those get a valid selection from our solver instead
    (`metadata["published_gold_replaced"]`); the 6 that admit no valid selection are dropped."""
    out = []
    for question, sol in read_question_folder(root / "logic_puzzle_dataset"):
        k = int(re.search(r"select (\d+) different", question).group(1))  # type: ignore[union-attr]
        start = [int(x) for x in re.search(r"square \((\d+),\s*(\d+)\)", question).groups()]  # type: ignore[union-attr]
        meta = {"grid": sol["grid"], "k": k, "constraint": sol["constraints"]["type"], "start": start,
                "distinct_values": False, "complexity": sol.get("complexity")}
        gold = format_positions(sol["solution"])
        if not check(gold, Question("", "logic_puzzle", question, gold, meta)):
            found = solve(sol["grid"], k, meta["constraint"], start, distinct=False)
            if found is None:
                continue
            gold = format_positions(sorted(found))
            meta["published_gold_replaced"] = True
        out.append(Sample(question, gold, meta))
    return out


def corrupt(gold: str, q: Question) -> str:
    """Drop the last selected cell (one short), or swap it for a neighbour that breaks a rule."""
    chosen = parse_positions(gold) or []
    n = len(q.metadata["grid"])
    cands = [format_positions(chosen[:-1])]
    r, c = chosen[-1]
    cands += [format_positions([*chosen[:-1], ((r + dr) % n, (c + dc) % n)]) for dr, dc in ((0, 1), (1, 0))]
    return first_rejected(gold, q, check, cands)
