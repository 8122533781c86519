"""Metrics on hand-made records, checked against numbers worked out by hand (see conftest.sample_records)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from r1ci.eval.metrics import compute_metrics, pass_at_k, self_checked, summarize

CODE = "```python\nprint(6 * 7)\n```\n"
OUTPUT = "Code Execution Results:\n```output\n42\n```\n"


def test_overall_numbers_match_hand_computation(records: list[dict[str, Any]]) -> None:
    m = compute_metrics(records)
    assert m["samples"] == 5 and m["questions"] == 5 and m["tasks"] == 3
    assert m["accuracy"] == pytest.approx(2.5 / 5)
    assert m["macro_accuracy"] == pytest.approx((0.5 + 0.0 + 0.75) / 3)
    assert m["code_use_rate"] == pytest.approx(3 / 5)
    assert m["mean_code_turns"] == pytest.approx(4 / 5)
    assert m["exec_error_rate"] == pytest.approx(3 / 4)  # 3 failed runs out of 4 executions
    assert m["self_check_rate"] == pytest.approx(1 / 5)
    assert m["answer_rate"] == pytest.approx(4 / 5)
    assert m["mean_completion_tokens"] == pytest.approx(100 / 5)
    assert m["stop_reasons"] == {"answer": 3, "eos": 1, "max_turns": 1}
    assert m["samples_per_question"] == 1
    assert "pass_at_k" not in m  # one sample per question: pass@k would just repeat accuracy


def test_per_task_and_per_source(records: list[dict[str, Any]]) -> None:
    m = compute_metrics(records)
    assert list(m["per_task"]) == ["alpha", "beta", "gamma"]
    alpha, beta, gamma = (m["per_task"][t] for t in ("alpha", "beta", "gamma"))
    assert (alpha["accuracy"], beta["accuracy"], gamma["accuracy"]) == (0.5, 0.0, 0.75)
    assert alpha["source"] == "symbench" and gamma["source"] == "bbh"
    assert beta["mean_code_turns"] == 2 and beta["exec_error_rate"] == 1.0
    assert gamma["exec_error_rate"] is None  # no code ran: a rate would be 0/0
    assert alpha["self_check_rate"] == 0.5
    sym, bbh = m["per_source"]["symbench"], m["per_source"]["bbh"]
    assert sym["tasks"] == 2 and sym["samples"] == 3
    assert sym["macro_accuracy"] == pytest.approx(0.25)  # mean of alpha 0.5 and beta 0.0
    assert sym["accuracy"] == pytest.approx(1 / 3)  # micro: 1 of 3 samples
    assert bbh["macro_accuracy"] == pytest.approx(0.75) and bbh["mean_completion_tokens"] == 5.0


def test_self_check_needs_an_answer_in_prose_before_the_executed_block() -> None:
    def rec(*segs: tuple[str, str]) -> dict[str, Any]:
        return {"segments": [{"kind": k, "text": t} for k, t in segs]}

    assert self_checked(rec(("model", "<<<42>>>\n" + CODE), ("interpreter", OUTPUT)))
    # Answer written in an earlier turn, code run in a later one.
    assert self_checked(rec(("model", "x\n" + CODE), ("interpreter", OUTPUT), ("model", "<<<1>>> verify\n" + CODE),
                            ("interpreter", OUTPUT)))
    # An answer inside the code itself is a print, not a candidate.
    assert not self_checked(rec(("model", '```python\nprint("<<<42>>>")\n```\n'), ("interpreter", OUTPUT)))
    # Answer after the last execution: ordinary code-then-answer.
    assert not self_checked(rec(("model", CODE), ("interpreter", OUTPUT), ("model", "<<<42>>>")))
    # Interpreter output containing <<<...>>> is no model text.
    assert not self_checked(rec(("model", CODE), ("interpreter", "<<<42>>>"), ("model", CODE),
                                ("interpreter", OUTPUT)))


def test_pass_at_k_estimator() -> None:
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(4, 2))  # 0.5
    assert pass_at_k(4, 0, 2) == 0.0
    assert pass_at_k(4, 3, 2) == 1.0  # fewer wrong samples than k: some draw must hit
    assert pass_at_k(1, 1, 3) == 1.0  # incomplete question: any correct
    with pytest.raises(ValueError):
        pass_at_k(0, 0, 1)


def test_pass_at_k_with_several_samples(record_factory: Any) -> None:
    recs = [
        record_factory("t", 0, 1.0, [("model", "<<<1>>>")], sample=0),
        record_factory("t", 0, 0.0, [("model", "<<<2>>>")], sample=1),
        record_factory("t", 1, 0.0, [("model", "<<<2>>>")], sample=0),
        record_factory("t", 1, 0.0, [("model", "<<<2>>>")], sample=1),
    ]
    m = compute_metrics(recs)
    assert m["samples_per_question"] == 2 and m["questions"] == 2
    assert m["pass_at_1"] == pytest.approx(0.25)
    assert m["pass_at_k"] == pytest.approx(0.5)  # question 0 solved by one of its 2 samples, question 1 never
    assert m["per_task"]["t"]["pass_at_k"] == pytest.approx(0.5)


def test_duplicates_count_once_and_partial_rewards_are_not_correct(record_factory: Any) -> None:
    a = record_factory("t", 0, 1.0, [("model", "<<<1>>>")])
    dup = record_factory("t", 0, 0.0, [("model", "<<<9>>>")])  # same (question_id, sample_index)
    m = compute_metrics([a, dup])
    assert m["samples"] == 1 and m["accuracy"] == 1.0
    s = summarize([record_factory("t", 0, 0.5, [("model", "<<<1>>>")], sample=i) for i in range(2)], k=2)
    assert s["pass_at_1"] == 0.5 and s["pass_at_k"] == 0.0


def test_missing_source_falls_back_to_unknown_and_empty_input_raises(record_factory: Any) -> None:
    rec = record_factory("no_such_task_xyz", 0, 1.0, [("model", "<<<1>>>")])
    del rec["metadata"]["source"]
    assert compute_metrics([rec])["per_task"]["no_such_task_xyz"]["source"] == "unknown"
    with pytest.raises(ValueError, match="no trajectory records"):
        compute_metrics([])
    with pytest.raises(TypeError, match="trajectory record"):
        compute_metrics([42])
