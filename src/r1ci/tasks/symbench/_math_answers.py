"""Reading math answers the way people write them: `3/8`, `\\frac{3}{8}`, `0.375`, `5\\sqrt{2}`, `25π/4`,
`(3/2, -1)`, `45^\\circ`, `12,\\!650`, and comparing them with a gold answer written the same way.

A small hand-written parser (numbers, + - * / ^, parentheses, implicit multiplication, sqrt, pi)
instead of sympy's `parse_expr`: it never evaluates arbitrary code, it is fast enough to run
inside every reward call, and it keeps rationals exact so "6/16" equals "3/8" exactly while
"0.3333" does not. Anything it cannot read falls back to a normalised text comparison, which is
how symbolic golds such as `\\frac{bx}{h}(h-x)` are still matched by an identical answer.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from r1ci.tasks.symbench._helpers import numbers_close, strip_wrapping

Value = Fraction | float | tuple
_MAX_CHARS = 300
_MAX_POWER_BITS = 100_000
"""Exact powers larger than this many bits are refused (hostile `9^9^9` must not stall a reward call)."""

_DROP = [r"\left", r"\right", r"\displaystyle", r"\!", r"\,", r"\;", r"\:", r"\ ", "^{\\circ}", "^\\circ",
         r"\circ", "°", r"\%", "%", r"\$", "$", "~"]
_TEXT_RE = re.compile(r"\\(?:text|mbox|textbf|mathrm)\s*\{[^{}]*\}")
_THOUSANDS_RE = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d])")
_TOKEN_RE = re.compile(r"\s*(\d+\.?\d*|\.\d+|sqrt|pi|[-+*/^()])")


def boxed(solution: str) -> str | None:
    """Content of the last `\\boxed{...}` (or `\\fbox{...}`) with balanced braces."""
    i = max(solution.rfind("\\boxed"), solution.rfind("\\fbox"))
    if i < 0:
        return None
    j = solution.find("{", i)
    if j < 0:
        return None
    depth = 0
    for k in range(j, len(solution)):
        if solution[k] == "{":
            depth += 1
        elif solution[k] == "}":
            depth -= 1
            if depth == 0:
                return solution[j + 1 : k].strip()
    return None


def _latex_arg(s: str, i: int) -> tuple[str, int] | None:
    """The argument of a LaTeX command starting at index i: a {braced group} or a single character."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return None
    if s[i] != "{":
        return s[i], i + 1
    depth = 0
    for k in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[k], 0)
        if depth == 0:
            return s[i + 1 : k], k + 1
    return None


def _expand_commands(s: str) -> str | None:
    """`\\frac{a}{b}` -> `((a)/(b))`, `\\sqrt{x}` -> `sqrt(x)`, recursively; None on malformed input."""
    out, i = [], 0
    while i < len(s):
        if s.startswith("\\frac", i):
            first = _latex_arg(s, i + 5)
            second = _latex_arg(s, first[1]) if first else None
            if first is None or second is None:
                return None
            num, den = _expand_commands(first[0]), _expand_commands(second[0])
            if num is None or den is None:
                return None
            out.append(f"(({num})/({den}))")
            i = second[1]
        elif s.startswith("\\sqrt", i):
            arg = _latex_arg(s, i + 5)
            if arg is None or arg[0] == "[":
                return None
            inner = _expand_commands(arg[0])
            if inner is None:
                return None
            out.append(f"sqrt({inner})")
            i = arg[1]
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def to_plain(text: str) -> str | None:
    """LaTeX-ish answer text -> a plain arithmetic string over numbers, sqrt and pi (or None)."""
    s = strip_wrapping(text)
    if not s or len(s) > _MAX_CHARS:
        return None
    s = _TEXT_RE.sub("", s)
    for token in _DROP:
        s = s.replace(token, "")
    s = re.sub(r"^\s*[A-Za-z]\s*=\s*", "", s)  # "k = 5", "x=3"
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    expanded = _expand_commands(s)
    if expanded is None:
        return None
    s = expanded.replace("\\pi", "pi").replace("π", "pi").replace("√", "sqrt")
    s = s.replace("\\cdot", "*").replace("\\times", "*").replace("×", "*").replace("÷", "/").replace("−", "-")
    s = s.replace("{", "(").replace("}", ")").replace("**", "^")
    if "\\" in s:
        return None
    return _THOUSANDS_RE.sub(lambda m: m.group(0).replace(",", ""), s).strip()


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expr(self) -> Fraction | float:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> Fraction | float:
        value = self.unary()
        while True:
            tok = self.peek()
            if tok in ("*", "/"):
                self.take()
                rhs = self.unary()
                if tok == "/" and rhs == 0:
                    raise ZeroDivisionError
                value = value * rhs if tok == "*" else value / rhs
            elif tok is not None and (tok[0].isdigit() or tok[0] == "." or tok in ("(", "sqrt", "pi")):
                value = value * self.power()  # implicit multiplication: 5sqrt(2), 2pi, 3(4)
            else:
                return value

    def unary(self) -> Fraction | float:
        if self.peek() in ("+", "-"):
            sign = -1 if self.take() == "-" else 1
            return sign * self.unary()
        return self.power()

    def power(self) -> Fraction | float:
        base = self.atom()
        if self.peek() != "^":
            return base
        self.take()
        exponent = self.unary()
        if isinstance(exponent, Fraction) and exponent.denominator == 1 and isinstance(base, Fraction):
            size = max(base.numerator.bit_length(), base.denominator.bit_length(), 1)
            if abs(exponent) * size > _MAX_POWER_BITS or (base == 0 and exponent < 0):
                raise ValueError("exponent out of range")
            return base ** int(exponent)
        result = float(base) ** float(exponent)
        if isinstance(result, complex):
            raise ValueError("complex power")
        return result

    def atom(self) -> Fraction | float:
        tok = self.take()
        if tok == "(":
            value = self.expr()
            if self.take() != ")":
                raise ValueError("missing )")
            return value
        if tok == "pi":
            return math.pi
        if tok == "sqrt":
            arg = self.power() if self.peek() != "(" else self.atom()
            if arg < 0:
                raise ValueError("sqrt of a negative number")
            if isinstance(arg, Fraction):
                n, d = math.isqrt(arg.numerator), math.isqrt(arg.denominator)
                if n * n == arg.numerator and d * d == arg.denominator:
                    return Fraction(n, d)
            return math.sqrt(arg)
        if tok[0].isdigit() or tok[0] == ".":
            return Fraction(tok)
        raise ValueError(f"unexpected token {tok!r}")


def _evaluate(plain: str) -> Fraction | float | None:
    tokens, pos = [], 0
    while pos < len(plain):
        m = _TOKEN_RE.match(plain, pos)
        if m is None:
            if plain[pos:].strip() == "":
                break
            return None
        tokens.append(m.group(1))
        pos = m.end()
    if not tokens:
        return None
    parser = _Parser(tokens)
    try:
        value = parser.expr()
    except (ValueError, ZeroDivisionError, OverflowError, IndexError, RecursionError, TypeError):
        return None
    if parser.pos != len(tokens):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _split_top_level(s: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        depth += {"(": 1, ")": -1, "[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return parts


def parse_math(text: str) -> Value | None:
    """A number (Fraction when exact, float otherwise) or a tuple of numbers; None when unreadable."""
    plain = to_plain(text)
    if plain is None or not plain:
        return None
    if plain[0] in "([" and plain[-1] in ")]":
        parts = _split_top_level(plain[1:-1])
        if len(parts) > 1:
            values = [_evaluate(p) for p in parts]
            return None if any(v is None for v in values) else tuple(values)
    return _evaluate(plain)


def canonical_text(text: str) -> str:
    s = strip_wrapping(text)
    s = re.sub(r"\\(?:text|mbox|textbf|mathrm)\s*\{([^{}]*)\}", r"\1", s)
    for token in _DROP:
        s = s.replace(token, "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return re.sub(r"\s+", "", s).rstrip(".").lower()


def values_match(answer: Value, gold: Value, *, rel: float, exact_integers: bool = False) -> bool:
    """Tolerance `rel` (relative, and absolute near 0); with `exact_integers` an integer gold needs an
    exactly equal answer (a count off by one is wrong however large the count)."""
    if isinstance(gold, tuple) or isinstance(answer, tuple):
        return (isinstance(gold, tuple) and isinstance(answer, tuple) and len(gold) == len(answer)
                and all(values_match(a, g, rel=rel, exact_integers=exact_integers)
                        for a, g in zip(answer, gold, strict=True)))
    if exact_integers and isinstance(gold, Fraction) and gold.denominator == 1:
        return answer == gold
    return numbers_close(answer, gold, rel=rel, abs_tol=rel)


def math_answer_matches(answer: str, gold: str, *, rel: float, exact_integers: bool = False) -> bool:
    """Numeric comparison when the gold reads as a number, else normalised text equality."""
    if len(answer) > _MAX_CHARS * 4:
        return False
    g = parse_math(gold)
    if g is not None:
        a = parse_math(answer)
        return a is not None and values_match(a, g, rel=rel, exact_integers=exact_integers)
    return canonical_text(answer) == canonical_text(gold) != ""
