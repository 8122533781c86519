"""Helpers shared by the SymBench task modules: reading answers, reading the published sets,
building reference programs and near-miss corruptions.

Checkers see raw model text from inside `<<<...>>>`; every parser here is total (returns None on
anything it cannot read, never raises) and bounded in the work it does on hostile input, so a
checker compares values, never raw strings (`1,2,3`, `[1, 2, 3]` and `1 2 3` are the same answer).

Reference programs are built from the *same* solver functions the generators use (`program` and
`program_from` embed their source), so the scripted teacher and the gold answers cannot drift.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample

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


def join_and(words: Sequence[str]) -> str:
    """Names as a prompt lists them: `A`, `A and B`, `A, B and C`."""
    return ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else words[0]


MAX_ANSWER_CHARS = 4000
"""Longer answers are rejected outright: every legitimate answer in these tasks is far shorter."""

_QUOTES = "\"'`“”‘’"


def strip_wrapping(text: str) -> str:
    """Whitespace and one layer of surrounding quotes/backticks removed."""
    s = text.strip()
    while len(s) >= 2 and s[0] in _QUOTES and s[-1] in _QUOTES:
        s = s[1:-1].strip()
    return s


_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def parse_number(text: str) -> Fraction | None:
    """An exact rational from `12`, `-3.5`, `1,234,567`, `$12.50`, `7/3`, `1e6`, `[42]`; None otherwise."""
    if not isinstance(text, str) or len(text) > 200:
        return None
    s = strip_wrapping(text)
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1].strip()
    s = s.replace("$", "").replace(" ", "")
    if _THOUSANDS_RE.fullmatch(s):
        s = s.replace(",", "")
    if "/" in s:
        num, _, den = s.partition("/")
        a, b = parse_number(num), parse_number(den)
        if a is None or b is None or b == 0:
            return None
        return a / b
    if not _NUMBER_RE.fullmatch(s):
        return None
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def numbers_close(answer: float | Fraction, gold: float | Fraction, *, rel: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Exact for two rationals when both tolerances are zero; otherwise |a-g| <= max(rel*|g|, abs_tol)."""
    if isinstance(answer, Fraction) and isinstance(gold, Fraction) and answer == gold:
        return True
    try:
        a, g = float(answer), float(gold)
    except OverflowError:  # a rational too large for a float is never "close" to a different value
        return False
    if not (math.isfinite(a) and math.isfinite(g)):
        return False
    return abs(a - g) <= max(rel * abs(g), abs_tol)


def word_problem_close(answer: Fraction | float, gold: Fraction | float) -> bool:
    """Numeric match for arithmetic word problems: cents-level rounding allowed for |gold| >= 0.5,
    0.1% relative error below that (so a tiny gold like 0.0017 is not matched by 0)."""
    g = float(gold)
    if abs(g) >= 0.5:
        return numbers_close(answer, gold, rel=1e-9, abs_tol=0.005 + 1e-9)
    return numbers_close(answer, gold, rel=1e-3, abs_tol=1e-12)


def parse_items(text: str) -> list[str] | None:
    """Items of a list answer: `["A", "B"]`, `[1, 2]`, `A, B, C`, `A B C`; each item stripped of quotes.

    Nested lists are rejected; an empty list is `[]`."""
    if not isinstance(text, str) or len(text) > MAX_ANSWER_CHARS:
        return None
    s = strip_wrapping(text)
    if s.startswith(("[", "(")) and s.endswith(("]", ")")):
        try:
            value = ast.literal_eval(s)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = None
        if isinstance(value, (list, tuple)):
            if any(isinstance(v, (list, tuple, dict, set)) for v in value):
                return None
            return [strip_wrapping(str(v)) for v in value]
        s = s[1:-1]
    if not s.strip():
        return []
    parts = s.split(",") if "," in s else s.split()
    items = [strip_wrapping(p) for p in parts]
    if any(not item or any(c in item for c in "[](){}") for item in items):
        return None
    return items


def parse_int_list(text: str, length: int | None = None) -> list[int] | None:
    """Integers of a list answer (`[1, 2]`, `["1", "2"]`, `1 2`); None on any non-integer or wrong length."""
    items = parse_items(text)
    if items is None or (length is not None and len(items) != length):
        return None
    out = []
    for item in items:
        value = parse_number(item)
        if value is None or value.denominator != 1:
            return None
        out.append(int(value))
    return out


def program(entry: Callable[..., Any], payload: Any, helpers: Iterable[Callable[..., Any]] = ()) -> str:
    """Standalone Python source that prints `entry(payload)`.

    `entry` and `helpers` must be self-contained module-level functions (imports inside, no globals):
    their source is copied verbatim, so the program runs under plain `python -c` with no r1ci install."""
    parts = ["from __future__ import annotations", "import json", ""]
    for fn in (*helpers, entry):
        parts.append(textwrap.dedent(inspect.getsource(fn)))
    parts.append(f"DATA = json.loads({json.dumps(payload)!r})")
    parts.append(f"print({entry.__name__}(DATA))")
    return "\n".join(parts) + "\n"


def read_sample(d: Path) -> tuple[str, Any]:
    """(question text, parsed solution.json) of one published sample folder."""
    return (d / "question.txt").read_text(encoding="utf-8"), json.loads((d / "solution.json").read_text(encoding="utf-8"))


MATH_PREAMBLE = '''import math
from fractions import Fraction
from math import comb, factorial, gcd, isqrt, lcm, perm, pi, sqrt


def root(value):
    """Square root, exact (a Fraction) when the argument is the square of a rational."""
    q = Fraction(value)
    n, d = isqrt(q.numerator), isqrt(q.denominator)
    if n * n == q.numerator and d * d == q.denominator:
        return Fraction(n, d)
    return sqrt(q)


def fmt(value):
    """Integers and fractions exactly (3/8), floats to 6 decimals, tuples as (x, y)."""
    if isinstance(value, tuple):
        return "(" + ", ".join(fmt(v) for v in value) + ")"
    if isinstance(value, float):
        return str(round(value, 6))
    return str(value)
'''
"""Shared by template-driven math tasks: what the generator runs before a template's code, and what the
reference program starts with, so both compute the gold in exactly the same environment."""

_COMPILED: dict[str, Any] = {}


def run_solution(code: str, values: dict[str, Any]) -> Any:
    """Run a template's solution lines (our own code, never model text) after `MATH_PREAMBLE`; returns `result`."""
    for src in (MATH_PREAMBLE, code):
        if src not in _COMPILED:
            _COMPILED[src] = compile(src, "<template>", "exec")
    env: dict[str, Any] = {}
    exec(_COMPILED[MATH_PREAMBLE], env)
    env.update(values)
    exec(_COMPILED[code], env)
    return env["result"]


def solution_program(code: str, values: dict[str, Any]) -> str:
    """The reference program for a template question: preamble, the drawn values, the solution, print."""
    assignments = "\n".join(f"{k} = {v!r}" for k, v in values.items())
    return f"{MATH_PREAMBLE}\n{assignments}\n{code}\nprint(fmt(result))\n"


def sample_dirs(folder: Path) -> list[Path]:
    """`sample_<i>` (or `sample_<i>_<j>...`) folders of a published task in numeric order
    (`sample_2` before `sample_10`); a missing folder is an error, never an empty reference set."""
    if not folder.is_dir():
        raise FileNotFoundError(
            f"SymBench reference folder {folder} not found; point R1CI_DATA_DIR at a folder holding "
            "symbench/dataset_gather (github.com/yongchao98/CodeSteer-v1.0, folder dataset_gather)"
        )
    found = [p for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"sample(_\d+)+", p.name)]
    return sorted(found, key=lambda p: tuple(int(x) for x in re.findall(r"\d+", p.name)))


def published_samples(folder_name: str, make: Callable[[Path, str, Any], Sample]) -> Callable[[Path], list[Sample]]:
    """A reference parser: `make(sample_folder, question_text, solution)` for each published
    `sample_<i>` folder of `root/folder_name`, in numeric order (see `sample_dirs`)."""

    def parse(root: Path) -> list[Sample]:
        return [make(d, *read_sample(d)) for d in sample_dirs(root / folder_name)]

    return parse


def metadata_program(
    entry: Callable[..., Any], *keys: str, helpers: Iterable[Callable[..., Any]] = ()
) -> Callable[[Question], str]:
    """A reference program that prints `entry({key: q.metadata[key] for key in keys})` (see `program`)."""

    def reference_program(q: Question) -> str:
        return program(entry, {k: q.metadata[k] for k in keys}, helpers=helpers)

    return reference_program


def call_program(
    entry: Callable[..., Any],
    *keys: str,
    show: Callable[[str], str] = lambda call: call,
    helpers: Iterable[Callable[..., Any]] = (),
) -> Callable[[Question], str]:
    """A reference program that prints `show(call)`, `call` being `entry(...)` with `q.metadata[key]` for
    each key as literal positional arguments (see `program_from`); `metadata_program` passes one dict."""

    def reference_program(q: Question) -> str:
        call = f"{entry.__name__}({', '.join(repr(q.metadata[k]) for k in keys)})"
        return program_from([*helpers, entry], show(call))

    return reference_program


def match_kind(
    patterns: Iterable[tuple[re.Pattern[str], str]], text: str, what: str
) -> tuple[str, re.Match[str]]:
    """(kind, match) of the first `(pattern, kind)` whose pattern matches the whole stripped `text`, for
    reading published constraint sentences back into data; ValueError naming `what` when none does."""
    for pattern, kind in patterns:
        m = pattern.fullmatch(text.strip())
        if m:
            return kind, m
    raise ValueError(f"unrecognised {what} {text!r}")


def first_rejected(
    gold: str, q: Question, check: Callable[[str, Question], bool | float], candidates: Iterable[str]
) -> str:
    """The first candidate near-miss the checker scores 0 (a checker that raises also scores 0):
    corruptions must really be wrong, not merely different."""
    for cand in candidates:
        if cand == gold:
            continue
        try:
            if float(check(cand, q)) == 0.0:
                return cand
        except Exception:
            return cand
    raise RuntimeError(f"no rejected corruption found for {q.id}; add a stronger candidate")


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


def group_dirs(folder: Path, first_number: int) -> list[Path]:
    """Sub-folders of a published set ordered by the numbers in their names: the `_`-separated fields
    from index `first_number` on (`BoxLift_3_5` with 1 -> [3, 5]); a missing folder is an error."""
    if not folder.is_dir():
        raise FileNotFoundError(f"SymBench reference folder {folder} not found; set R1CI_DATA_DIR")
    found = [p for p in folder.iterdir() if p.is_dir()]
    return sorted(found, key=lambda p: [int(x) for x in p.name.split("_")[first_number:]])


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
