"""Game of 24 (generalised): combine all given numbers with + - * / and parentheses to hit a target.

Generator: builds a random expression tree *backwards* from the target (split the target into two
integer operands by a random operation, recurse), so every puzzle is solvable by construction and
generation costs microseconds. Difficulty raises the count and size of the numbers and moves the
target away from 24. Checker: parses the expression with `ast` (only integer literals and binary
+ - * /; no unary minus, powers or concatenation), checks the literals are exactly the given
multiset and evaluates it exactly with `Fraction`.

Reference set: `game24_dataset/24/24.csv` (the 1362 classic 4-number puzzles, no solutions in the
file; our solver supplies one each). The other csv files (2 to 80 numbers, targets up to 122880,
with solutions) are available as `VARIANTS["varied"]`.
"""

from __future__ import annotations

import ast
import csv
import random
import re
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import first_rejected, program_from
from r1ci.tasks.symbench.common import ReferenceParser

DESCRIPTION = "Combine all given numbers with + - * / and parentheses to reach the target (Game of 24)."

# difficulty -> (how many numbers, largest number, possible targets)
LEVELS: dict[int, tuple[int, int, tuple[int, ...]]] = {
    1: (4, 9, (24,)),
    2: (4, 13, (24,)),
    3: (5, 13, (24,)),
    4: (5, 25, (24, 36, 48, 60, 72, 100)),
    5: (6, 30, (24, 120, 144, 200, 360, 500)),
}

_ALLOWED_CHARS = re.compile(r"[\d\s+\-*/()]*")


def _build(value: int, n: int, hi: int, rng: random.Random) -> str | None:
    """An expression over n integer leaves in [1, hi] that evaluates to `value` (None if this try fails)."""
    if n == 1:
        return str(value) if 1 <= value <= hi else None
    for _ in range(6):
        k = rng.randint(1, n - 1)
        op = rng.choice("+-*/")
        if op == "+":
            if value < 2:
                continue
            a = rng.randint(1, value - 1)
            b = value - a
        elif op == "-":
            b = rng.randint(1, hi)
            a = value + b
        elif op == "*":
            divisors = [d for d in range(2, min(value, 4 * hi) + 1) if value % d == 0 and d < value]
            if not divisors:
                continue
            a = rng.choice(divisors)
            b = value // a
        else:
            b = rng.randint(2, min(hi, 9))
            a = value * b
        left = _build(a, k, hi, rng)
        if left is None:
            continue
        right = _build(b, n - k, hi, rng)
        if right is None:
            continue
        return f"({left}{op}{right})"
    return None


def _sum_fallback(target: int, n: int, hi: int, rng: random.Random) -> str:
    """A plain sum of n parts in [1, hi]; every level is configured so that n <= target <= n*hi."""
    parts = [1] * n
    rest = target - n
    while rest > 0:
        i = rng.randrange(n)
        if parts[i] < hi:
            step = min(rest, hi - parts[i], rng.randint(1, hi))
            parts[i] += step
            rest -= step
    expr = str(parts[0])
    for p in parts[1:]:
        expr = f"({expr}+{p})"
    return expr


def literals(expr: str) -> list[int]:
    return [int(t) for t in re.findall(r"\d+", expr)]


def evaluate(answer: str, numbers: list[int]) -> Fraction | None:
    """Exact value of an answer expression that uses exactly `numbers`; None when it is not one."""
    text = answer.strip().replace("×", "*").replace("÷", "/").replace("\\times", "*").replace("\\div", "/")
    if not text or len(text) > 20 * max(len(numbers), 1) + 200 or not _ALLOWED_CHARS.fullmatch(text):
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    leaves: list[int] = []

    def value(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            leaves.append(node.value)
            return Fraction(node.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            a, b = value(node.left), value(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            return a / b  # ZeroDivisionError -> caller returns None
        raise ValueError(f"disallowed syntax {type(node).__name__}")

    try:
        result = value(tree.body)
    except (ValueError, ZeroDivisionError, RecursionError):
        return None
    if sorted(leaves) != sorted(numbers):
        return None
    return result


def check(answer: str, q: Question) -> bool:
    numbers: list[int] = q.metadata["numbers"]
    target = Fraction(q.metadata["target"])
    parts = answer.split("=")
    if len(parts) > 2:
        return False
    if len(parts) == 2:
        rhs = parts[1].strip()
        if not re.fullmatch(r"\d+", rhs) or Fraction(int(rhs)) != target:
            return False
    result = evaluate(parts[0], numbers)
    return result is not None and result == target


def solve(numbers: list[int], target: int) -> str | None:
    """Depth-first search over pairwise combinations (floats for speed, exact check at the leaf)."""
    from fractions import Fraction as _F

    def exact(expr: str) -> _F | None:
        try:
            return eval(re.sub(r"\d+", lambda m: f"_F({m.group(0)})", expr), {"_F": _F})
        except ZeroDivisionError:
            return None

    failed: set[tuple[float, ...]] = set()

    def search(items: list[tuple[float, str]]) -> str | None:
        if len(items) == 1:
            v, e = items[0]
            if abs(v - target) < 1e-6 and exact(e) == target:
                return e
            return None
        key = tuple(sorted(round(v, 9) for v, _ in items))
        if key in failed:
            return None
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                (a, ea), (b, eb) = items[i], items[j]
                rest = [items[k] for k in range(len(items)) if k != i and k != j]
                options = [(a + b, f"({ea}+{eb})"), (a * b, f"({ea}*{eb})"),
                           (a - b, f"({ea}-{eb})"), (b - a, f"({eb}-{ea})")]
                if b != 0:
                    options.append((a / b, f"({ea}/{eb})"))
                if a != 0:
                    options.append((b / a, f"({eb}/{ea})"))
                for v, e in options:
                    found = search([*rest, (v, e)])
                    if found is not None:
                        return found
        failed.add(key)
        return None

    return search([(float(n), str(n)) for n in numbers])


def problem_text(numbers: list[int], target: int) -> str:
    nums = " ".join(str(n) for n in numbers)
    return (
        f"Use the numbers {nums} and the basic arithmetic operations (+ - * /) with parentheses to obtain "
        f"{target}. Each number must be used exactly once and every number has to appear in the expression; "
        "numbers cannot be joined into new numbers and a minus sign may only be used between two terms.\n"
        "Examples (target 24): Input: 9 10 11 13, Answer: ((10-9)*(11+13)); "
        "Input: 4 10 10 11, Answer: ((4*11)-(10+10)); Input: 2 6 6 7, Answer: ((6+(6*7))/2).\n"
        f"Input: {nums}\n"
        f"Return only the expression inside the brackets, e.g. <<<((10-9)*(11+13))>>> "
        f"(appending '= {target}' is allowed)."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, hi, targets = LEVELS[difficulty]
    target = rng.choice(targets)
    expr = None
    for _ in range(40):
        expr = _build(target, n, hi, rng)
        if expr is not None:
            break
    if expr is None:
        expr = _sum_fallback(target, n, hi, rng)
    numbers = sorted(literals(expr))
    return Sample(problem_text(numbers, target), expr, {"numbers": numbers, "target": target})


def _read_csv(path: Path, target: int, solve_missing: bool) -> list[Sample]:
    """Rows whose published solution is not exactly right are skipped: a few of the long-list files
    hold float-only "solutions" such as 41+56/(63*73*...)-17, which is 24 + 1e-9, not 24."""
    out = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            numbers = [int(x) for x in row["Puzzles"].split()]
            gold = row.get("Solutions") or (solve(numbers, target) if solve_missing else None)
            if gold is None:
                raise ValueError(f"{path}: no solution found for {numbers} -> {target}; the file is not a Game24 set")
            if evaluate(gold, numbers) != target:
                continue
            meta = {"numbers": numbers, "target": target, "file": f"{path.parent.name}/{path.name}",
                    "rank": int(row["Rank"])}
            out.append(Sample(problem_text(numbers, target), gold, meta))
    return out


def _game24_folder(root: Path) -> Path:
    base = root / "game24_dataset"
    if not base.is_dir():
        raise FileNotFoundError(f"SymBench reference folder {base} not found; set R1CI_DATA_DIR")
    return base


@lru_cache(maxsize=4)
def _reference_cached(root: Path) -> tuple[Sample, ...]:
    return tuple(_read_csv(_game24_folder(root) / "24" / "24.csv", 24, solve_missing=True))


def reference(root: Path) -> list[Sample]:
    """The 1362 classic puzzles (target 24); solving them all takes about a second, so it is cached."""
    return list(_reference_cached(root))


def reference_varied(root: Path) -> list[Sample]:
    """The other published csv files: 2..80 numbers, targets 24..122880, each with a solution."""
    base = _game24_folder(root)
    out: list[Sample] = []
    for folder in sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: int(p.name)):
        files = sorted(folder.glob("*_number.csv"), key=lambda p: int(p.stem.split("_")[1]))
        for path in files:
            out.extend(_read_csv(path, int(folder.name), solve_missing=False))
    return out


VARIANTS: dict[str, ReferenceParser] = {"varied": reference_varied}


def corrupt(gold: str, q: Question) -> str:
    """Swap one operator, or drop a number: well-formed expressions that are wrong."""
    cands = []
    for i, ch in enumerate(gold):
        if ch in "+-*/":
            for other in "+-*/":
                if other != ch:
                    cands.append(gold[:i] + other + gold[i + 1:])
    cands.append(re.sub(r"\d+", "1", gold, count=1) if literals(gold)[0] != 1 else re.sub(r"\d+", "2", gold, count=1))
    return first_rejected(gold, q, check, cands)


def reference_program(q: Question) -> str | None:
    numbers = q.metadata["numbers"]
    if len(numbers) > 6:
        return None  # brute force over more numbers is too slow for a teacher script
    return program_from([solve], f"solve({numbers!r}, {q.metadata['target']!r})", imports="import re")
