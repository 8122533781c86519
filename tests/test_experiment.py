"""`r1ci experiment` on a tiny random model: every stage runs, the outcomes file holds one line per arm and
question, and the summary is a pure function of that file; the committed CPU results recompute exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1ci.cli import app
from r1ci.pipelines.experiment import (
    load_experiment_config,
    run_experiment,
    select_candidates,
    summarize_outcomes,
    summary_markdown,
)

REPO = Path(__file__).resolve().parents[1]
TINY = [
    "synth_tasks=[number_multiply]",
    "synth.questions_per_task=2",
    "sft.train.grad_accum=2",
    "sft.train.eval_fraction=0.0",
    "pilot.tasks=[number_multiply, count_bits]",
    "pilot.difficulties=[1]",
    "pilot.questions_per_candidate=2",
    "pilot.rollouts=2",
    "pilot.band=[0.0, 1.0]",  # a random model solves nothing: let every candidate qualify
    "pilot.max_tasks=2",
    "pilot.rollout.max_new_tokens=16",
    "rl.grpo.group_size=2",
    "rl.grpo.questions_per_step=1",
    "rl.rollout.max_new_tokens=16",
    "rl.curriculum.steps_per_stage=1",
    "rl.train.max_steps=2",
    "rl.train.save_every=1",
    "eval.questions=4",
    "eval.test_tasks=[]",  # the held-out set is covered by the GPU script's dry run (slow suite, CI)
    "eval.max_new_tokens=16",
    "backend=hf",  # a tiny random model: no vLLM engine starts in the default suite
    "pilot_backend=hf",
    "rl.generation.backend=hf",
    # two RL arms keep this under a minute: uniform (no estimates) and the online curriculum (estimates,
    # stages and re-estimation; the offline arm is the same path without re-estimation)
    "arms=[sft, uniform, curriculum_online]",
    "rl.curriculum.reestimate_every=1",
]


def test_experiment_end_to_end_on_a_tiny_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "exp"
    cfg = load_experiment_config(None, [*TINY, f"out={out}", f"model={tiny_model_dir}"])
    report = run_experiment(cfg)
    for stage in ("synth", "sft", "pilot", "train-uniform", "train-curriculum_online",
                  "eval-sft", "eval-uniform", "eval-curriculum_online"):
        assert (out / stage / "DONE").exists(), stage
    selection = json.loads((out / "pilot" / "selection.json").read_text())
    assert {c["task"] for c in selection["chosen"]} == {"number_multiply", "count_bits"}
    assert selection["pool_questions"] == 4 and selection["estimate_rollouts"] == 8

    rows = [json.loads(line) for line in (out / "outcomes.jsonl").read_text().splitlines()]
    arms = ["sft", "uniform", "curriculum_online"]
    # 4 fresh questions (2 per chosen task) per arm, the same ids for every arm
    assert len(rows) == 3 * 4
    ids = {arm: sorted(r["question_id"] for r in rows if r["arm"] == arm) for arm in arms}
    assert all(v == ids["sft"] for v in ids.values())
    assert {r["reward"] for r in rows} <= {0, 1}
    assert {r["eval_set"] for r in rows} == {"fresh"}
    # fresh questions are none of the SFT or pilot prompts
    fresh = {r["question_id"] for r in rows if r["eval_set"] == "fresh"}
    pool = {json.loads(line)["id"] for line in (out / "pilot" / "estimates.jsonl").read_text().splitlines()}
    assert not fresh & pool

    summary = json.loads((out / "summary.json").read_text())
    recomputed = summarize_outcomes(rows)
    assert summary["arms"] == recomputed["arms"] and summary["vs_baseline"] == recomputed["vs_baseline"]
    md = report.read_text()
    assert summary_markdown(recomputed) in md
    assert "](plots/reward_curves.png)" in md and (out / "plots" / "reward_curves.png").exists()
    steps = [json.loads(line) for line in (out / "train-curriculum_online" / "metrics.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in steps if "reward" in r] == [1, 2]  # the stage boundary the plot marks
    assert summary["vs_uniform"]["curriculum_online"]["fresh"]["questions"] == 4

    # --resume after completion redoes nothing and rewrites the same outcomes
    before = (out / "outcomes.jsonl").read_text()
    run_experiment(cfg, resume=True)
    assert (out / "outcomes.jsonl").read_text() == before
    with pytest.raises(FileExistsError, match="--resume"):
        run_experiment(cfg)
    # a resume may drop (or add) an arm; any other change is refused
    fewer = load_experiment_config(None, [*TINY, f"out={out}", f"model={tiny_model_dir}", "arms=[sft, uniform]"])
    run_experiment(fewer, resume=True)
    assert {json.loads(line)["arm"] for line in (out / "outcomes.jsonl").read_text().splitlines()} == {"sft", "uniform"}
    from r1ci.config import ConfigError

    with pytest.raises(ConfigError, match=r"eval\.seed"):
        run_experiment(load_experiment_config(None, [*TINY, f"out={out}", f"model={tiny_model_dir}", "eval.seed=7"]),
                       resume=True)


def test_select_candidates_keeps_the_mid_range() -> None:
    cfg = load_experiment_config(None, ["pilot.band=[0.2, 0.8]", "pilot.max_tasks=2"])
    rates = {("a", 1): [0.0, 0.0, 0.25], ("a", 2): [0.5, 0.5, 0.75], ("b", 1): [1.0, 1.0, 1.0],
             ("c", 1): [0.25, 0.5, 0.25], ("d", None): [0.0, 1.0, 0.5]}
    sel = select_candidates(rates, cfg.pilot)
    # a d=1 (mean 0.08) and b (1.0) are out of band; a d=2 has more potential than c; d: 0.5 but p(1-p) 1/12
    assert sel["chosen"] == [{"task": "a", "difficulty": 2}, {"task": "c", "difficulty": 1}]
    with pytest.raises(RuntimeError, match="no candidate"):
        select_candidates({("b", 1): [1.0]}, cfg.pilot)


def test_summary_by_hand() -> None:
    rows = [{"arm": "sft", "question_id": f"q{i}", "task": "t", "reward": int(i < 3)} for i in range(10)]
    rows += [{"arm": "uniform", "question_id": f"q{i}", "task": "t", "reward": int(i < 7)} for i in range(10)]
    s = summarize_outcomes(rows)
    assert s["arms"]["sft"]["fresh"]["accuracy"] == 0.3
    assert s["arms"]["uniform"]["fresh"]["ci"] == pytest.approx([0.3968, 0.8922], abs=1e-4)  # Wilson 7/10
    d = s["vs_baseline"]["uniform"]["fresh"]
    assert d["delta"] == pytest.approx(0.4) and (d["a_better"], d["b_better"]) == (0, 4)
    assert d["p_value"] == pytest.approx(0.125)  # exact McNemar, b=0, c=4: 2 / 2**4


def test_experiment_cli_rejects_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["experiment", "--out", str(tmp_path / "x"), "-o", "arms=[sft, bogus]"])
    assert res.exit_code == 2 and "unknown arm" in res.output
    res = runner.invoke(app, ["experiment", "--out", str(tmp_path / "x"), "-o", "rl.optim.lrr=1"])
    assert res.exit_code == 2 and "lrr" in res.output


def test_shipped_config_validates() -> None:
    cfg = load_experiment_config(REPO / "configs" / "experiment_cpu.yaml")
    assert cfg.eval.questions >= 300 and "sft" in cfg.arms


COMMITTED = sorted((REPO / "docs" / "results").glob("learning_cpu*_outcomes.jsonl"))


@pytest.mark.parametrize("outcomes", COMMITTED, ids=lambda p: p.name)
def test_committed_summary_matches_the_outcomes_file(outcomes: Path) -> None:
    rows = [json.loads(line) for line in outcomes.read_text().splitlines() if line.strip()]
    assert {"arm", "question_id", "task", "reward"} <= set(rows[0])
    table = summary_markdown(summarize_outcomes(rows))
    assert table in (REPO / "docs" / "results.md").read_text(), f"docs/results.md disagrees with {outcomes.name}"
