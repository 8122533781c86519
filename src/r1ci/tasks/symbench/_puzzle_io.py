"""Answer parsing and reference-folder reading shared by the SymBench puzzle tasks.

Model answers arrive as free text inside `<<<...>>>`; these helpers turn the common shapes
(a flat list of cells, a list of `row col` pairs, a grid written row by row) into Python values
or `None` when the text is not of that shape. Checkers then compare values, never raw strings,
so `1,2,3`, `[1, 2, 3]` and `1 2 3` are the same answer. Every parser bounds its work by the
input size (the extractor already caps answers at 20k characters) and never raises on junk.

This module contributes no tasks (`TASKS` is empty); it exists so the task modules stay short.
"""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Task

TASKS: list[Task] = []  # helper module: the registry collects TASKS from every module in the package

MAX_CELLS = 5000
"""No puzzle answer here has more cells than this; longer answers are rejected before parsing."""

_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SEP_RE = re.compile(r"[\s,;]+")
_BRACKETS = str.maketrans({c: " " for c in "[](){}"})


def cells(text: str) -> list[str] | None:
    """Split a flat or row-by-row answer into cell tokens (brackets, commas, ';' and whitespace separate).

    Quotes around single cells are dropped, so `["A", "B"]` and `A,B` give the same tokens.
    """
    if len(text) > 20 * MAX_CELLS:
        return None
    tokens = [t.strip("\"'`") for t in _SEP_RE.split(text.translate(_BRACKETS))]
    tokens = [t for t in tokens if t]
    return tokens if len(tokens) <= MAX_CELLS else None


def parse_ints(text: str) -> list[int] | None:
    """All cells as integers, or None if any cell is not an integer."""
    toks = cells(text)
    if toks is None or not all(_INT_RE.match(t) for t in toks):
        return None
    return [int(t) for t in toks]


def parse_numbers(text: str) -> list[float] | None:
    """All cells as floats (integers, decimals, exponents), or None if any cell is not a number."""
    toks = cells(text)
    if toks is None or not all(_NUM_RE.match(t) for t in toks):
        return None
    return [float(t) for t in toks]


def parse_positions(text: str) -> list[tuple[int, int]] | None:
    """`0 3, 1 0`, `(0,3), (1,0)` or `[[0, 3], [1, 0]]` -> [(0, 3), (1, 0)]; None on anything else."""
    if not re.fullmatch(r"[\d\s,;()\[\]+-]*", text):
        return None
    nums = parse_ints(text)
    if nums is None or len(nums) % 2:
        return None
    return [(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)]


def format_positions(positions: list[tuple[int, int]] | list[list[int]]) -> str:
    """The canonical `r c, r c, ...` form the prompts ask for."""
    return ", ".join(f"{r} {c}" for r, c in positions)


def grid_text(grid: list[list[Any]], sep: str = ", ") -> str:
    return "\n".join(sep.join(str(v) for v in row) for row in grid)


def flat(grid: list[list[Any]]) -> list[Any]:
    return [v for row in grid for v in row]


def sample_dirs(folder: Path) -> list[Path]:
    """`sample_<i>` sub-folders in numeric order (the published sets number them 0..n-1)."""
    found = [p for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"sample_\d+", p.name)]
    return sorted(found, key=lambda p: int(p.name.split("_")[1]))


def read_question_folder(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    """(question text, solution.json) for each `sample_<i>` folder, in numeric order.

    Raises a clear error when the folder is missing, since a silent empty reference set would
    make every regression check vacuous.
    """
    if not folder.is_dir():
        raise FileNotFoundError(
            f"SymBench reference folder {folder} not found; point R1CI_DATA_DIR at a folder holding "
            "symbench/dataset_gather (github.com/yongchao98/CodeSteer-v1.0, folder dataset_gather)"
        )
    out = []
    for d in sample_dirs(folder):
        question = (d / "question.txt").read_text(encoding="utf-8").strip()
        solution = json.loads((d / "solution.json").read_text(encoding="utf-8"))
        out.append((question, solution))
    return out


def numbered_dirs(folder: Path, prefix: str) -> list[Path]:
    """Sub-folders named `<prefix><i>` in numeric order (e.g. `BoxLift0`, `pg_state12`)."""
    pat = re.compile(re.escape(prefix) + r"(\d+)")
    found = [p for p in folder.iterdir() if p.is_dir() and pat.fullmatch(p.name)]
    return sorted(found, key=lambda p: int(pat.fullmatch(p.name).group(1)))  # type: ignore[union-attr]


def program_from(functions: list[Callable[..., Any]], call: str, imports: str = "") -> str:
    """A standalone Python program: the given pure functions' source plus `print(<call>)`.

    Reference programs reuse the generators' own solvers, so the scripted teacher and the checker
    can never disagree about the rules. The functions must use only the standard library.
    """
    # annotations stay unevaluated, so type aliases of the task module need not exist in the program
    parts = ["from __future__ import annotations", *([imports.strip()] if imports.strip() else [])]
    parts += [textwrap.dedent(inspect.getsource(f)).strip() for f in functions]
    parts.append(f"print({call})")
    return "\n\n\n".join(parts) + "\n"


def first_rejected(candidates: list[str], accepts: Callable[[str], bool | float]) -> str:
    """The first candidate the checker scores 0 (corruptions must be wrong, not merely different)."""
    for cand in candidates:
        try:
            if float(accepts(cand)) == 0.0:
                return cand
        except Exception:
            return cand
    return ""
