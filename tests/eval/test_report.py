"""Reports: every number recomputed from trajectories.jsonl by hand; HTML self-contained; side by side."""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from r1ci.eval.report import Run, build_report, compare_runs, load_run, write_report


def _section(md: str, title: str) -> str:
    start = md.index(f"## {title}\n")
    end = md.find("\n## ", start + 1)
    return md[start : end if end >= 0 else len(md)]


def _row(section: str, first: str) -> list[str]:
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{section}")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def test_report_numbers_recomputed_from_jsonl(
    tmp_path: Path, records: list[dict[str, Any]], write_run: Callable[..., Path]
) -> None:
    folder = write_run(tmp_path / "run", records, {"model": "m", "backend": "hf", "suite": "test",
                                                   "rollout": {"mode": "ci", "stop_at_answer": False}})
    paths = write_report([load_run(folder)], folder)
    md = paths.markdown.read_text()

    # Independent recomputation straight from the JSONL (no r1ci code involved).
    recs = [json.loads(line) for line in (folder / "trajectories.jsonl").read_text().splitlines()]
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        by_task[r["task"]].append(r)
    task_acc = {t: sum(r["reward"] for r in rs) / len(rs) for t, rs in by_task.items()}
    turns = sum(r["num_code_turns"] for r in recs)

    overall = _section(md, "Overall")
    expected = {
        "accuracy (mean reward over samples)": _pct(sum(r["reward"] for r in recs) / len(recs)),
        "macro accuracy (mean over tasks; the paper's average)": _pct(sum(task_acc.values()) / len(task_acc)),
        "code-use rate": _pct(sum(r["num_code_turns"] > 0 for r in recs) / len(recs)),
        "mean code turns": f"{turns / len(recs):.2f}",
        "execution-error rate (per code run)": _pct(sum(r["exec_errors"] for r in recs) / turns),
        "mean completion tokens": f"{sum(len(r['completion_ids']) for r in recs) / len(recs):.1f}",
        "samples": str(len(recs)),
        "tasks": str(len(by_task)),
    }
    for label, value in expected.items():
        assert _row(overall, label)[1].split(" [")[0] == value, label

    # Wilson intervals by hand: 2.5/5 samples -> [17.0, 83.0]; alpha 1/2 -> [9.5, 90.5]; beta 0/1 -> [0.0, 79.3]
    assert _row(overall, "accuracy (mean reward over samples)")[1] == "50.0% [17.0, 83.0]"
    per_task = _section(md, "Accuracy per task")
    assert _row(per_task, "alpha")[2] == "50.0% [9.5, 90.5]"
    assert _row(per_task, "beta")[2] == "0.0% [0.0, 79.3]"
    for task, acc in task_acc.items():
        assert _row(per_task, task)[2].split(" [")[0] == _pct(acc)

    per_source = _section(md, "Accuracy per source")
    source_tasks: dict[str, list[str]] = defaultdict(list)
    for task, rs in by_task.items():
        source_tasks[rs[0]["metadata"]["source"]].append(task)
    for src, tasks in source_tasks.items():
        row = _row(per_source, src)
        assert row[1] == str(len(tasks))
        assert row[2].split(" [")[0] == _pct(sum(task_acc[t] for t in tasks) / len(tasks))
        lo, hi = (float(x) for x in row[2].split("[")[1].rstrip("]").split(","))
        assert lo <= 100 * sum(task_acc[t] for t in tasks) / len(tasks) <= hi

    stops = _section(md, "Stop reasons")
    for reason in {r["stop_reason"] for r in recs}:
        assert _row(stops, reason)[1] == str(sum(r["stop_reason"] == reason for r in recs))
    assert "stopped each sample at its first answer" not in md  # stop_at_answer is False here

    for plot in ("accuracy_per_task", "accuracy_per_source", "behaviour", "stop_reasons"):
        assert f"](plots/{plot}.png)" in md
        assert (folder / "plots" / f"{plot}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_is_self_contained(tmp_path: Path, records: list[dict[str, Any]], write_run: Callable[..., Path]) -> None:
    folder = write_run(tmp_path / "run", records)
    html = write_report([load_run(folder)], folder).html.read_text()
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "<script" not in html
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 4
    assert all(base64.b64decode(b)[:4] == b"\x89PNG" for b in images)
    assert "<td>50.0% [17.0, 83.0]</td>" in html  # overall accuracy of the sample records, Wilson interval


def test_side_by_side_runs_show_deltas(records: list[dict[str, Any]]) -> None:
    from r1ci.eval.metrics import compute_metrics

    base = Run("base", compute_metrics(records))
    better = [dict(r, reward=1.0) if r["task"] == "beta" else r for r in records]
    trained = Run("grpo", compute_metrics(better))
    md = build_report([base, trained]).markdown(plot_dir=None)
    assert "| task | source | base | grpo | Δ (grpo − base) |" in md
    # Runs built from metrics alone (no records) cannot be paired: Δ without an interval.
    assert _row(_section(md, "Accuracy per task"), "beta")[2:] == ["0.0% [0.0, 79.3]", "100.0% [20.7, 100.0]", "+100.0 pp"]
    assert _row(_section(md, "Overall"), "accuracy (mean reward over samples)")[1:] == [
        "50.0% [17.0, 83.0]", "70.0% [29.9, 92.7]", "+20.0 pp"]
    assert "not paired: the runs share no question" in md
    paired = build_report([Run("base", base.metrics, records=records), Run("grpo", trained.metrics, records=better)])
    pmd = paired.markdown(plot_dir=None)
    assert _row(_section(pmd, "Accuracy per task"), "beta")[4] == "+100.0 pp [+100.0, +100.0]"
    assert _row(_section(pmd, "Paired differences"), "grpo − base")[1:3] == ["5", "+20.0 pp [+0.0, +60.0]"]
    assert "## Plots" not in md  # plot_dir=None leaves images out
    with pytest.raises(ValueError, match="unique"):
        build_report([base, Run("base", trained.metrics)])
    with pytest.raises(ValueError, match="at least one run"):
        build_report([])


def test_compare_runs_deltas(records: list[dict[str, Any]], record_factory: Callable[..., dict[str, Any]]) -> None:
    from r1ci.eval.metrics import compute_metrics

    extra = record_factory("delta_only", 0, 1.0, [("model", "<<<1>>>")], source="reasoning_gym")
    cmp = compare_runs(Run("a", compute_metrics(records)), Run("b", compute_metrics([*records, extra])))
    assert cmp["runs"] == {"a": "a", "b": "b"}
    assert cmp["overall"]["accuracy"]["a"] == pytest.approx(0.5)
    assert cmp["overall"]["accuracy"]["b"] == pytest.approx(3.5 / 6)
    assert cmp["overall"]["accuracy"]["delta"] == pytest.approx(3.5 / 6 - 0.5)
    only = cmp["per_task"]["delta_only"]
    assert (only["a"], only["b"], only["delta"], only["a_ci"]) == (None, 1.0, None, None)
    assert only["b_ci"] == pytest.approx([0.2065, 1.0], abs=1e-4)  # Wilson 1/1
    assert "delta_ci" not in only  # a task only one run has cannot be paired
    assert cmp["paired"] is None  # runs built from metrics alone have no records to pair
    assert cmp["per_source"]["reasoning_gym"]["b"] == 1.0
    assert cmp["per_task"]["alpha"]["delta"] == 0.0


def test_load_run_tolerates_torn_last_line_and_keeps_run_level_facts(
    tmp_path: Path, records: list[dict[str, Any]], write_run: Callable[..., Path]
) -> None:
    folder = write_run(tmp_path / "run", records)
    with (folder / "trajectories.jsonl").open("a") as f:
        f.write('{"task": "alpha", "question_id": "al')  # crash mid-write
    (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.99, "wall_time_s": 12.5, "planned_samples": 8}))
    run = load_run(folder)
    assert run.metrics["samples"] == 5
    assert run.metrics["accuracy"] == pytest.approx(0.5)  # recomputed, not the stale saved number
    assert run.metrics["wall_time_s"] == 12.5
    md = build_report([run]).markdown(plot_dir=None)
    assert "Incomplete run `run`" in md and "5 of 8 planned samples" in md
    with pytest.raises(FileNotFoundError, match=r"trajectories\.jsonl"):
        load_run(tmp_path / "nowhere")


def test_delta_formats_by_kind() -> None:
    from r1ci.eval.report import fmt_delta

    assert fmt_delta("pct", 0.25, 0.75) == "+50.0 pp"
    assert fmt_delta("seconds", 115.0, 47.0) == "-1 min 8 s"  # not a bare "-68.00"
    assert fmt_delta("seconds", 10.0, 12.5) == "+2.5 s"
    assert fmt_delta("int", 3, 1) == "-2"
    assert fmt_delta("float2", None, 1.0) == "–"
