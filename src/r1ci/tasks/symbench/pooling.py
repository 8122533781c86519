"""Pooling: max / average pooling of an N*N integer matrix with an n*n window (stride 1 below level 5).

Generator: random integers, window and pooling type by level; level 5 adds min pooling and a
stride of 2 (stated in the prompt). Checker: the pooled matrix in row-major order, comma-separated;
max/min values must be exact, averages within 0.01 (the prompt asks for two decimals).

Reference set: `pooling_dataset` (200 questions, max and average pooling, stride 1).
"""

from __future__ import annotations

import random
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import flat, grid_text, parse_numbers, program_from, read_question_folder

DESCRIPTION = "Max / average / min pooling of an integer matrix with a sliding window."

# difficulty -> (matrix sizes, window sizes, pooling types, strides, value range)
LEVELS: dict[int, tuple[tuple[int, ...], tuple[int, ...], tuple[str, ...], tuple[int, ...], tuple[int, int]]] = {
    1: ((3,), (2,), ("max",), (1,), (-10, 20)),
    2: ((4,), (2,), ("max", "average"), (1,), (-10, 20)),
    3: ((5,), (2, 3), ("max", "average"), (1,), (-20, 30)),
    4: ((6,), (3,), ("max", "average"), (1,), (-50, 50)),
    5: ((6, 7, 8), (2, 3), ("max", "average", "min"), (1, 2), (-99, 99)),
}

AVERAGE_TOLERANCE = 0.01


def pool(matrix: list[list[int]], window: int, kind: str, stride: int = 1) -> list[list[float]]:
    """Slide a window x window box over the matrix with the given stride; max, min or average per box."""
    n = len(matrix)
    starts = range(0, n - window + 1, stride)
    out = []
    for i in starts:
        row = []
        for j in starts:
            box = [matrix[i + a][j + b] for a in range(window) for b in range(window)]
            if kind == "max":
                row.append(max(box))
            elif kind == "min":
                row.append(min(box))
            else:
                row.append(sum(box) / len(box))
        out.append(row)
    return out


def format_pooled(result: list[list[float]]) -> str:
    return ",".join(f"{v:g}" if float(v).is_integer() else f"{v:.2f}" for v in flat(result))


def problem_text(matrix: list[list[int]], window: int, kind: str, stride: int) -> str:
    verb = {"max": "finding the maximum value", "min": "finding the minimum value",
            "average": "calculating the average value"}[kind]
    slide = "one cell at a time" if stride == 1 else f"{stride} cells at a time"
    decimals = " Write averages rounded to 2 decimal places." if kind == "average" else ""
    return (
        "In an N*N grid, there are N^2 numbers, with numbers in the same row separated by commas. "
        f"We define the \"{kind} pooling\" operation: suppose that there is an n*n (n<N) sliding window, "
        f"which slides from left to right and from top to bottom in the matrix, {slide}, {verb} in each "
        "sliding window. Then, these values are arranged according to their original positions to form a "
        "new matrix for output.\n"
        f"Now, please perform {kind} pooling on the following matrix by using a {window}*{window} sliding "
        f"window (stride {stride}):\n{grid_text(matrix)}\n"
        "Return the resulting matrix row by row as comma-separated values, e.g. <<<0,0,0,0>>> for a 2*2 "
        f"result.{decimals}"
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    sizes, windows, kinds, strides, (lo, hi) = LEVELS[difficulty]
    n, window, kind, stride = rng.choice(sizes), rng.choice(windows), rng.choice(kinds), rng.choice(strides)
    matrix = [[rng.randint(lo, hi) for _ in range(n)] for _ in range(n)]
    meta = {"matrix": matrix, "window": window, "kind": kind, "stride": stride}
    return Sample(problem_text(matrix, window, kind, stride), format_pooled(pool(matrix, window, kind, stride)), meta)


def check(answer: str, q: Question) -> bool:
    m = q.metadata
    expected = flat(pool(m["matrix"], m["window"], m["kind"], m.get("stride", 1)))
    got = parse_numbers(answer)
    if got is None or len(got) != len(expected):
        return False
    tol = AVERAGE_TOLERANCE if m["kind"] == "average" else 1e-9
    return all(abs(g - e) <= tol for g, e in zip(got, expected, strict=True))


def reference(root: Path) -> list[Sample]:
    out = []
    for question, sol in read_question_folder(root / "pooling_dataset"):
        meta = {"matrix": sol["matrix"], "window": sol["window_size"], "kind": sol["pooling_type"],
                "stride": 1, "complexity": sol.get("complexity")}
        gold = ",".join(repr(v) if isinstance(v, float) and not v.is_integer() else f"{v:g}"
                        for v in flat(sol["solution"]))
        out.append(Sample(question, gold, meta))
    return out


def corrupt(gold: str, q: Question) -> str:
    """One value off by one."""
    parts = gold.split(",")
    parts[-1] = f"{float(parts[-1]) + 1:g}"
    return ",".join(parts)


def reference_program(q: Question) -> str:
    m = q.metadata
    call = (f"','.join(f'{{v:g}}' if float(v).is_integer() else f'{{v:.2f}}' "
            f"for row in pool({m['matrix']!r}, {m['window']}, {m['kind']!r}, {m.get('stride', 1)}) for v in row)")
    return program_from([pool], call)
