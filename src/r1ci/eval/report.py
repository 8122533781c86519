"""Markdown and self-contained HTML reports over one or more named runs.

A report is built once as a small document model (sections of tables, notes and plots) and then
rendered twice, so `report.md` and `report.html` can never disagree. With one run the tables show its
numbers; with several (`r1ci eval compare`, or the demo's base → SFT → GRPO stages) the runs sit side by
side with a Δ column (last run minus first).

Uncertainty (`r1ci.eval.stats`): every accuracy cell carries its 95% interval in brackets (Wilson for a
rate, a bootstrap over questions for a macro average). When two runs answered the same questions, the
Δ of an accuracy is the *paired* difference with its paired-bootstrap interval, and the "Paired
differences" section says for each step whether the change is outside the noise (exact McNemar p).

Numbers always come from `compute_metrics` over the run's `trajectories.jsonl` (see `load_run`), never
from a cached `metrics.json`, so a report cannot drift from the records it describes. Only run-level
facts that records do not hold (wall time, planned sample count) are read from `metrics.json`.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from r1ci.eval.metrics import compute_metrics
from r1ci.eval.plots import Plot, make_plots
from r1ci.eval.stats import PairedDifference, paired_difference, question_outcomes
from r1ci.jsonl import read_records

TRAJECTORIES = "trajectories.jsonl"
METRICS = "metrics.json"
CONFIG = "config.json"
RUN_LEVEL_KEYS = ("wall_time_s", "sessions", "planned_samples", "complete")
"""metrics.json keys that describe the run rather than its records (not recomputable from the JSONL)."""


# ---------------------------------------------------------------- runs


@dataclass
class Run:
    """A named evaluation run: its metrics and (optionally) the contents of its config.json."""

    name: str
    metrics: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    """The trajectory records the metrics came from (for paired comparisons); may be empty."""

    def setting(self, *path: str) -> Any:
        node: Any = self.config.get("config", {})
        for key in path:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return node


def load_run(path: str | Path, name: str | None = None) -> Run:
    """Load an eval output folder: metrics recomputed from its trajectories, plus config and timing."""
    folder = Path(path)
    traj = folder / TRAJECTORIES
    if not traj.exists():
        raise FileNotFoundError(
            f"{traj} not found; pass a folder written by `r1ci eval --out DIR` (it holds {TRAJECTORIES})"
        )
    records = read_records(traj)
    metrics = compute_metrics(records)
    if (folder / METRICS).exists():
        saved = json.loads((folder / METRICS).read_text())
        metrics.update({k: saved[k] for k in RUN_LEVEL_KEYS if k in saved})
    config = json.loads((folder / CONFIG).read_text()) if (folder / CONFIG).exists() else {}
    return Run(name=name or folder.name, metrics=metrics, config=config, records=records)


def unique_names(paths: Sequence[Path]) -> list[str]:
    """Folder names, made unique by prefixing parents when two runs share a name (a/run vs b/run)."""
    names = [p.name for p in paths]
    depth = 1
    while len(set(names)) < len(names) and depth < 6:
        depth += 1
        names = ["/".join(p.resolve().parts[-depth:]) for p in paths]
    return names


# ---------------------------------------------------------------- formatting


def fmt_pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def fmt_float(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def fmt_int(v: float | None) -> str:
    return "–" if v is None else str(int(v))


def fmt_seconds(v: float | None) -> str:
    if v is None:
        return "–"
    minutes, seconds = divmod(float(v), 60)
    return f"{v:.1f} s" if minutes < 1 else f"{int(minutes)} min {seconds:.0f} s"


def fmt_interval(ci: Sequence[float] | None, signed: bool = False) -> str:
    """` [lo, hi]` in percent (signed for differences); empty without an interval."""
    if ci is None:
        return ""
    lo, hi = (100 * float(x) for x in ci)
    return f" [{lo:+.1f}, {hi:+.1f}]" if signed else f" [{lo:.1f}, {hi:.1f}]"


def fmt_pct_ci(v: float | None, ci: Sequence[float] | None) -> str:
    """`72.2% [61.0, 81.3]`: a rate with its 95% interval."""
    return fmt_pct(v) + ("" if v is None else fmt_interval(ci))


def fmt_paired(d: PairedDifference | None, macro: bool = False) -> str:
    """`+5.6 pp [-2.8, +13.9]`: a paired difference with its 95% paired-bootstrap interval."""
    if d is None:
        return "–"
    delta, ci = (d.macro_delta, d.macro_ci) if macro else (d.delta, d.ci)
    return f"{100 * delta:+.1f} pp{fmt_interval(ci, signed=True)}"


def fmt_delta(kind: str, a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "–"
    d = b - a
    if kind == "pct":
        return f"{100 * d:+.1f} pp"
    if kind == "int":
        return f"{int(d):+d}"
    if kind == "seconds":
        return ("+" if d >= 0 else "-") + fmt_seconds(abs(d))
    return f"{d:+.1f}" if kind == "float1" else f"{d:+.2f}"


FORMATS: dict[str, Callable[[Any], str]] = {
    "pct": fmt_pct,
    "float2": fmt_float,
    "float1": lambda v: fmt_float(v, 1),
    "int": fmt_int,
    "seconds": fmt_seconds,
}

# (metrics key, row label, format) of the "Overall" table.
OVERALL_ROWS: tuple[tuple[str, str, str], ...] = (
    ("accuracy", "accuracy (mean reward over samples)", "pct"),
    ("macro_accuracy", "macro accuracy (mean over tasks; the paper's average)", "pct"),
    ("pass_at_1", "pass@1 (mean over questions)", "pct"),
    ("pass_at_k", "pass@k (k = samples per question)", "pct"),
    ("code_use_rate", "code-use rate", "pct"),
    ("mean_code_turns", "mean code turns", "float2"),
    ("exec_error_rate", "execution-error rate (per code run)", "pct"),
    ("self_check_rate", "self-check rate", "pct"),
    ("answer_rate", "answer rate (has <<<…>>>)", "pct"),
    ("mean_completion_tokens", "mean completion tokens", "float1"),
    ("samples", "samples", "int"),
    ("questions", "questions", "int"),
    ("tasks", "tasks", "int"),
    ("samples_per_question", "samples per question", "int"),
    ("wall_time_s", "wall time", "seconds"),
)

CI_KEYS = {"accuracy": "accuracy_ci", "macro_accuracy": "macro_accuracy_ci"}
"""Accuracy rows and the metrics key of their 95% interval."""

OPTIONAL_ROWS = frozenset({"pass_at_1", "pass_at_k", "wall_time_s"})
"""Rows shown only when some run has them (pass@k needs several samples per question)."""

METRIC_FORMATS = {key: kind for key, _, kind in OVERALL_ROWS}
"""Format of each metric: stated once, in OVERALL_ROWS, for every table that shows it."""

# (metrics key, column header) of the per-task behaviour tables.
DETAIL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("samples", "samples"),
    ("accuracy", "accuracy"),
    ("pass_at_k", "pass@k"),
    ("code_use_rate", "code use"),
    ("mean_code_turns", "code turns"),
    ("exec_error_rate", "exec errors"),
    ("self_check_rate", "self-check"),
    ("answer_rate", "answered"),
    ("mean_completion_tokens", "tokens"),
)

GLOSSARY = (
    "**accuracy**: mean reward over all samples (rewards come from each task's verifier, in [0, 1]). "
    "**macro accuracy**: mean of per-task accuracies, so every task weighs the same (the paper's number); "
    "per-source accuracy is the macro accuracy over that source's tasks. "
    "**code-use rate**: share of samples that executed at least one code block. "
    "**execution-error rate**: failed executions (error, timeout, memory) over all executions. "
    "**self-check rate**: share of samples that ran code after an answer candidate `<<<…>>>` already "
    "stood in the model's text. **tokens**: completion length (model and interpreter tokens). "
    "**pass@k**: chance that at least one of k samples is fully correct (unbiased estimator). "
    "**[lo, hi]**: 95% interval: Wilson score interval for a rate over samples; percentile bootstrap over "
    "questions (resampled within each task, 2000 resamples, seed 0) for a macro average. A Δ with an "
    "interval is paired: B − A on the questions both runs answered, paired-bootstrap interval; "
    "**McNemar p** is the exact two-sided test on the questions where the runs disagree. A change whose "
    "interval contains 0 is inside the noise."
)


# ---------------------------------------------------------------- document model


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)


@dataclass
class Report:
    title: str
    sections: list[Section]
    plots: list[Plot]

    def markdown(self, plot_dir: str | None = "plots") -> str:
        """Markdown; plots are linked as `plot_dir/<name>.png` (None leaves them out)."""
        out = [f"# {self.title}", ""]
        for sec in self.sections:
            if sec.plots and plot_dir is None:
                continue
            out += [f"## {sec.title}", ""]
            for note in sec.notes:
                out += [note, ""]
            for table in sec.tables:
                out += [_md_row(table.header), _md_row(["---"] * len(table.header))]
                out += [_md_row(r) for r in table.rows]
                out.append("")
            for plot in sec.plots:
                out += [f"![{plot.caption}]({plot_dir}/{plot.name}.png)", ""]
        return "\n".join(out)

    def html(self) -> str:
        """One self-contained HTML file: inline CSS, plots as base64 PNG, no external references."""
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for sec in self.sections:
            body.append(f"<h2>{html.escape(sec.title)}</h2>")
            body += [f"<p>{_inline_html(n)}</p>" for n in sec.notes]
            for table in sec.tables:
                head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
                rows = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in table.rows
                )
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            for plot in sec.plots:
                data = base64.b64encode(plot.png).decode("ascii")
                body.append(
                    f'<figure id="{plot.name}"><img alt="{html.escape(plot.caption)}" '
                    f'src="data:image/png;base64,{data}"><figcaption>{html.escape(plot.caption)}'
                    "</figcaption></figure>"
                )
        return _HTML_PAGE.format(title=html.escape(self.title), css=_CSS, body="\n".join(body))


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _inline_html(text: str) -> str:
    """The two Markdown inlines our notes use (`code`, **bold**), rendered after escaping."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}
th:first-child,td:first-child{text-align:left}
thead{background:#f3f3f3}
code{background:#f3f3f3;padding:0 0.2em}
figure{margin:1em 0}
img{max-width:100%}
figcaption{font-size:0.85em;color:#555}
"""

_HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title><style>{css}</style></head>
<body>
{body}
</body>
</html>
"""


# ---------------------------------------------------------------- building


def _cells(values: Sequence[float | None], kind: str) -> list[str]:
    """Formatted values of each run, plus the Δ (last − first) when there are several runs."""
    cells = [FORMATS[kind](v) for v in values]
    if len(values) > 1:
        cells.append(fmt_delta(kind, values[0], values[-1]))
    return cells


def _acc_cells(
    nodes: Sequence[dict[str, Any] | None], key: str, paired: PairedDifference | None, macro: bool = False,
) -> list[str]:
    """Accuracy of each run with its interval, plus the Δ (paired with its interval where possible)."""
    cells = [fmt_pct_ci((n or {}).get(key), (n or {}).get(CI_KEYS.get(key, f"{key}_ci"))) for n in nodes]
    if len(nodes) > 1:
        values = [(n or {}).get(key) for n in nodes]
        cells.append(fmt_paired(paired, macro) if paired is not None else fmt_delta("pct", values[0], values[-1]))
    return cells


def pair_runs(a: Run, b: Run, task: str | None = None) -> PairedDifference | None:
    """Paired B − A over the questions both runs hold (of one task, if given); None when none are shared."""
    if not a.records or not b.records:
        return None
    oa, ob = question_outcomes(a.records), question_outcomes(b.records)
    if task is not None:
        oa = {q: v for q, v in oa.items() if v[0] == task}
        ob = {q: v for q, v in ob.items() if v[0] == task}
    if not set(oa) & set(ob):
        return None
    return paired_difference(oa, ob)


def _source_pair(a: Run, b: Run, source: str) -> PairedDifference | None:
    tasks = {t for r in (a, b) for t, m in r.metrics["per_task"].items() if m["source"] == source}
    sub = [Run(r.name, r.metrics, r.config, [x for x in r.records if str(x["task"]) in tasks]) for r in (a, b)]
    return pair_runs(*sub)


def step_pairs(runs: Sequence[Run]) -> list[tuple[Run, Run]]:
    """The comparisons a multi-run report spells out: each run against the one before, and last vs first."""
    pairs = list(pairwise(runs))
    if len(runs) > 2:
        pairs.append((runs[0], runs[-1]))
    return pairs


def paired_section(runs: Sequence[Run]) -> Section | None:
    """One row per step (B − A on shared questions): Δ accuracy and Δ macro with intervals, McNemar p."""
    rows = []
    for a, b in step_pairs(runs):
        d = pair_runs(a, b)
        if d is None:
            rows.append([f"{b.name} − {a.name}", "0", "–", "–", "–", "–",
                         "not paired: the runs share no question"])
            continue
        rows.append([
            f"{b.name} − {a.name}", str(d.questions), fmt_paired(d), fmt_paired(d, macro=True),
            f"{d.a_better} / {d.b_better}", f"{d.p_value:.3g}",
            "outside the noise" if d.significant else "inside the noise (interval contains 0)",
        ])
    if not rows:
        return None
    return Section(
        "Paired differences",
        notes=["B − A on the questions both runs answered (paired bootstrap over questions, 95%). "
               "`A / B better`: questions on which only one run did better (McNemar's discordant pairs)."],
        tables=[Table(["change", "shared questions", "Δ accuracy [95% CI]", "Δ macro [95% CI]",
                       "A / B better", "McNemar p", "verdict"], rows)],
    )


def _run_headers(runs: Sequence[Run]) -> list[str]:
    heads = [r.name for r in runs]
    if len(runs) > 1:
        heads.append(f"Δ ({runs[-1].name} − {runs[0].name})")
    return heads


def _runs_section(runs: Sequence[Run]) -> Section:
    header = ["run", "model", "backend", "mode", "suite", "samples", "wall time"]
    rows = []
    notes = []
    for run in runs:
        m = run.metrics
        rows.append([
            run.name,
            str(run.setting("model") or "–"),
            str(run.setting("backend") or "–"),
            str(run.setting("rollout", "mode") or "–"),
            str(run.setting("suite") or "–"),
            fmt_int(m["samples"]),
            fmt_seconds(m.get("wall_time_s")),
        ])
        planned = m.get("planned_samples")
        if m.get("complete") is False or (planned is not None and planned > m["samples"]):
            notes.append(
                f"**Incomplete run `{run.name}`**: {m['samples']} of {planned} planned samples finished; "
                "finish it with `r1ci eval ... --resume` (same arguments and `--out`)."
            )
    return Section("Runs", notes=notes, tables=[Table(header, rows)])


def build_report(runs: Sequence[Run], title: str | None = None) -> Report:
    """The document for one run or several side by side (Δ = last − first)."""
    if not runs:
        raise ValueError("build_report needs at least one run")
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"run names must be unique, got {names}; pass distinct names")
    title = title or (f"Evaluation report: {runs[0].name}" if len(runs) == 1 else "Evaluation comparison: "
                      + " vs ".join(names))
    heads = _run_headers(runs)
    sections = [_runs_section(runs)]

    overall_pair = pair_runs(runs[0], runs[-1]) if len(runs) > 1 else None
    rows = [
        [label, *(_acc_cells([r.metrics for r in runs], key, overall_pair, macro=key == "macro_accuracy")
                  if key in CI_KEYS else _cells([r.metrics.get(key) for r in runs], kind))]
        for key, label, kind in OVERALL_ROWS
        if key not in OPTIONAL_ROWS or any(r.metrics.get(key) is not None for r in runs)
    ]
    stopped = [r.name for r in runs if r.setting("rollout", "stop_at_answer")]
    notes = [] if not stopped else [
        f"{'This run' if len(runs) == 1 else ', '.join(f'`{n}`' for n in stopped)} stopped each sample at its first answer "
        "(`rollout.stop_at_answer: true`), so the self-check rate is 0 by construction; evaluate with "
        "`--set rollout.stop_at_answer=false` to measure it."
    ]
    notes.append("Accuracies carry their 95% interval in brackets; see the glossary.")
    fewest = min(m["questions"] for r in runs for m in r.metrics["per_task"].values())
    if fewest < 5:
        notes.append(f"Some task has only {fewest} question(s): a bootstrap over so few questions understates "
                     "the uncertainty of macro averages; trust the Wilson intervals and add questions.")
    sections.append(Section("Overall", notes=notes, tables=[Table(["metric", *heads], rows)]))
    paired = paired_section(runs)
    if paired is not None:
        sections.append(paired)

    sources = sorted({s for r in runs for s in r.metrics["per_source"]})
    src_rows = [
        [s, _source_tasks(runs, s),
         *_acc_cells([r.metrics["per_source"].get(s) for r in runs], "macro_accuracy",
                     _source_pair(runs[0], runs[-1], s) if len(runs) > 1 else None, macro=True)]
        for s in sources
    ]
    src_rows.append(["overall", fmt_int(max(r.metrics["tasks"] for r in runs)),
                     *_acc_cells([r.metrics for r in runs], "macro_accuracy", overall_pair, macro=True)])
    sections.append(Section(
        "Accuracy per source", notes=["Macro accuracy over each source's tasks (every task weighs the same)."],
        tables=[Table(["source", "tasks", *heads], src_rows)],
    ))

    tasks = sorted({t for r in runs for t in r.metrics["per_task"]}, key=lambda t: (_task_source(runs, t), t))
    task_rows = [
        [t, _task_source(runs, t),
         *_acc_cells([r.metrics["per_task"].get(t) for r in runs], "accuracy",
                     pair_runs(runs[0], runs[-1], task=t) if len(runs) > 1 else None)]
        for t in tasks
    ]
    sections.append(Section("Accuracy per task", tables=[Table(["task", "source", *heads], task_rows)]))

    reasons = sorted({s for r in runs for s in r.metrics["stop_reasons"]})
    stop_rows = [[reason, *(fmt_int(r.metrics["stop_reasons"].get(reason, 0)) for r in runs)] for reason in reasons]
    sections.append(Section("Stop reasons", tables=[Table(["stop reason", *names], stop_rows)]))

    for run in runs:
        cols = [c for c in DETAIL_COLUMNS
                if c[0] not in OPTIONAL_ROWS or any(m.get(c[0]) is not None for m in run.metrics["per_task"].values())]
        detail = [
            [t, m["source"], *(fmt_pct_ci(m.get(key), m.get(CI_KEYS[key])) if key in CI_KEYS
                               else FORMATS[METRIC_FORMATS[key]](m.get(key)) for key, _ in cols)]
            for t, m in sorted(run.metrics["per_task"].items(), key=lambda kv: (kv[1]["source"], kv[0]))
        ]
        sections.append(Section(
            f"Per-task behaviour: {run.name}",
            tables=[Table(["task", "source", *(header for _, header in cols)], detail)],
        ))

    plots = make_plots([(r.name, r.metrics) for r in runs])
    sections.append(Section("Plots", plots=plots))
    sections.append(Section("Glossary", notes=[GLOSSARY]))
    return Report(title=title, sections=sections, plots=plots)


def _task_source(runs: Sequence[Run], task: str) -> str:
    return next(r.metrics["per_task"][task]["source"] for r in runs if task in r.metrics["per_task"])


def _source_tasks(runs: Sequence[Run], source: str) -> str:
    return fmt_int(max((r.metrics["per_source"].get(source) or {}).get("tasks", 0) for r in runs))


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    html: Path


def write_report(
    runs: Sequence[Run], out_dir: str | Path, title: str | None = None, stem: str = "report",
    lead_sections: Sequence[Section] = (),
) -> ReportPaths:
    """Write `<stem>.md` (+ `plots/*.png` beside it) and a self-contained `<stem>.html` into out_dir.

    `lead_sections` go before the evaluation sections (the demo puts its headline and training curves there).
    """
    out = Path(out_dir)
    report = build_report(runs, title)
    if lead_sections:
        report.sections[:0] = list(lead_sections)
        report.plots = [p for sec in report.sections for p in sec.plots]
    plot_dir = out / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    for plot in report.plots:
        (plot_dir / f"{plot.name}.png").write_bytes(plot.png)
    paths = ReportPaths(out / f"{stem}.md", out / f"{stem}.html")
    paths.markdown.write_text(report.markdown("plots"), encoding="utf-8")
    paths.html.write_text(report.html(), encoding="utf-8")
    return paths


# ---------------------------------------------------------------- comparison

COMPARED_KEYS = tuple(key for key, _, kind in OVERALL_ROWS if kind in ("pct", "float2", "float1"))


def _triple(a: float | None, b: float | None) -> dict[str, float | None]:
    return {"a": a, "b": b, "delta": None if a is None or b is None else b - a}


def _acc_triple(na: dict[str, Any] | None, nb: dict[str, Any] | None, key: str,
                paired: PairedDifference | None, macro: bool = False) -> dict[str, Any]:
    """a, b, delta plus each run's interval and, when paired, the difference's interval and p-value."""
    ci_key = CI_KEYS.get(key, f"{key}_ci")
    out: dict[str, Any] = _triple((na or {}).get(key), (nb or {}).get(key))
    out["a_ci"], out["b_ci"] = (na or {}).get(ci_key), (nb or {}).get(ci_key)
    if paired is not None:
        out["delta_paired"] = paired.macro_delta if macro else paired.delta
        out["delta_ci"] = list(paired.macro_ci if macro else paired.ci)
        out["shared_questions"], out["mcnemar_p"] = paired.questions, paired.p_value
    return out


def compared_cells(v: dict[str, Any], kind: str) -> tuple[str, str, str]:
    """One `compare_runs` entry as (A, B, Δ) cells: intervals where known, the paired Δ where paired."""
    if "a_ci" not in v:
        return FORMATS[kind](v["a"]), FORMATS[kind](v["b"]), fmt_delta(kind, v["a"], v["b"])
    delta = (f"{100 * v['delta_paired']:+.1f} pp{fmt_interval(v['delta_ci'], signed=True)}"
             if v.get("delta_ci") is not None else fmt_delta("pct", v["a"], v["b"]))
    return fmt_pct_ci(v["a"], v["a_ci"]), fmt_pct_ci(v["b"], v["b_ci"]), delta


def compare_runs(a: Run, b: Run) -> dict[str, Any]:
    """Numbers of two runs side by side with deltas (b − a): overall, per source (macro), per task.

    Accuracies carry their intervals; with records on both sides, `paired` holds the paired difference
    on the shared questions (interval, McNemar p, verdict) and each accuracy its paired Δ interval.
    """
    ma, mb = a.metrics, b.metrics
    sources = sorted(set(ma["per_source"]) | set(mb["per_source"]))
    tasks = sorted(set(ma["per_task"]) | set(mb["per_task"]))
    paired = pair_runs(a, b)
    overall = {k: _triple(ma.get(k), mb.get(k)) for k in COMPARED_KEYS if k in ma or k in mb}
    for key in CI_KEYS:
        overall[key] = _acc_triple(ma, mb, key, paired, macro=key == "macro_accuracy")
    return {
        "runs": {"a": a.name, "b": b.name},
        "paired": None if paired is None else {**paired.to_dict(), "verdict": paired.verdict()},
        "overall": overall,
        "per_source": {
            s: _acc_triple(ma["per_source"].get(s), mb["per_source"].get(s), "macro_accuracy",
                           _source_pair(a, b, s), macro=True)
            for s in sources
        },
        "per_task": {
            t: _acc_triple(ma["per_task"].get(t), mb["per_task"].get(t), "accuracy", pair_runs(a, b, task=t))
            for t in tasks
        },
    }
