"""Answer parsing, numeric comparison and reference-program plumbing shared by the part-2 SymBench tasks.

Checkers see raw model text from inside `<<<...>>>`; everything here is total (returns None on
anything it cannot read, never raises) and bounded in the work it does on hostile input, so a
checker can validate the answer's shape itself instead of relying on `Task.grade` to swallow errors.

Reference programs are built from the *same* solver functions the generators use
(`program(...)` embeds their source), so the scripted teacher and the gold answers cannot drift.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import re
import textwrap
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question

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


def first_rejected(gold: str, q: Question, check: Callable[[str, Question], bool | float], candidates: Iterable[str]) -> str:
    """The first candidate near-miss the checker scores 0 (corruptions must really be wrong)."""
    for cand in candidates:
        if cand != gold and not float(check(cand, q)):
            return cand
    raise RuntimeError(f"no rejected corruption found for {q.id}; add a stronger candidate")


def sample_dirs(folder: Path) -> list[Path]:
    """`sample_*` folders of a published task in numeric order (`sample_2` before `sample_10`)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"reference folder {folder} is missing; check R1CI_DATA_DIR points at the shared data")

    def key(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.name))

    return sorted((p for p in folder.glob("sample_*") if p.is_dir()), key=key)


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
