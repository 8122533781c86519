"""Hand-worked questions with known answers for each part-2 SymBench task: the solvers reproduce the
answer worked out by hand, and the checkers accept equivalent forms and reject near misses."""

from __future__ import annotations

from typing import Any

import pytest

from r1ci.tasks.base import Question
from r1ci.tasks.symbench import (
    boolean_circuit,
    calendar_scheduling,
    combinatorial_calculation,
    constrained_linear_arrangement,
    date_arithmetic,
    gsm_hard,
    knapsack,
    letter_logic_diagram,
    logical_equation,
    math_counting,
    math_geometry,
    module_tasks,
    new_operator,
    pattern_recognition,
    permutations_combinations,
    statistical_counting,
    string_deletion_modification,
    string_insertion,
    string_splitting,
    string_synthesis,
    synthesis_decomposition,
)
from r1ci.tasks.symbench._helpers import run_solution
from r1ci.tasks.symbench._math_templates import format_gold
from r1ci.tasks.symbench._rewriting import run_methods


def q(module: Any, metadata: dict[str, Any], answer: str | None) -> Question:
    name = module.__name__.rpartition(".")[2]
    return Question(id="known", task=name, prompt="", answer=answer, metadata=metadata)


def accepts(module: Any, question: Question, answer: str) -> bool:
    return module_tasks(module)[0].score(question, f"<<<{answer}>>>") == 1.0


def test_string_insertion_overlapping_matches() -> None:
    rules = [["ABCD", "A"], ["BCDE", "B"], ["CDEA", "C"], ["DEAB", "D"], ["EABC", "E"]]
    data = {"string": "ABCDE", "rules": rules}
    # ABCD ends at index 3 (insert A), BCDE ends at index 4 (insert B): both found in the original string.
    assert string_insertion.solve_string_insertion(data) == "ABCDAEB"
    question = q(string_insertion, data, "ABCDAEB")
    assert accepts(string_insertion, question, '"ABCDAEB"')
    assert not accepts(string_insertion, question, "ABCDAE")


def test_string_splitting_small_run() -> None:
    data = {"initial": {"A": 1, "B": 0, "C": 0}, "methods": string_splitting.PUBLISHED_METHODS,
            "order": string_splitting.ORDER, "mode": "once"}
    # A -> 2X + Y, then X + Y -> Z; nothing else ever applies.
    assert run_methods(data) == [0, 0, 0, 1, 0, 1]
    question = q(string_splitting, data, "[0, 0, 0, 1, 0, 1]")
    assert accepts(string_splitting, question, '["0", "0", "0", "1", "0", "1"]')
    assert not accepts(string_splitting, question, "[0, 0, 0, 1, 0]")


def test_string_synthesis_one_of_each() -> None:
    data = {"initial": {"[A]": 1, "[B]": 1, "[C]": 1}, "methods": string_synthesis.PUBLISHED_METHODS,
            "order": string_synthesis.BLOCKS, "mode": "max"}
    assert run_methods(data) == [0, 0, 0, 1, 0, 0, 0, 0, 0]  # only method 1 fires: [A][B][C] -> {A}
    question = q(string_synthesis, data, "0 0 0 1 0 0 0 0 0")
    assert accepts(string_synthesis, question, "[0, 0, 0, 1, 0, 0, 0, 0, 0]")
    assert not accepts(string_synthesis, question, "0 0 0 0 1 0 0 0 0")


def test_string_deletion_restarts_from_the_first_rule() -> None:
    rules = [string_deletion_modification.PUBLISHED_RULES["If the string prefix is 'aa', remove the first character."],
             string_deletion_modification.PUBLISHED_RULES["If the string ends with 'ba', replace it with 'ab'."]]
    data = {"string": "aaaba", "rules": rules}
    # aaaba -> aaba -> aba (rule 1 twice) -> aab (rule 2) -> ab (rule 1 again).
    assert string_deletion_modification.run_rules(data) == "ab"
    question = q(string_deletion_modification, data, "ab")
    assert accepts(string_deletion_modification, question, '"ab"')
    assert not accepts(string_deletion_modification, question, "aab")


def test_statistical_counting_runs() -> None:
    data = {"sequence": "AABBBAB", "rules": [{"letter": "A", "score": 1, "min_consecutive": 2},
                                             {"letter": "B", "score": 2, "min_consecutive": 3}]}
    assert statistical_counting.score_runs(data) == 3  # AA (+1), BBB (+2); the lone A and B score nothing
    question = q(statistical_counting, data, "3")
    assert accepts(statistical_counting, question, "3") and not accepts(statistical_counting, question, "4")


def test_permutations_validate_constraints_not_one_gold() -> None:
    data = {"items": ["A", "B", "C"], "constraints": [["at", "A", 1], ["adjacent", "B", "A"]]}
    question = q(permutations_combinations, data, '["A", "B", "C"]')
    assert accepts(permutations_combinations, question, "A, B, C")
    assert not accepts(permutations_combinations, question, '["A", "C", "B"]')  # B not next to A
    assert not accepts(permutations_combinations, question, '["A", "B", "B"]')  # not a permutation
    assert permutations_combinations.solve_shelf(data) == ["A", "B", "C"]


def test_logical_equation_accepts_every_valid_assignment() -> None:
    data = {"letters": ["A", "B", "C"], "numbers": [1, 2, 3], "relations": [["sum", "A", "B", 3], ["gt", "C", "A"]]}
    question = q(logical_equation, data, "[1, 2, 3]")
    assert accepts(logical_equation, question, "[1, 2, 3]") and accepts(logical_equation, question, "[2, 1, 3]")
    assert not accepts(logical_equation, question, "[3, 0, 1]") and not accepts(logical_equation, question, "[1, 3, 2]")


@pytest.mark.parametrize(("expr", "value"), [("(1#2)#3", "25"), ("1#2#3", "25"), ("1#(2#3)", "41")])
def test_new_operator_left_to_right(expr: str, value: str) -> None:
    data = {"ops": {"#": ["lin", 2, 3]}, "expr": expr}  # a#b = 2a + 3b
    assert new_operator.evaluate_new_ops(data) == value
    assert accepts(new_operator, q(new_operator, data, value), f"{value}.0")


def test_new_operator_fraction_answers() -> None:
    data = {"ops": {"%": ["ratio", 1, 0]}, "expr": "4%3"}  # (a + b) / b
    assert new_operator.evaluate_new_ops(data) == "7/3"
    question = q(new_operator, data, "7/3")
    assert accepts(new_operator, question, "2.33333") and not accepts(new_operator, question, "2.3")


def test_pattern_recognition_largest_square() -> None:
    grid = [list(row) for row in ["ABCDE", "FGXXX", "HIXXX", "JKXXX", "LMNOP"]]
    assert pattern_recognition.find_square({"grid": grid}) == "[3, 4]"
    question = q(pattern_recognition, {"grid": grid}, "[3, 4]")
    assert accepts(pattern_recognition, question, "3, 4") and not accepts(pattern_recognition, question, "[1, 2]")


@pytest.mark.parametrize(("game", "mine", "result", "right", "wrong"), [
    ("stick_game", "A", "win", "B", "C"),   # stick beats tiger; stick vs chicken is a draw
    ("elements", "A", "loss", "B", "C"),    # wood generates fire (lose); wood overcomes earth (win)
    ("animal", "H", "win", "A", "G"),       # the mouse captures the elephant; the cat captures the mouse
])  # fmt: skip
def test_constrained_linear_arrangement_games(game: str, mine: str, result: str, right: str, wrong: str) -> None:
    data = {"game": game, "moves": [mine], "results": [result]}
    question = q(constrained_linear_arrangement, data, right)
    assert accepts(constrained_linear_arrangement, question, right)
    assert not accepts(constrained_linear_arrangement, question, wrong)


def test_letter_logic_diagram_needs_constant_minor_diagonal() -> None:
    data = {"grid": [["a", None, None], [None, None, None], [None, None, "b"]], "letters": ["a", "b", "c"]}
    question = q(letter_logic_diagram, data, "a,b,c\nb,c,a\nc,a,b")
    assert accepts(letter_logic_diagram, question, "a,b,c\nb,c,a\nc,a,b")  # diagonal c, c, c
    assert accepts(letter_logic_diagram, question, "a b c\nb c a\nc a b")
    assert not accepts(letter_logic_diagram, question, "a,c,b\nb,a,c\nc,b,a")  # Latin, but diagonal b, a, c
    assert letter_logic_diagram.solve_letter_grid(data) == "a,b,c\nb,c,a\nc,a,b"


def test_synthesis_decomposition_published_first_question() -> None:
    data = {"initial": {"A": 3, "B": 2}, "methods": [[{"A": 1, "B": 1}, {"X": 1}], [{"A": 3}, {"X": 2}]],
            "order": ["A", "B", "X"], "mode": "once", "full_answer": [1, 0, 0, 2, 0]}
    assert run_methods(data) == [1, 0, 2]
    question = q(synthesis_decomposition, data, "[1, 0, 2]")
    assert accepts(synthesis_decomposition, question, "[1, 0, 2]")
    assert accepts(synthesis_decomposition, question, "[1, 0, 0, 2, 0]")  # the published golds' long form
    assert not accepts(synthesis_decomposition, question, "[0, 0, 3]")


def test_combinatorial_calculation_order_and_value() -> None:
    data = {"numbers": [6, 2, 7], "target": 10}
    question = q(combinatorial_calculation, data, "[6, /, 2, +, 7]")
    for good in ("[6, /, 2, +, 7]", "6/2+7", "(6 ÷ 2) + 7"):
        assert accepts(combinatorial_calculation, question, good), good
    for bad in ("7+6/2", "6*2-7", "62+7", "-6/2+13", "6/2+7+0"):
        assert not accepts(combinatorial_calculation, question, bad), bad
    assert accepts(combinatorial_calculation, question, combinatorial_calculation.find_expression(data))


def test_gsm_hard_template_and_rounding() -> None:
    tank = next(t for t in gsm_hard.TEMPLATES if "leak" in t.text)
    values = {"a": 1000, "r1": 30, "r2": 5}
    assert gsm_hard.run_template(tank.code, values) == 40
    question = q(gsm_hard, {"values": values, "code": tank.code, "exact": "40"}, "40")
    assert accepts(gsm_hard, question, "40.00") and accepts(gsm_hard, question, "$40")
    assert not accepts(gsm_hard, question, "41")
    thirds = q(gsm_hard, {"exact": "1000/3"}, "333.33")
    assert accepts(gsm_hard, thirds, "333.33") and not accepts(gsm_hard, thirds, "333.3")


def _math(module: Any, phrase: str, values: dict[str, Any]) -> tuple[Question, str]:
    template = next(t for t in module.TEMPLATES if phrase in t.text)
    gold = format_gold(run_solution(template.code, values))
    return q(module, {"values": values, "code": template.code}, gold), gold


def test_math_counting_known_values_and_equivalent_forms() -> None:
    assert _math(math_counting, "arrangements of the letters", {"word": "MISSISSIPPI"})[1] == "34650"
    assert _math(math_counting, "no letter ends up", {"n": 4})[1] == "9"
    question, gold = _math(math_counting, "dice are rolled", {"n": 2, "s": 7})
    assert gold == "1/6"
    for good in ("1/6", "\\frac{1}{6}", "2/12", "0.1666667"):
        assert accepts(math_counting, question, good), good
    for bad in ("0.17", "1/7", "6"):
        assert not accepts(math_counting, question, bad), bad
    big = q(math_counting, {}, "1000000")
    assert not accepts(math_counting, big, "1000001")  # counts are exact however large


def test_math_geometry_known_values_and_forms() -> None:
    assert _math(math_geometry, "distance between the points", {"x1": 0, "y1": 0, "x2": 3, "y2": 4})[1] == "5"
    question, _ = _math(math_geometry, "circumference", {"c": 6})  # radius 3: area 9*pi
    for good in ("9pi", "9\\pi", "9π", "28.2743"):
        assert accepts(math_geometry, question, good), good
    assert not accepts(math_geometry, question, "28.3")
    lines, gold = _math(math_geometry, "intersect at one point",
                        {"m1": 1, "b1": 0, "m2": -1, "b2": 2, "line1": "x", "line2": "-x + 2"})
    assert gold == "(1, 1)"
    assert accepts(math_geometry, lines, "(1, 1)") and not accepts(math_geometry, lines, "(1, 2)")


@pytest.mark.parametrize(("data", "answer", "also", "wrong"), [
    ({"kind": "after", "date": "2024-02-28", "n": 2}, "2024-03-01", "March 1, 2024", "2024-02-30"),
    ({"kind": "weekday", "date": "2000-01-01"}, "Saturday", "sat", "Sunday"),
    ({"kind": "between", "date": "2023-01-01", "end": "2024-01-01"}, "365", "365", "366"),
    ({"kind": "age", "date": "2000-02-29", "end": "2001-02-28"}, "0", "0", "1"),
    ({"kind": "age", "date": "2000-02-29", "end": "2001-03-01"}, "1", "1", "0"),
    ({"kind": "nth_weekday", "year": 2024, "month": 1, "weekday": "Monday", "k": 3}, "2024-01-15", "15 January 2024",
     "2024-01-22"),
    ({"kind": "weekday_after", "weekday": "Friday", "n": 10}, "Monday", "Monday", "Tuesday"),
])  # fmt: skip
def test_date_arithmetic_known(data: dict, answer: str, also: str, wrong: str) -> None:
    assert date_arithmetic.solve_date(data) == answer
    question = q(date_arithmetic, data, answer)
    assert accepts(date_arithmetic, question, answer) and accepts(date_arithmetic, question, also)
    assert not accepts(date_arithmetic, question, wrong)


def test_boolean_circuit_evaluate_and_satisfy() -> None:
    gates = [["g1", "AND", ["x1", "x2"]], ["g2", "NOT", ["g1"]]]
    evaluate = {"kind": "evaluate", "gates": gates, "n_inputs": 2, "outputs": ["g2"], "inputs": [1, 1]}
    assert boolean_circuit.solve_circuit(evaluate) == "[0]"
    assert not accepts(boolean_circuit, q(boolean_circuit, evaluate, "[0]"), "[1]")
    satisfy = {"kind": "satisfy", "gates": gates, "n_inputs": 2, "outputs": ["g2"], "target": 1}
    question = q(boolean_circuit, satisfy, "[0, 0]")
    assert all(accepts(boolean_circuit, question, a) for a in ("[0, 0]", "[0, 1]", "[1, 0]"))
    assert not accepts(boolean_circuit, question, "[1, 1]") and not accepts(boolean_circuit, question, "[0, 2]")


def test_knapsack_optimum_and_validation() -> None:
    data = {"weights": [1, 3, 4, 5], "values": [1, 4, 5, 7], "capacity": 7, "best": 9}
    assert knapsack.solve_knapsack(data) == "[2, 3]"
    question = q(knapsack, data, "[2, 3]")
    assert accepts(knapsack, question, "[3, 2]")
    assert not accepts(knapsack, question, "[1, 4]")  # feasible, value 8 < 9
    assert not accepts(knapsack, question, "[3, 4]")  # value 12 but weight 9 > 7
    assert not accepts(knapsack, question, "[2, 3, 3]")


def test_calendar_scheduling_slots() -> None:
    data = {"days": ["Monday"], "work": [540, 1020], "duration": 60,
            "busy": {"Alice": [["Monday", 540, 600]], "Bob": [["Monday", 600, 660]]}, "prefs": {}}
    assert calendar_scheduling.earliest_slot(data) == "Monday, 11:00 - 12:00"
    question = q(calendar_scheduling, data, "Monday, 11:00 - 12:00")
    for good in ("Monday, 13:00 - 14:00", "11:00-12:00", "1:00 pm to 2:00 pm", "Monday, 11:17 - 12:17"):
        assert accepts(calendar_scheduling, question, good), good
    for bad in ("Monday, 10:00 - 11:00", "Monday, 11:00 - 11:30", "Tuesday, 11:00 - 12:00", "Monday, 16:30 - 17:30"):
        assert not accepts(calendar_scheduling, question, bad), bad
