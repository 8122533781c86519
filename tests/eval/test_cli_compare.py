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
    md = out.read_text()
    assert "| beta | symbench | 0.0% | 100.0% | +100.0 pp |" in md
    assert "| accuracy (mean reward over samples) | 50.0% | 70.0% | +20.0 pp |" in md
    assert (tmp_path / "cmp-plots" / "accuracy_per_task.png").exists()

    js = tmp_path / "cmp.json"
    assert runner.invoke(app, ["eval", "compare", str(a), str(b), "--out", str(js)]).exit_code == 0
    data = json.loads(js.read_text())
    assert data["per_task"]["beta"] == {"a": 0.0, "b": 1.0, "delta": 1.0}
    assert abs(data["overall"]["accuracy"]["delta"] - 0.2) < 1e-9

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
