"""`r1ci eval compare` and `r1ci eval report` on hand-made run folders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from r1ci.cli import app

runner = CliRunner()


def _two_runs(tmp_path: Path, records: list[dict[str, Any]], write_run: Callable[..., Path]) -> tuple[Path, Path]:
    a = write_run(tmp_path / "a" / "run", records)
    improved = [dict(r, reward=1.0) if r["task"] == "beta" else r for r in records]  # beta 0% -> 100%
    b = write_run(tmp_path / "b" / "run", improved)
    return a, b


def test_compare_prints_and_writes_both_runs_and_deltas(
    tmp_path: Path, records: list[dict[str, Any]], write_run: Callable[..., Path]
) -> None:
    a, b = _two_runs(tmp_path, records, write_run)
    out = tmp_path / "cmp.md"
    res = runner.invoke(app, ["eval", "compare", str(a), str(b), "--out", str(out)], terminal_width=200)
    assert res.exit_code == 0, res.output
    # Same folder name under different parents: names get their parent to stay distinct.
    assert "a/run" in res.output and "b/run" in res.output
    assert "+20.0 pp" in res.output  # overall accuracy 50% -> 70%
    assert "+100.0 pp" in res.output  # beta
    # 5 shared questions, one flips (beta): McNemar b=0, c=1 -> p = 1; the interval touches 0.
    assert "paired on 5 shared questions: accuracy inside the noise" in " ".join(res.output.split())
    md = out.read_text()
    # Wilson: 0/1 -> [0, 79.3], 1/1 -> [20.7, 100]; the paired Δ of one question is that question's flip.
    assert "| beta | symbench | 0.0% [0.0, 79.3] | 100.0% [20.7, 100.0] | +100.0 pp [+100.0, +100.0] |" in md
    # Wilson 2.5/5 and 3.5/5; paired bootstrap of the per-question differences (0,0,1,0,0).
    assert "| accuracy (mean reward over samples) | 50.0% [17.0, 83.0] | 70.0% [29.9, 92.7] | +20.0 pp [+0.0, +60.0] |" in md
    assert "| b/run − a/run | 5 |" in md and "| 0 / 1 | 1 | inside the noise" in md
    assert (tmp_path / "cmp-plots" / "accuracy_per_task.png").exists()

    js = tmp_path / "cmp.json"
    assert runner.invoke(app, ["eval", "compare", str(a), str(b), "--out", str(js)]).exit_code == 0
    data = json.loads(js.read_text())
    beta = data["per_task"]["beta"]
    assert (beta["a"], beta["b"], beta["delta"], beta["delta_ci"], beta["shared_questions"]) == (0.0, 1.0, 1.0, [1.0, 1.0], 1)
    assert abs(data["overall"]["accuracy"]["delta"] - 0.2) < 1e-9
    assert data["paired"]["b_better"] == 1 and data["paired"]["a_better"] == 0 and data["paired"]["p_value"] == 1.0
    assert data["paired"]["significant"] is False and data["paired"]["verdict"].startswith("inside the noise")

    html = tmp_path / "cmp.html"
    assert runner.invoke(app, ["eval", "compare", str(a), str(b), "--out", str(html)]).exit_code == 0
    assert "data:image/png;base64," in html.read_text()


def test_compare_errors_are_clear(tmp_path: Path, records: list[dict[str, Any]], write_run: Callable[..., Path]) -> None:
    a, b = _two_runs(tmp_path, records, write_run)
    res = runner.invoke(app, ["eval", "compare", str(a), str(tmp_path / "missing")])
    assert res.exit_code == 2 and "trajectories.jsonl" in res.output
    res = runner.invoke(app, ["eval", "compare", str(a), str(b), "--out", str(tmp_path / "x.pdf")])
    assert res.exit_code == 2 and ".md, .html or .json" in res.output


def test_report_command_rebuilds_from_trajectories(
    tmp_path: Path, records: list[dict[str, Any]], write_run: Callable[..., Path]
) -> None:
    folder = write_run(tmp_path / "run", records)
    (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.0, "planned_samples": 5, "wall_time_s": 3.0}))
    res = runner.invoke(app, ["eval", "report", str(folder)], terminal_width=200)
    assert res.exit_code == 0, res.output
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["accuracy"] == 0.5 and metrics["complete"] is True and metrics["wall_time_s"] == 3.0
    assert (folder / "report.md").exists() and (folder / "report.html").exists()
    assert "50.0%" in res.output


def test_eval_without_arguments_shows_help() -> None:
    res = runner.invoke(app, ["eval"], terminal_width=200)
    assert res.exit_code == 0
    assert "--samples-per-task" in res.output and "compare" in res.output
