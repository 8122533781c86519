"""The answer-reading helpers shared by the part-2 SymBench checkers: total (never raise), exact where
they should be, and bounded on hostile input."""

from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction

import pytest

from r1ci.tasks.base import Question
from r1ci.tasks.symbench._helpers import (
    call_program,
    join_and,
    match_kind,
    numbers_close,
    parse_int_list,
    parse_items,
    parse_number,
    program,
    word_problem_close,
)
from r1ci.tasks.symbench._math_answers import boxed, math_answer_matches, parse_math


@pytest.mark.parametrize(("text", "value"), [
    ("12", Fraction(12)), ("-3.5", Fraction(-7, 2)), ("1,234,567", Fraction(1234567)), ("$12.50", Fraction(25, 2)),
    ("7/3", Fraction(7, 3)), ("[42]", Fraction(42)), ("'5'", Fraction(5)), ("1e3", Fraction(1000)),
    ("twelve", None), ("1/0", None), ("1,23", None), ("", None), ("9" * 300, None), ("[1, 2]", None),
])  # fmt: skip
def test_parse_number(text: str, value: Fraction | None) -> None:
    assert parse_number(text) == value


def test_parse_items_and_int_lists() -> None:
    assert parse_items('["A", "B"]') == ["A", "B"]
    assert parse_items("[A, B, C]") == ["A", "B", "C"]
    assert parse_items("A B C") == ["A", "B", "C"]
    assert parse_items("[]") == []
    assert parse_items("[1, [2, 3]]") is None
    assert parse_items("[" * 3000) is None
    assert parse_int_list('["1", "0", "2"]') == [1, 0, 2]
    assert parse_int_list("1 2 3", length=3) == [1, 2, 3]
    assert parse_int_list("[1, 2.5]") is None
    assert parse_int_list("[1, 2]", length=3) is None


def test_numeric_tolerances() -> None:
    assert numbers_close(Fraction(1, 3), Fraction(1, 3), rel=0, abs_tol=0)
    assert not numbers_close(Fraction(10**400), Fraction(10**400 + 1), rel=1e-6)  # too big for a float: no crash
    assert word_problem_close(Fraction("14053029.67"), Fraction(42159089, 3))  # cents rounding of a big value
    assert not word_problem_close(Fraction(0), Fraction("0.0016791648"))  # a tiny gold is not matched by 0


@pytest.mark.parametrize(("text", "value"), [
    ("\\frac{3}{8}", Fraction(3, 8)), ("\\dfrac38", Fraction(3, 8)), ("12,\\!650", Fraction(12650)),
    ("45^\\circ", Fraction(45)), ("k = 5", Fraction(5)), ("2^{10}", Fraction(1024)), ("\\sqrt{16}", Fraction(4)),
    ("(-2, 3)", (Fraction(-2), Fraction(3))), ("\\frac{1}{\\frac{1}{2}}", Fraction(2)),
])  # fmt: skip
def test_parse_math_exact_forms(text: str, value: object) -> None:
    assert parse_math(text) == value


@pytest.mark.parametrize("text", ["5\\sqrt{2}", "5*sqrt(2)", "5√2", "\\frac{10}{\\sqrt{2}}", "sqrt(50)"])
def test_parse_math_irrational_forms(text: str) -> None:
    assert parse_math(text) == pytest.approx(5 * 2**0.5)


def test_parse_math_is_total_and_bounded() -> None:
    hostile = ["9^9^9^9", "(" * 5000, "\\frac{" * 200, "(-8)^(1/3)", "1/0", "\\sqrt{-4}", "__import__('os')", "∑∫ﬀ"]
    for text in hostile:  # bounded: a hang would hit the suite's timeout
        assert parse_math(text) is None, text


@pytest.mark.slow  # a wall-clock budget: meaningful on a quiet machine only
def test_parse_math_is_fast_on_hostile_input() -> None:
    hostile = ["9^9^9^9", "(" * 5000, "\\frac{" * 200]
    start = time.perf_counter()
    for text in hostile:
        parse_math(text)
    assert time.perf_counter() - start < 1.0


def test_math_answer_matching() -> None:
    assert math_answer_matches("6/16", "\\frac{3}{8}", rel=5e-6)
    assert math_answer_matches("0.375", "\\frac{3}{8}", rel=5e-6)
    assert not math_answer_matches("0.37", "\\frac{3}{8}", rel=5e-6)
    assert not math_answer_matches("1000001", "1000000", rel=5e-6, exact_integers=True)
    assert math_answer_matches("\\frac{bx}{h}(h-x)", "\\frac{bx}{h}(h-x)", rel=1e-4)  # symbolic: text equality
    assert math_answer_matches("B", "\\text{B}", rel=1e-4)
    assert not math_answer_matches("", "\\text{B}", rel=1e-4)


def test_boxed_takes_the_last_balanced_group() -> None:
    assert boxed("so \\boxed{1} no, \\boxed{\\frac{8}{9}} is right") == "\\frac{8}{9}"
    assert boxed("no box") is None


def double(data: dict) -> int:
    return data["x"] * 2


def test_program_embeds_the_solver_and_runs_standalone() -> None:
    src = program(double, {"x": 21})
    out = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "42", out.stderr


def test_join_and_lists_names_as_prompts_do() -> None:
    assert [join_and(w) for w in (["A"], ["A", "B"], ["A", "B", "C"], "XYZ")] == ["A", "A and B", "A, B and C", "X, Y and Z"]


def test_match_kind_reads_the_first_full_match_or_names_what_it_could_not_read() -> None:
    import re

    patterns = [(re.compile(r"(\w) > (\w)"), "gt"), (re.compile(r"(\w) = (\d+)"), "eq")]
    kind, m = match_kind(patterns, "  A = 3 ", "relation")
    assert (kind, m.groups()) == ("eq", ("A", "3"))
    with pytest.raises(ValueError, match="unrecognised relation 'A < B'"):
        match_kind(patterns, "A < B", "relation")


def _pair_sum(a: list[int], b: int) -> int:
    return sum(a) + b


def test_call_program_passes_metadata_as_literals_and_shows_the_result() -> None:
    q = Question("x", "t", "", "7", {"a": [1, 2], "b": 4})
    code = call_program(_pair_sum, "a", "b", show=lambda call: f"str({call}) + '!'")(q)
    assert code.rstrip().endswith("print(str(_pair_sum([1, 2], 4)) + '!')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "7!\n"
