"""Pass-rate estimation through the real rollout engine with a scripted backend, resume, and the CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1ci.cli import app
from r1ci.rollout.backends.scripted import ScriptedBackend
from r1ci.rollout.protocol import RolloutConfig
from r1ci.tasks import get
from r1ci.train.curriculum import make_stages, read_estimates
from r1ci.train.estimate import CODE_FIRST_HINT, estimate_pass_rates, mode_config


def test_estimate_counts_rewards_per_question_and_resumes(tmp_path: Path) -> None:
    qs = get("number_multiply").questions(4, seed=0, difficulty=1)
    gold = {q.prompt: q.answer for q in qs}
    order = list(gold)
    calls: Counter[str] = Counter()

    def script(prompt: str, so_far: str, turn: int) -> str:
        calls[prompt] += 1
        i = order.index(prompt)
        right = i == 0 or (i == 1 and calls[prompt] % 2 == 0) or (i == 3 and calls[prompt] % 4 == 1)
        return f"The product is <<<{gold[prompt] if right else '7'}>>>"

    backend = ScriptedBackend(script, tokenizer=None)
    out = tmp_path / "est.jsonl"
    cfg = RolloutConfig(mode="text")
    ests = estimate_pass_rates(backend, qs[:3], rollouts=4, rollout_cfg=cfg, modes=["text"], out=out,
                               progress=False, chunk_size=2)
    assert [e.pass_rate for e in ests] == [1.0, 0.5, 0.0]
    assert ests[1].by_mode == {"text": [4, 2.0]} and ests[0].source == "symbench"
    assert len(out.read_text().splitlines()) == 3  # two chunks appended

    calls.clear()
    again = estimate_pass_rates(backend, qs, rollouts=4, rollout_cfg=cfg, modes=["text"], out=out, progress=False)
    assert set(calls) == {order[3]}  # only the new question was rolled out
    assert [e.pass_rate for e in again] == [1.0, 0.5, 0.0, 0.25]
    stages = make_stages(read_estimates(out), 2)
    assert stages.groups == [[qs[1].id, qs[3].id], sorted([qs[0].id, qs[2].id])]


def test_estimate_starts_one_sandbox_for_all_chunks_and_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    """It used to start a fresh fork server for every chunk x mode; now one serves the whole estimate."""
    import r1ci.sandbox

    started: list[str] = []
    closed: list[str] = []

    class CountingExecutor:
        def close(self) -> None:
            closed.append("x")

    def fake_get_executor(spec: str = "local", **_: object) -> CountingExecutor:
        started.append(spec)
        return CountingExecutor()

    monkeypatch.setattr(r1ci.sandbox, "get_executor", fake_get_executor)
    qs = get("number_multiply").questions(3, seed=0, difficulty=1)
    backend = ScriptedBackend(lambda prompt, so_far, turn: "<<<1>>>", tokenizer=None)
    ests = estimate_pass_rates(backend, qs, rollouts=4, rollout_cfg=RolloutConfig(mode="ci"),
                               modes=["free", "code"], progress=False, chunk_size=1)
    assert [e.n for e in ests] == [4, 4, 4]
    assert started == ["local"] and closed == ["x"]  # 3 chunks x 2 modes, one sandbox


def test_code_first_mode_appends_hint() -> None:
    base = RolloutConfig(mode="text")
    code = mode_config(base, "code")
    assert code.mode == "ci" and code.system_prompt is not None and code.system_prompt.endswith(CODE_FIRST_HINT)
    assert mode_config(base, "free").mode == "ci" and mode_config(base, "free").system_prompt is None
    assert mode_config(RolloutConfig(), "text").mode == "text"


def test_cli_report_writes_html(tmp_path: Path) -> None:
    from r1ci.tasks.base import Question
    from r1ci.train.curriculum import QuestionEstimate, write_estimates

    ests = [QuestionEstimate(Question(f"t/{i}", "letters", "p", "a"), 4, float(i % 5), "symbench") for i in range(8)]
    path = tmp_path / "est.jsonl"
    write_estimates(path, ests)
    res = CliRunner().invoke(app, ["rl", "curriculum", "report", str(path), "--out", str(tmp_path / "rep"),
                                   "--stages", "2"])
    assert res.exit_code == 0, res.output
    assert "letters" in res.output
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert [s["questions"] for s in summary["stages"]] == [4, 4]
    bad = CliRunner().invoke(app, ["rl", "curriculum", "report", str(tmp_path / "nope.jsonl")])
    assert bad.exit_code == 2 and "curriculum estimate" in bad.output


def test_cli_estimate_writes_estimates_meta_and_report(tmp_path: Path) -> None:
    out = tmp_path / "est.jsonl"
    res = CliRunner().invoke(app, [
        "rl", "curriculum", "estimate", "--backend", "scripted", "--model", "default", "--tasks", "chain_sum",
        "--difficulty", "1", "--questions-per-task", "2", "--rollouts", "2", "--modes", "text", "--out", str(out),
    ])
    assert res.exit_code == 0, res.output
    ests = read_estimates(out)
    assert [e.n for e in ests] == [2, 2] and all(e.task == "chain_sum" for e in ests)
    meta = json.loads(out.with_name(out.name + ".meta.json").read_text())
    assert meta["config"]["rollouts"] == 2 and "torch" in meta["versions"]
    assert "Curriculum stages" in res.output
    held_out = CliRunner().invoke(app, ["rl", "curriculum", "estimate", "--tasks", "boxlift", "--out", str(out)])
    assert held_out.exit_code == 2 and "held-out" in held_out.output
