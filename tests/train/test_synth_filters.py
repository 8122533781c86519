"""Synthesis filters on hand-made trajectories: every reject reason, caps, the code/text mix, the split guard."""

from __future__ import annotations

import pytest
from sft_helpers import make_traj

from r1ci.train.synth import (
    KEPT,
    REASONS,
    SynthConfig,
    SynthFilters,
    TokenCounter,
    apply_filters,
    compute_stats,
    final_code_turn_failed,
    resolve_tasks,
)

TRACEBACK = ("\nCode Execution Results:\n```output\nTraceback (most recent call last):\n  File \"<string>\", line 1\n"
             "ZeroDivisionError: division by zero\n```\n")
OK_OUTPUT = "\nCode Execution Results:\n```output\n42\n```\n"
CODE = "```python\nprint(6 * 7)\n```"


def _text_only(qid: str, task: str = "toy") -> object:
    return make_traj(qid, task=task, model_turns=("6 times 7 is 42. <<<42>>>",), outputs=())


def test_each_reject_reason_on_hand_made_trajectories() -> None:
    counter = TokenCounter("default")
    cases = {
        "kept": make_traj("t/0/0"),
        "wrong": make_traj("t/0/1", reward=0.0),
        "unfinished": make_traj("t/0/2", stop_reason="length"),
        "too_few_code_turns": _text_only("t/0/3"),
        "too_many_code_turns": make_traj("t/0/4", model_turns=(CODE, CODE, CODE, "<<<42>>>"),
                                         outputs=(OK_OUTPUT, OK_OUTPUT, OK_OUTPUT)),
        "final_exec_error": make_traj("t/0/5", model_turns=(CODE, "I guess <<<42>>>"), outputs=(TRACEBACK,),
                                      exec_errors=1),
        "too_long": make_traj("t/0/6", model_turns=("word " * 600 + CODE, "<<<42>>>")),
        "duplicate": make_traj("t/0/0", sample_index=1,  # same question, same text up to case/space
                               model_turns=("LET ME   compute it.\n```python\nprint(6 * 7)\n```",
                                            "It printed 42, so <<<42>>>")),
    }
    filters = SynthFilters(min_code_turns=1, max_code_turns=2, max_tokens=400)
    result = apply_filters(list(cases.values()), filters, counter)
    assert result.reasons == list(cases)
    assert set(result.reasons) - {KEPT} <= set(REASONS)
    # each filter is a setting: switched off, the same trajectory passes
    loose = SynthFilters(min_reward=0.0, require_finished=False, min_code_turns=0, max_code_turns=5,
                         reject_final_exec_error=False, max_tokens=None, dedup=False)
    assert apply_filters(list(cases.values()), loose, counter).reasons == [KEPT] * len(cases)


def test_final_exec_error_looks_only_at_the_last_code_turn() -> None:
    recovered = make_traj("t/1/0", model_turns=(CODE, CODE, "<<<42>>>"), outputs=(TRACEBACK, OK_OUTPUT),
                          exec_errors=1)
    failed_last = make_traj("t/1/1", model_turns=(CODE, CODE, "<<<42>>>"), outputs=(OK_OUTPUT, TRACEBACK),
                            exec_errors=1)
    timeout = make_traj("t/1/2", model_turns=(CODE, "<<<42>>>"), exec_errors=1, outputs=(
        "\nCode Execution Results:\n```output\nTimeoutError: the code ran longer than the time limit and was stopped.\n```\n",))
    # printed text that merely mentions an error does not count when no execution failed
    chatty = make_traj("t/1/3", model_turns=(CODE, "<<<42>>>"),
                       outputs=("\nCode Execution Results:\n```output\nValueError: is what we check for\n```\n",))
    assert [final_code_turn_failed(t) for t in (recovered, failed_last, timeout, chatty)] == [False, True, True, False]


def test_task_cap_spreads_over_questions_and_mix_balances_code_use() -> None:
    counter = TokenCounter("default")
    # task a: 3 questions x 2 samples (distinct texts); task b: 1 question
    trajs = [make_traj(f"a/0/{q}", task="a", sample_index=s, model_turns=(f"Variant {s}.\n{CODE}", "<<<42>>>"))
             for q in range(3) for s in range(2)]
    trajs.append(make_traj("b/0/0", task="b"))
    capped = apply_filters(trajs, SynthFilters(max_per_task=3), counter).reasons
    kept_a = [t for t, r in zip(trajs, capped, strict=True) if r == KEPT and t.task == "a"]
    assert len(kept_a) == 3 and {t.question_id for t in kept_a} == {"a/0/0", "a/0/1", "a/0/2"}
    assert capped.count("task_cap") == 3 and capped[-1] == KEPT

    mixed = trajs + [_text_only(f"c/0/{i}", task="c") for i in range(2)]  # 7 code-using, 2 text-only
    result = apply_filters(mixed, SynthFilters(code_fraction=0.5), counter)
    kept = [t for t, r in zip(mixed, result.reasons, strict=True) if r == KEPT]
    assert sum(t.num_code_turns > 0 for t in kept) == 2 and sum(t.num_code_turns == 0 for t in kept) == 2
    assert result.reasons.count("mix") == 5
    assert any(t.task == "b" for t in kept)  # drops come from the task holding most code answers first
    all_code = apply_filters(trajs, SynthFilters(code_fraction=0.5), counter)
    assert all_code.reasons.count(KEPT) == len(trajs) and "no text-only" in all_code.notes[0]

    stats = compute_stats(mixed, result.reasons)
    assert stats["kept"] == 4 and stats["rejected"] == {"mix": 5}
    assert stats["per_task"]["a"]["generated"] == 6 and stats["kept_code_use_rate"] == 0.5


def test_synthesis_refuses_the_test_split_and_test_tasks() -> None:
    from r1ci import tasks

    with pytest.raises(ValueError, match="training split only"):
        SynthConfig(split="test")
    test_task = tasks.names(split="test")[0]
    with pytest.raises(ValueError, match="held-out test task"):
        resolve_tasks(SynthConfig(tasks=f"gcd,{test_task}"))
    chosen = resolve_tasks(SynthConfig())  # scripted default: training tasks with a reference program
    assert chosen and all(tasks.split_of(n) == "train" and tasks.get(n).reference_program for n in chosen)
