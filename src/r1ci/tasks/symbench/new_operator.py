"""New operator: evaluate an expression built from newly defined binary operators.

Operators are defined by formula families (`OPERATOR_FORMS`) so the definition text, the
evaluator and the reference program all come from one table. Generated prompts fix the
precedence explicitly (parentheses first, then all new operators left to right). The published
golds agree with that reading on every one- and two-operator question but not on the
three-operator ones (the published solver evaluates something else there); the checker still
compares against each published gold, and the scripted teacher skips questions whose gold our
solver does not reproduce.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    join_and,
    numbers_close,
    parse_number,
    program,
    published_samples,
)

DESCRIPTION = "Evaluate an expression over newly defined binary operators with a stated precedence."
_SYMBOLS = "~&@#$%"

# form -> definition text (p, q are integer coefficients)
OPERATOR_FORMS = {
    "lin": "{p}*a+{q}*b",
    "diff": "{p}*a-{q}*b",
    "prod": "{p}*a*b",
    "ratio": "(a + {p}*b)/b",
    "square": "a*a+{p}*b",
}

# difficulty -> (number of operators, number of operands, largest operand, forms allowed)
_LEVELS = {
    1: (1, 3, 9, ("lin", "prod", "diff")),
    2: (2, 3, 9, ("lin", "prod", "diff", "square")),
    3: (2, 4, 9, tuple(OPERATOR_FORMS)),
    4: (3, 4, 12, tuple(OPERATOR_FORMS)),
    5: (3, 5, 12, tuple(OPERATOR_FORMS)),
}


def evaluate_new_ops(data: dict) -> str:
    """Value of `data["expr"]`: parentheses first, then new operators strictly left to right.

    Exact arithmetic; prints an integer, or a reduced fraction p/q."""
    import re
    from fractions import Fraction

    def apply(symbol: str, a: Fraction, b: Fraction) -> Fraction:
        form, p, q = data["ops"][symbol]
        if form == "lin":
            return p * a + q * b
        if form == "diff":
            return p * a - q * b
        if form == "prod":
            return p * a * b
        if form == "ratio":
            return (a + p * b) / b
        if form == "square":
            return a * a + p * b
        raise ValueError(f"unknown operator form {form!r}")

    tokens = re.findall(r"\d+|\S", data["expr"])
    pos = 0

    def operand() -> Fraction:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = chain()
            pos += 1  # the closing parenthesis
            return value
        return Fraction(int(tok))

    def chain() -> Fraction:
        nonlocal pos
        value = operand()
        while pos < len(tokens) and tokens[pos] != ")":
            symbol = tokens[pos]
            pos += 1
            value = apply(symbol, value, operand())
        return value

    result = chain()
    return str(result.numerator) if result.denominator == 1 else f"{result.numerator}/{result.denominator}"


def definition_text(form: str, p: int, q: int) -> str:
    return OPERATOR_FORMS[form].format(p=p, q=q)


def _expression(rng: random.Random, symbols: list[str], n_operands: int, top: int) -> str:
    """A random expression tree printed with the parentheses the left-to-right rule needs (plus the
    leftmost pair, as in the published questions)."""

    def build(n: int) -> str | tuple:
        if n == 1:
            return str(rng.randint(1, top))
        k = rng.randint(1, n - 1)
        return (build(k), rng.choice(symbols), build(n - k))

    def show(node: str | tuple, right: bool) -> str:
        if isinstance(node, str):
            return node
        left, sym, rgt = node
        text = f"{show(left, False)}{sym}{show(rgt, True)}"
        return f"({text})" if right else text

    tree = build(n_operands)
    text = show(tree, False)
    if isinstance(tree, tuple) and isinstance(tree[0], tuple) and not text.startswith("("):
        left = show(tree[0], False)
        text = f"({left}){text[len(left):]}"
    return text


def _problem(ops: dict[str, list], expr: str) -> str:
    symbols = list(ops)
    head = ("Let a and b be numbers. " if len(symbols) == 1 else
            f"Let a and b be numbers. The new operations {join_and(symbols)} "
            "are defined as follows:\n")
    defs = "\n".join(f"Define a{s}b to be {definition_text(*ops[s])}." for s in symbols)
    return (
        f"{head}{defs}\n"
        "Parentheses are evaluated first; otherwise all the new operations have the same precedence and are "
        "applied from left to right.\n"
        f"Calculate {expr}.\n"
        "Give the exact value: an integer, or a fraction in lowest terms such as <<<7/3>>> (a decimal with at "
        "least 4 decimal places is also accepted). Return your answer with the format <<<value>>>."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n_ops, n_operands, top, forms = _LEVELS[difficulty]
    while True:
        symbols = rng.sample(_SYMBOLS, n_ops)
        ops = {s: [rng.choice(forms), rng.randint(1, 5), rng.randint(1, 5)] for s in symbols}
        expr = _expression(rng, symbols, n_operands, top)
        if not all(s in expr for s in symbols):
            continue
        data = {"ops": ops, "expr": expr}
        try:
            value = evaluate_new_ops(data)
        except ZeroDivisionError:
            continue
        if abs(parse_number(value) or 0) < 10**9:
            return Sample(_problem(ops, expr), value, data)


def check(answer: str, q: Question) -> bool:
    guess, gold = parse_number(answer), parse_number(q.answer or "")
    return guess is not None and gold is not None and numbers_close(guess, gold, rel=1e-4, abs_tol=1e-4)


def corrupt(gold: str, q: Question) -> str:
    value = parse_number(gold) or Fraction(0)
    return first_rejected(gold, q, check, [str(value + 1), str(value * 2 + 1)])


def reference_program(q: Question) -> str | None:
    if not q.metadata.get("solver_agrees", True):
        return None
    return program(evaluate_new_ops, {"ops": q.metadata["ops"], "expr": q.metadata["expr"]})


_DEF_FORMS = [
    (re.compile(r"(\d+)\*a\+(\d+)\*b"), "lin"),
    (re.compile(r"(\d+)\*a\*b"), "prod"),
    (re.compile(r"\(a \+ b\)/b"), "ratio"),
]


def _parse_definition(text: str) -> list:
    for pattern, form in _DEF_FORMS:
        m = pattern.fullmatch(text)
        if m:
            if form == "ratio":
                return [form, 1, 0]
            return [form, int(m.group(1)), int(m.group(2)) if form == "lin" else 0]
    raise ValueError(f"unrecognised operator definition {text!r}")


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    m = re.search(r"Calculate (.*)\.\s*$", problem, re.M)
    if m is None:
        raise ValueError(f"{d}: expression not found")
    ops = {s: _parse_definition(t) for s, t in sol["operator_definitions"].items()}
    data = {"ops": ops, "expr": m.group(1).strip()}
    gold = Fraction(str(sol["solution"]))
    ours = parse_number(evaluate_new_ops(data))
    data["solver_agrees"] = ours is not None and numbers_close(ours, gold, rel=1e-4, abs_tol=1e-4)
    answer = str(int(gold)) if gold.denominator == 1 else repr(sol["solution"])
    return Sample(problem, answer, data)


reference = published_samples("new_operator_dataset", _from_published)
