"""`r1ci rl curriculum report`: what an estimate says about the questions, per stage and per task.

Prints two rich tables (stages; tasks) and, with an output folder, writes `potentials.png` (histogram
of improvement potential, one colour per stage), `tasks.png` (per task: questions per stage) and
`report.html` (both plots inline plus the tables) and `summary.json`. Figures are drawn on an explicit
Agg canvas, never through pyplot, so no GUI backend or global state is touched.
"""

from __future__ import annotations

import base64
import html
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from r1ci.eval.plots import render_png
from r1ci.train.curriculum import QuestionEstimate, Stages, make_stages, read_estimates

_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def summarize(estimates: list[QuestionEstimate], stages: Stages) -> dict[str, Any]:
    """Per-stage and per-task numbers (JSON-ready)."""
    by_id = {e.id: e for e in estimates}
    stage_of = {qid: s for s, group in enumerate(stages.groups) for qid in group}
    stage_rows = []
    for s, group in enumerate(stages.groups):
        pots = [stages.potentials[q] for q in group]
        rates = [by_id[q].pass_rate for q in group]
        stage_rows.append({
            "stage": s + 1, "questions": len(group),
            "potential_min": min(pots) if pots else None, "potential_mean": sum(pots) / len(pots) if pots else None,
            "potential_max": max(pots) if pots else None, "pass_rate_mean": sum(rates) / len(rates) if rates else None,
        })
    tasks: dict[str, list[QuestionEstimate]] = defaultdict(list)
    for e in estimates:
        tasks[e.task].append(e)
    task_rows = []
    for name in sorted(tasks):
        es = tasks[name]
        counts = [0] * stages.num_stages
        for e in es:
            if e.id in stage_of:
                counts[stage_of[e.id]] += 1
        task_rows.append({
            "task": name, "source": es[0].source, "questions": len(es),
            "pass_rate_mean": sum(e.pass_rate for e in es) / len(es),
            "potential_mean": sum(stages.potentials[e.id] for e in es) / len(es),
            "per_stage": counts, "dropped": len(es) - sum(counts),
        })
    return {"questions": len(estimates), "stages": stage_rows, "tasks": task_rows}


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _tables(summary: dict[str, Any], num_stages: int) -> tuple[Table, Table]:
    st = Table(title="Curriculum stages (highest potential first; stage s trains on groups 1..s)")
    for col in ("stage", "questions", "Π min", "Π mean", "Π max", "pass rate"):
        st.add_column(col, justify="right")
    for r in summary["stages"]:
        st.add_row(str(r["stage"]), str(r["questions"]), _fmt(r["potential_min"]), _fmt(r["potential_mean"]),
                   _fmt(r["potential_max"]), _fmt(r["pass_rate_mean"]))
    tt = Table(title="Per task")
    for col in ("task", "source", "questions", "pass rate", "Π mean", *[f"S{i + 1}" for i in range(num_stages)]):
        tt.add_column(col, justify="left" if col in ("task", "source") else "right", no_wrap=col == "task")
    for r in summary["tasks"]:
        tt.add_row(r["task"], r["source"], str(r["questions"]), _fmt(r["pass_rate_mean"]),
                   _fmt(r["potential_mean"]), *[str(c) for c in r["per_stage"]])
    return st, tt


def potential_histogram(stages: Stages, potential_name: str) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    values = [[stages.potentials[q] for q in g] for g in stages.groups]
    top = max((v for g in values for v in g), default=0.0) or 1.0
    colours = [_COLOURS[i % len(_COLOURS)] for i in range(len(values))]
    ax.hist(values, bins=20, range=(0.0, top), stacked=True, color=colours,
            label=[f"stage {i + 1} ({len(v)})" for i, v in enumerate(values)])
    ax.set_xlabel(f"improvement potential ({potential_name})")
    ax.set_ylabel("questions")
    ax.set_title("Improvement potential by stage")
    ax.legend(fontsize=8)
    return render_png(fig)


def task_stage_plot(summary: dict[str, Any]) -> bytes:
    from matplotlib.figure import Figure

    rows = summary["tasks"]
    fig = Figure(figsize=(7, max(2.0, 0.28 * len(rows) + 1.0)))
    ax = fig.add_subplot(1, 1, 1)
    left = [0] * len(rows)
    n_stages = len(summary["stages"])
    for s in range(n_stages):
        counts = [r["per_stage"][s] for r in rows]
        ax.barh([r["task"] for r in rows], counts, left=left, color=_COLOURS[s % len(_COLOURS)],
                label=f"stage {s + 1}")
        left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("questions")
    ax.set_title("Questions per stage, by task")
    ax.legend(fontsize=8)
    return render_png(fig)


def _html_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r[c]))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    if v is None:
        return "-"
    return str(v)


def curriculum_report(
    path: str | Path,
    *,
    out_dir: str | Path | None = None,
    num_stages: int = 4,
    potential_name: str = "variance",
    group_size: int = 8,
    console: Console | None = None,
) -> dict[str, Any]:
    """Print the stage and task tables; with `out_dir` also write PNGs, report.html and summary.json."""
    estimates = read_estimates(path)
    if not estimates:
        raise ValueError(f"{path} holds no estimates; run `r1ci rl curriculum estimate` first")
    stages = make_stages(estimates, num_stages, potential_name=potential_name, group_size=group_size)
    summary = summarize(estimates, stages)
    summary["potential"] = potential_name
    con = console or Console()
    for table in _tables(summary, num_stages):
        con.print(table)
    if out_dir is None:
        return summary
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hist = potential_histogram(stages, potential_name)
    per_task = task_stage_plot(summary)
    (out / "potentials.png").write_bytes(hist)
    (out / "tasks.png").write_bytes(per_task)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    task_rows = [{**r, "per_stage": " / ".join(map(str, r["per_stage"]))} for r in summary["tasks"]]

    def img(data: bytes, alt: str) -> str:
        return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'

    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Curriculum report</title>"
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}</style>"
        f"</head><body><h1>Curriculum report</h1><p>{html.escape(str(path))}: {len(estimates)} questions, "
        f"potential = {html.escape(potential_name)}, {num_stages} stages.</p>"
        "<h2>Stages</h2>"
        + _html_table(summary["stages"], ["stage", "questions", "potential_min", "potential_mean",
                                           "potential_max", "pass_rate_mean"])
        + img(hist, "potential histogram")
        + "<h2>Tasks</h2>"
        + _html_table(task_rows, ["task", "source", "questions", "pass_rate_mean", "potential_mean",
                                  "per_stage", "dropped"])
        + img(per_task, "questions per stage by task")
        + "</body></html>"
    )
    (out / "report.html").write_text(page, encoding="utf-8")
    return summary
