"""Interval machinery against hand-computed values (Wilson, exact McNemar) and bootstrap properties."""

from __future__ import annotations

import math

import pytest

from r1ci.eval.stats import (
    bootstrap_macro_interval,
    mcnemar_exact,
    paired_difference,
    question_outcomes,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (7, 10, 0.3968, 0.8922),  # textbook example
        (0, 10, 0.0, 0.2775),  # upper end z²/(n + z²) = 3.8415 / 13.8415
        (10, 10, 0.7225, 1.0),
        (1, 2, 0.0945, 0.9055),
        (50, 100, 0.4038, 0.5962),
        (2.5, 5, 0.1704, 0.8296),  # fractional successes (partial rewards) enter as their sum
    ],
)
def test_wilson_interval_matches_hand_computation(k: float, n: int, lo: float, hi: float) -> None:
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=5e-5)


def test_wilson_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match=r"\[0, n\]"):
        wilson_interval(11, 10)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (1, 6, 0.125),  # 2 * (1 + 7) / 2**7
        (6, 1, 0.125),  # symmetric
        (0, 5, 0.0625),  # 2 / 2**5
        (2, 8, 0.109375),  # 2 * (1 + 10 + 45) / 2**10
        (0, 10, 0.001953125),
        (3, 3, 1.0),
        (0, 0, 1.0),  # no discordant question: no evidence either way
    ],
)
def test_mcnemar_exact_matches_binomial_tail(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-12)


def test_bootstrap_is_seeded_and_close_to_wilson_for_a_large_sample() -> None:
    values = {"t": [1.0] * 200 + [0.0] * 200}
    first = bootstrap_macro_interval(values, seed=0)
    assert bootstrap_macro_interval(values, seed=0) == first  # reproducible
    assert bootstrap_macro_interval(values, seed=1) != first
    w = wilson_interval(200, 400)
    assert first[0] == pytest.approx(w[0], abs=0.01) and first[1] == pytest.approx(w[1], abs=0.01)


def test_bootstrap_macro_keeps_tasks_fixed() -> None:
    # Each task is constant, so resampling questions within tasks cannot move the macro mean.
    assert bootstrap_macro_interval({"a": [1.0] * 5, "b": [0.0] * 3}) == (0.5, 0.5)
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_macro_interval({"a": []})


def _outcomes(task: str, rewards: list[float]) -> dict[str, tuple[str, float]]:
    return {f"{task}/{i}": (task, r) for i, r in enumerate(rewards)}


def test_paired_difference_detects_a_clear_gain() -> None:
    a = _outcomes("t", [0.0] * 20)
    b = _outcomes("t", [1.0] * 12 + [0.0] * 8)
    d = paired_difference(a, b)
    assert (d.questions, d.a, d.b, d.delta) == (20, 0.0, 0.6, pytest.approx(0.6))
    assert (d.a_better, d.b_better) == (0, 12)
    assert d.p_value == pytest.approx(2 / 2**12)
    assert d.significant and 0.35 < d.ci[0] < 0.6 < d.ci[1] < 0.85
    assert d.verdict().startswith("gain outside the noise (+60.0 pp")


def test_paired_difference_says_when_it_is_noise() -> None:
    a = _outcomes("t", [1.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    b = _outcomes("t", [0.0, 1.0, 1.0, 0.0, 1.0, 1.0])  # one question each way
    d = paired_difference(a, b)
    assert d.delta == 0.0 and (d.a_better, d.b_better) == (1, 1) and d.p_value == 1.0
    assert d.ci[0] < 0.0 < d.ci[1] and not d.significant
    assert d.verdict().startswith("inside the noise")


def test_paired_difference_uses_only_shared_questions_and_macro_per_task() -> None:
    a = {**_outcomes("x", [0.0, 0.0]), **_outcomes("y", [1.0, 1.0, 1.0, 1.0]), "x/only_a": ("x", 1.0)}
    b = {**_outcomes("x", [1.0, 1.0]), **_outcomes("y", [1.0, 1.0, 1.0, 1.0]), "y/only_b": ("y", 0.0)}
    d = paired_difference(a, b)
    assert d.questions == 6
    assert d.delta == pytest.approx(2 / 6)  # micro: 2 of 6 shared questions flip
    assert d.macro_delta == pytest.approx(0.5)  # macro: x +100 pp, y +0 pp
    assert d.macro_ci == (0.5, 0.5)  # every task's difference is constant
    with pytest.raises(ValueError, match="share no question"):
        paired_difference(_outcomes("x", [1.0]), _outcomes("y", [1.0]))


def test_question_outcomes_average_samples() -> None:
    recs = [{"question_id": "q1", "task": "t", "reward": 1.0}, {"question_id": "q1", "task": "t", "reward": 0.0},
            {"question_id": "q2", "task": "t", "reward": None}]
    assert question_outcomes(recs) == {"q1": ("t", 0.5), "q2": ("t", 0.0)}
    assert math.isclose(sum(v for _, v in question_outcomes(recs).values()), 0.5)
