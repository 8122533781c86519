"""Combinatorial calculation: insert + - * / and parentheses between fixed, ordered numbers to hit a target.

Many expressions can hit the target; the checker parses the answer (list-of-tokens form or a plain
expression), checks that the numbers appear exactly once each in the given order with nothing
glued together, and evaluates it exactly with fractions. No unary minus is allowed.
"""

from __future__ import annotations

import operator
import random
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    MAX_ANSWER_CHARS,
    first_rejected,
    metadata_program,
    published_samples,
)

DESCRIPTION = "Insert arithmetic operators and parentheses between ordered digits to reach a target."
_OPS = "+-*/"
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}

# difficulty -> (how many numbers, largest target)
_LEVELS = {1: (3, 30), 2: (4, 60), 3: (4, 100), 4: (5, 150), 5: (6, 200)}


def find_expression(data: dict) -> str:
    """Interval DP over the ordered numbers: every reachable value of each span with one expression."""
    from fractions import Fraction

    nums = data["numbers"]
    n = len(nums)
    table: dict = {}
    for i in range(n):
        table[i, i + 1] = {Fraction(nums[i]): [str(nums[i])]}
    for width in range(2, n + 1):
        for i in range(n - width + 1):
            j = i + width
            cell: dict = {}
            for k in range(i + 1, j):
                for a, ta in table[i, k].items():
                    for b, tb in table[k, j].items():
                        left = ["(", *ta, ")"] if len(ta) > 1 else ta
                        right = ["(", *tb, ")"] if len(tb) > 1 else tb
                        cell.setdefault(a + b, [*left, "+", *right])
                        cell.setdefault(a - b, [*left, "-", *right])
                        cell.setdefault(a * b, [*left, "*", *right])
                        if b != 0:
                            cell.setdefault(a / b, [*left, "/", *right])
            table[i, j] = cell
    tokens = table[0, n].get(Fraction(data["target"]))
    if tokens is None:
        raise ValueError("the target cannot be reached")
    return "[" + ", ".join(tokens) + "]"


_ALLOWED = re.compile(r"[\d+\-*/()\[\],\s'\"×÷]*")
_TOKEN = re.compile(r"\d+|[+\-*/()]")


def tokenize(answer: str) -> list[str] | None:
    """Tokens of a `[1, +, 3]`-style list or a plain expression; None when anything else is present."""
    s = answer.strip()
    if len(s) > MAX_ANSWER_CHARS or not _ALLOWED.fullmatch(s):
        return None
    s = s.replace("×", "*").replace("÷", "/")
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1]
    if "[" in s or "]" in s:
        return None
    return _TOKEN.findall(s)


def evaluate_tokens(tokens: list[str]) -> tuple[Fraction, list[int]] | None:
    """(value, numbers used in order) with standard precedence; None on bad syntax or division by zero."""
    pos = 0
    used: list[int] = []

    def atom() -> Fraction:
        nonlocal pos
        if pos >= len(tokens):
            raise SyntaxError("expression ends early")
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = expr()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise SyntaxError("missing )")
            pos += 1
            return value
        if not tok.isdigit():
            raise SyntaxError(f"unexpected {tok!r}")
        used.append(int(tok))
        return Fraction(int(tok))

    def infix(operand: Callable[[], Fraction], ops: dict[str, Callable[[Fraction, Fraction], Fraction]]):
        """A left-associative precedence level: operand (op operand)* for the given operators."""

        def parse() -> Fraction:
            nonlocal pos
            value = operand()
            while pos < len(tokens) and tokens[pos] in ops:
                op = ops[tokens[pos]]
                pos += 1
                value = op(value, operand())
            return value

        return parse

    term = infix(atom, {"*": operator.mul, "/": operator.truediv})
    expr = infix(term, {"+": operator.add, "-": operator.sub})

    try:
        value = expr()
    except (SyntaxError, ZeroDivisionError, RecursionError):
        return None
    if pos != len(tokens):
        return None
    return value, used


def _random_tree(rng: random.Random, nums: list[int]) -> tuple[Fraction, list[str], int]:
    """(value, tokens, precedence of the top operator; 3 for a bare number)."""
    if len(nums) == 1:
        return Fraction(nums[0]), [str(nums[0])], 3
    k = rng.randint(1, len(nums) - 1)
    (a, ta, pa), (b, tb, pb) = _random_tree(rng, nums[:k]), _random_tree(rng, nums[k:])
    op = rng.choice(_OPS)
    prec = _PRECEDENCE[op]
    left = ["(", *ta, ")"] if pa < prec else ta
    right = ["(", *tb, ")"] if pb < prec or (pb == prec and op in "-/") else tb
    if op == "/" and b == 0:
        raise ZeroDivisionError
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else Fraction(0)}[op]
    return value, [*left, op, *right], prec


def _problem(nums: list[int], target: int) -> str:
    return (
        f"Given {len(nums)} integers between 1 and 9, perform arithmetic operations (addition, subtraction, "
        "multiplication, division, and parentheses) between these integers. Each number must be used exactly "
        f"once, and the final result should be {target}. Note: the order of the numbers is given by the input "
        "and cannot be changed; you can only insert arithmetic operations or parentheses between the numbers "
        "(no unary minus, no joining digits into bigger numbers).\n"
        "Return the answer as a list of values and calculation symbols, with the format <<<list of values and "
        "symbols>>>, like <<<[1, +, 3]>>> means 1+3 and <<<[4, -, (, 6, *, 9, )]>>> means 4-(6*9).\n"
        f"Now the input numbers are: {', '.join(map(str, nums))}, and the target value is: {target}"
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, top = _LEVELS[difficulty]
    while True:
        nums = [rng.randint(1, 9) for _ in range(n)]
        try:
            value, tokens, _ = _random_tree(rng, nums)
        except ZeroDivisionError:
            continue
        if value.denominator == 1 and 1 <= value <= top:
            data = {"numbers": nums, "target": int(value)}
            return Sample(_problem(nums, int(value)), "[" + ", ".join(tokens) + "]", data)


def check(answer: str, q: Question) -> bool:
    tokens = tokenize(answer)
    if not tokens:
        return False
    result = evaluate_tokens(tokens)
    if result is None:
        return False
    value, used = result
    return used == q.metadata["numbers"] and value == q.metadata["target"]


def corrupt(gold: str, q: Question) -> str:
    tokens = tokenize(gold) or []
    flips = {"+": "-", "-": "+", "*": "+", "/": "*"}
    variants = ["[" + ", ".join([*tokens[:i], flips[t], *tokens[i + 1 :]]) + "]"
                for i, t in enumerate(tokens) if t in flips]
    return first_rejected(gold, q, check, variants)


reference_program = metadata_program(find_expression, "numbers", "target")


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    data = {"numbers": sol["numbers"], "target": sol["target"]}
    return Sample(problem, "[" + ", ".join(sol["solution"]) + "]", data)


reference = published_samples("combinatorial_calculation", _from_published)
