"""Curriculum pieces on hand-computed numbers: potentials, stage cuts, the sampler and its state."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from r1ci.tasks.base import Question
from r1ci.train.curriculum import (
    CurriculumConfig,
    CurriculumSampler,
    QuestionEstimate,
    make_stages,
    potential,
    read_estimates,
    write_estimates,
)
from r1ci.train.estimate import split_rollouts, success

# pass rates chosen so the variance ranking is unambiguous except for two explicit ties
RATES = {"q0": 0.0, "q1": 1.0, "q2": 0.5, "q3": 0.25, "q4": 0.75, "q5": 0.1, "q6": 0.9, "q7": 0.4}


def _questions(ids: list[str]) -> list[Question]:
    return [Question(id=i, task="toy", prompt=f"question {i}", answer="1") for i in ids]


def test_potential_formulas() -> None:
    assert potential(0.5) == 0.25
    assert potential(0.25) == pytest.approx(0.1875)
    assert potential(0.0) == 0.0 and potential(1.0) == 0.0
    assert potential(0.25, "std") == pytest.approx(math.sqrt(0.1875))
    assert potential(0.5, "entropy") == pytest.approx(1.0)
    assert potential(0.5, "signal", group_size=4) == pytest.approx(1 - 2 / 16)
    assert potential(1.0, "signal", group_size=4) == 0.0
    with pytest.raises(ValueError, match="unknown potential"):
        potential(0.5, "gini")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        potential(1.5)


def test_quantile_stages_highest_potential_first() -> None:
    st = make_stages(RATES, 4)
    # variances: q2 .25, q7 .24, q3=q4 .1875, q5=q6 .09, q0=q1 0 (ties broken by id)
    assert st.groups == [["q2", "q7"], ["q3", "q4"], ["q5", "q6"], ["q0", "q1"]]
    assert st.pool(1) == ["q2", "q7", "q3", "q4"]
    assert len(st.pool(3)) == 8
    assert st.potentials["q7"] == pytest.approx(0.24)


def test_threshold_stages_and_drop_zero() -> None:
    st = make_stages(RATES, 4, thresholds=[0.245, 0.2, 0.05])
    assert st.groups == [["q2"], ["q7"], ["q3", "q4", "q5", "q6"], ["q0", "q1"]]
    dropped = make_stages(RATES, 2, drop_zero=True)
    assert dropped.groups == [["q2", "q7", "q3"], ["q4", "q5", "q6"]]
    frac = make_stages(RATES, 2, fractions=[0.25, 1.0])
    assert frac.groups[0] == ["q2", "q7"] and len(frac.groups[1]) == 6
    with pytest.raises(ValueError, match="descending"):
        make_stages(RATES, 4, thresholds=[0.1, 0.2, 0.0])
    with pytest.raises(ValueError, match=r"ending at 1\.0"):
        make_stages(RATES, 2, fractions=[0.5, 0.9])


def test_estimates_round_trip_and_last_record_wins(tmp_path: Path) -> None:
    qs = _questions(["a", "b"])
    ests = [QuestionEstimate(qs[0], 4, 1.0, "symbench", {"free": [4, 1.0]}),
            QuestionEstimate(qs[1], 4, 4.0, "bbh")]
    path = tmp_path / "est.jsonl"
    write_estimates(path, ests)
    write_estimates(path, [QuestionEstimate(qs[0], 8, 4.0, "symbench")], append=True)
    with path.open("a") as f:
        f.write('{"id": "torn')  # a killed writer's last line
    back = {e.id: e for e in read_estimates(path)}
    assert back["a"].pass_rate == 0.5 and back["a"].n == 8
    assert back["b"].pass_rate == 1.0 and back["b"].question.prompt == "question b"
    row = json.loads(path.read_text().splitlines()[0])
    assert row["pass_rate"] == 0.25 and row["by_mode"] == {"free": [4, 1.0]}
    with pytest.raises(FileNotFoundError, match="curriculum estimate"):
        read_estimates(tmp_path / "missing.jsonl")


def test_success_scales_the_training_reward_to_unit_range() -> None:
    assert success(1.0, True) == 1.0 and success(0.0, True) == 0.0  # no format term: the verifier
    assert success(0.0, True, 0.5) == pytest.approx(1 / 3)
    assert success(1.0, True, 0.5) == 1.0 and success(1.0, False, 0.5) == pytest.approx(2 / 3)


def test_split_rollouts_over_modes() -> None:
    assert split_rollouts(8, ["free", "text", "code"]) == {"free": 3, "text": 3, "code": 2}
    assert split_rollouts(2, ["free", "text", "code"]) == {"free": 1, "text": 1}


def test_sampler_walks_stages_by_steps() -> None:
    cfg = CurriculumConfig(estimates="x", num_stages=4, steps_per_stage=2)
    s = CurriculumSampler(_questions(list(RATES)), cfg, pass_rates=RATES, seed=3)
    first = {q.id for q in s.next_questions(2)}
    assert first == {"q2", "q7"}  # stage 1 pool, without replacement within an epoch
    assert not s.end_step(1, 0.5)
    assert s.end_step(2, 0.5) and s.stage == 1
    drawn = {q.id for q in s.next_questions(4)}
    assert drawn == {"q2", "q7", "q3", "q4"}
    for step in (3, 4, 5, 6, 7, 8):
        s.end_step(step, 0.5)
    assert s.stage == 3  # the last stage is final
    assert set(s.pool()) == set(RATES)


def test_uniform_sampler_has_one_stage_and_covers_pool() -> None:
    s = CurriculumSampler(_questions(list(RATES)), CurriculumConfig(), seed=0)
    assert s.num_stages == 1
    assert {q.id for q in s.next_questions(8)} == set(RATES)
    assert not any(s.end_step(i, 1.0) for i in range(1, 20))


def test_plateau_switch() -> None:
    cfg = CurriculumConfig(estimates="x", num_stages=2, switch="plateau", min_steps_per_stage=4,
                           plateau_window=2, plateau_patience=2, plateau_min_delta=0.01)
    s = CurriculumSampler(_questions(list(RATES)), cfg, pass_rates=RATES)
    rewards = [0.1, 0.2, 0.3, 0.4, 0.4, 0.4, 0.4]
    # windows of 2: step2 .15 best, 3 .25 best, 4 .35 best, 5 .4 best, 6 .4 (1), 7 .4 (2) -> advance at 7
    advanced_at = [step for step, r in enumerate(rewards, 1) if s.end_step(step, r)]
    assert advanced_at == [7]


def test_online_reestimation_moves_questions_between_stages() -> None:
    cfg = CurriculumConfig(estimates="x", num_stages=4, steps_per_stage=1000, online=True,
                           ema_alpha=1.0, reestimate_every=1)
    s = CurriculumSampler(_questions(list(RATES)), cfg, pass_rates=RATES)
    assert s.stages.groups[0] == ["q2", "q7"]
    s.observe("q2", [1.0, 1.0, 1.0, 1.0])  # q2 is now solved every time: potential 0
    s.observe("q0", [1.0, 0.0, 1.0, 0.0])  # q0 now sits at p = .5: top potential
    s.end_step(1, 0.5)
    assert s.stages.groups[0] == ["q0", "q7"]
    assert "q2" in s.stages.groups[3]
    off = CurriculumSampler(_questions(list(RATES)), cfg.model_copy(update={"online": False}), pass_rates=RATES)
    off.observe("q2", [1.0])
    assert off.pass_rates["q2"] == 0.5


def test_online_reestimation_also_reranks_at_a_stage_boundary() -> None:
    # reestimate_every divides steps_per_stage: every scheduled re-rank falls on a boundary
    cfg = CurriculumConfig(estimates="x", num_stages=3, steps_per_stage=3, online=True, ema_alpha=1.0,
                           reestimate_every=3)
    s = CurriculumSampler(_questions(list(RATES)), cfg, pass_rates=RATES)
    offline = CurriculumSampler(_questions(list(RATES)), cfg.model_copy(update={"online": False}), pass_rates=RATES)
    joining = list(s.stages.groups[1])
    for q in joining:
        s.observe(q, [1.0, 1.0])  # the questions due to join in stage 2 are now solved: potential 0
    assert not s.end_step(1, 0.5) and not s.end_step(2, 0.5)
    assert s.end_step(3, 0.5) and s.stage == 1 and s.version == 1
    assert not set(s.stages.groups[1]) & set(joining)  # stage 2 adds the re-ranked next questions
    for step in (1, 2, 3):
        offline.end_step(step, 0.5)
    assert offline.stage == 1 and offline.version == 0 and offline.stages.groups[1] == joining


def test_sampler_state_round_trip_continues_identically() -> None:
    cfg = CurriculumConfig(estimates="x", num_stages=2, steps_per_stage=3, online=True, reestimate_every=2)
    qs = _questions(list(RATES))
    a = CurriculumSampler(qs, cfg, pass_rates=RATES, seed=7)
    for step in range(1, 5):
        for q in a.next_questions(3):
            a.observe(q.id, [1.0, 0.0])
        a.end_step(step, 0.1 * step)
    state = json.loads(json.dumps(a.state_dict()))  # it is what goes into extra_state.json
    b = CurriculumSampler(qs, cfg, pass_rates=RATES, seed=7)
    b.load_state_dict(state)
    assert b.stage == a.stage == 1
    assert [q.id for q in b.next_questions(10)] == [q.id for q in a.next_questions(10)]
    assert b.pass_rates == a.pass_rates


def test_config_rejects_unknown_potential_and_both_cuts() -> None:
    with pytest.raises(ValueError, match="unknown potential"):
        CurriculumConfig(potential="nope")
    with pytest.raises(ValueError, match="not both"):
        CurriculumConfig(fractions=[0.5, 1.0], thresholds=[0.1])


def test_report_tables_and_files(tmp_path: Path) -> None:
    from rich.console import Console

    from r1ci.train.curriculum_report import curriculum_report

    qs = _questions(list(RATES))
    ests = [QuestionEstimate(Question(q.id, "toy_a" if i % 2 else "toy_b", q.prompt, "1"), 4,
                             RATES[q.id] * 4, "symbench") for i, q in enumerate(qs)]
    path = tmp_path / "est.jsonl"
    write_estimates(path, ests)
    con = Console(record=True, width=140)
    summary = curriculum_report(path, out_dir=tmp_path / "rep", num_stages=4, console=con)
    assert [r["questions"] for r in summary["stages"]] == [2, 2, 2, 2]
    assert summary["stages"][0]["potential_max"] == pytest.approx(0.25)
    assert summary["stages"][3]["potential_max"] == 0.0
    by_task = {r["task"]: r for r in summary["tasks"]}
    # toy_b holds q0 q2 q4 q6 -> stages 4, 1, 2, 3
    assert by_task["toy_b"]["per_stage"] == [1, 1, 1, 1]
    assert by_task["toy_a"]["pass_rate_mean"] == pytest.approx((1.0 + 0.25 + 0.1 + 0.4) / 4)
    text = con.export_text()
    assert "Curriculum stages" in text and "toy_a" in text
    assert (tmp_path / "rep" / "potentials.png").read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64" in (tmp_path / "rep" / "report.html").read_text()
    assert json.loads((tmp_path / "rep" / "summary.json").read_text())["questions"] == 8
