"""Matrix transformation: rotate / flip / transpose a small character matrix, answer row-major.

The published set only rotates 90 degrees clockwise; our generator keeps that at level 1 and adds
the other rigid transformations and compositions of two or three of them at higher levels (the
answer is still one matrix, so the checker stays an exact comparison). Cells are single letters,
digits or symbols (never a comma, bracket or space). Checker: comma-separated cells in row-major order, brackets and
spaces ignored, compared cell by cell.

Reference set: `matrix_transformation_dataset` (200 rotations of 2x2 .. 4x4 matrices).
"""

from __future__ import annotations

import random
import string
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import call_program, cells, flat, read_question_folder

DESCRIPTION = "Rotate, flip or transpose a character matrix (compositions at higher levels)."

OPERATIONS: dict[str, str] = {
    "rotate_cw": "rotate the matrix 90 degrees clockwise",
    "rotate_ccw": "rotate the matrix 90 degrees counterclockwise",
    "rotate_180": "rotate the matrix 180 degrees",
    "transpose": "transpose the matrix (rows become columns)",
    "flip_horizontal": "mirror the matrix left-to-right (reverse every row)",
    "flip_vertical": "mirror the matrix top-to-bottom (reverse the order of the rows)",
}

ALPHABETS = {
    "letters": string.ascii_uppercase,
    "digits": "123456789",
    "mixed": string.ascii_uppercase + "123456789",
    "symbols": "!@#$%^&*+=?",
}

# difficulty -> (row choices, column choices, number of operations, alphabets)
LEVELS: dict[int, tuple[tuple[int, ...], tuple[int, ...], int, tuple[str, ...]]] = {
    1: ((2, 3), (2, 3), 1, ("letters", "digits")),
    2: ((3, 4), (3, 4), 1, ("letters", "mixed")),
    3: ((3, 4), (4, 5), 2, ("mixed", "symbols")),
    4: ((4, 5), (4, 6), 2, ("mixed", "symbols")),
    5: ((5, 6), (5, 7), 3, ("mixed", "symbols")),
}


def transform(matrix: list[list[str]], ops: list[str]) -> list[list[str]]:
    """Apply the named operations left to right."""
    m = [list(row) for row in matrix]
    for op in ops:
        if op == "rotate_cw":
            m = [list(row) for row in zip(*m[::-1], strict=True)]
        elif op == "rotate_ccw":
            m = [list(row) for row in zip(*m, strict=True)][::-1]
        elif op == "rotate_180":
            m = [row[::-1] for row in m[::-1]]
        elif op == "transpose":
            m = [list(row) for row in zip(*m, strict=True)]
        elif op == "flip_horizontal":
            m = [row[::-1] for row in m]
        elif op == "flip_vertical":
            m = m[::-1]
        else:
            raise ValueError(f"unknown matrix operation {op!r}; expected one of {sorted(OPERATIONS)}")
    return m


def format_matrix(m: list[list[str]]) -> str:
    return ",".join(flat(m))


def problem_text(matrix: list[list[str]], ops: list[str]) -> str:
    shown = "\n".join(" ".join(row) for row in matrix)
    if ops == ["rotate_cw"]:
        task = "Your task is to rotate this matrix 90 degrees clockwise and output the result."
    else:
        steps = "; then ".join(OPERATIONS[o] for o in ops)
        task = f"Your task is to apply these operations in order and output the result: {steps}."
    return (
        f"Given a 2D array of strings, which represents a character matrix. {task}\n"
        f"If the matrix is\n{shown}\n"
        "What is the result?\n"
        "Return the cells of the resulting matrix row by row, separated by commas, in the format "
        "<<<list of values and symbols>>>. For example, <<<A,B,C,D>>> represents the 2x2 array with rows "
        "A B and C D."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    rows_opts, cols_opts, n_ops, alphabets = LEVELS[difficulty]
    rows, cols = rng.choice(rows_opts), rng.choice(cols_opts)
    alphabet = ALPHABETS[rng.choice(alphabets)]
    matrix = [[rng.choice(alphabet) for _ in range(cols)] for _ in range(rows)]
    ops = ["rotate_cw"]
    if difficulty > 1:
        # compositions that cancel out (e.g. transpose twice) would make the answer the input itself
        probe = [[f"{r}.{c}" for c in range(cols)] for r in range(rows)]
        for _ in range(20):
            ops = [rng.choice(sorted(OPERATIONS)) for _ in range(n_ops)]
            if transform(probe, ops) != probe:
                break
    result = transform(matrix, ops)
    return Sample(problem_text(matrix, ops), format_matrix(result), {"matrix": matrix, "operations": ops})


def check(answer: str, q: Question) -> bool:
    got = cells(answer)
    expected = flat(transform(q.metadata["matrix"], q.metadata["operations"]))
    return got == expected


def reference(root: Path) -> list[Sample]:
    out = []
    for question, sol in read_question_folder(root / "matrix_transformation_dataset"):
        meta = {"matrix": sol["matrix"], "operations": ["rotate_cw"], "complexity": sol.get("complexity")}
        out.append(Sample(question, sol["formatted_solution"], meta))
    return out


def corrupt(gold: str, q: Question) -> str:
    """The input matrix flattened without transforming it, else the gold with two cells swapped."""
    original = format_matrix(q.metadata["matrix"])
    if not check(original, q):
        return original
    parts = gold.split(",")
    for i in range(1, len(parts)):
        if parts[i] != parts[0]:
            parts[0], parts[i] = parts[i], parts[0]
            return ",".join(parts)
    return ""


reference_program = call_program(
    transform, "matrix", "operations", show=lambda call: f"','.join(v for row in {call} for v in row)"
)
