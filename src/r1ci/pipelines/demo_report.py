"""The demo's one report: every stage side by side (base text/CI, SFT, RL), plus the training curves.

Every number is read back from the run folder (eval trajectories, synth stats, training
`metrics.jsonl`, curriculum estimates), never carried over in memory, so a resumed demo reports the
same as an uninterrupted one.
"""

from __future__ import annotations

import json
from pathlib import Path

from r1ci.eval.plots import Plot, new_figure, render_png
from r1ci.eval.report import (
    ReportPaths,
    Run,
    Section,
    Table,
    fmt_paired,
    fmt_pct,
    fmt_pct_ci,
    load_run,
    pair_runs,
    write_report,
)
from r1ci.jsonl import read_records
from r1ci.train.curriculum import potential

EVAL_STAGES = (
    ("eval-base-text", "base (text)"),
    ("eval-base-ci", "base (CI)"),
    ("eval-sft", "SFT (CI)"),
    ("eval-rl", "RL (CI)"),
)


def _curve_plot(name: str, caption: str, series: dict[str, tuple[list[float], list[float]]], ylabel: str) -> Plot:
    fig = new_figure(6.5, 3.2)
    ax = fig.add_subplot(111)
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", markersize=3, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend()
    return Plot(name=name, caption=caption, png=render_png(fig))


def _stage_plot(runs: list[Run]) -> Plot:
    fig = new_figure(6.5, 3.2)
    ax = fig.add_subplot(111)
    xs = range(len(runs))
    acc = [100 * (r.metrics.get("accuracy") or 0.0) for r in runs]
    code = [100 * (r.metrics.get("code_use_rate") or 0.0) for r in runs]
    cis = [r.metrics.get("accuracy_ci") or (a / 100, a / 100) for r, a in zip(runs, acc, strict=True)]
    err = [[a - 100 * lo for a, (lo, _) in zip(acc, cis, strict=True)],
           [100 * hi - a for a, (_, hi) in zip(acc, cis, strict=True)]]
    ax.bar([x - 0.2 for x in xs], acc, width=0.4, label="accuracy % (95% CI)", yerr=err, capsize=3)
    ax.bar([x + 0.2 for x in xs], code, width=0.4, label="code-use rate %")
    ax.set_xticks(list(xs), [r.name for r in runs])
    ax.set_ylim(0, 105)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return Plot(name="stages", caption="Accuracy and code use per stage", png=render_png(fig))


def _training_section(out: Path, timings: dict[str, float]) -> Section:
    sec = Section("Training pipeline")
    rows: list[list[str]] = []
    stats_path = out / "synth" / "stats.json"
    if stats_path.exists():
        stats = json.loads(stats_path.read_text())
        totals = stats.get("totals", stats)
        rows.append(["synth", f"kept {totals.get('kept', '?')} of {totals.get('generated', totals.get('total', '?'))} "
                     "teacher trajectories", f"{timings.get('synth', 0):.0f}s"])
    sft_rows = [r for r in read_records(out / "sft" / "metrics.jsonl", missing_ok=True) if "loss" in r]
    if sft_rows:
        rows.append(["sft", f"{len(sft_rows)} steps, loss {sft_rows[0]['loss']:.3f} → {sft_rows[-1]['loss']:.3f}",
                     f"{timings.get('sft', 0):.0f}s"])
    est = read_records(out / "curriculum" / "estimates.jsonl", missing_ok=True)
    if est:
        pots = [potential(float(e["pass_rate"])) for e in est if "pass_rate" in e]
        nonzero = sum(p > 0 for p in pots)
        rows.append(["curriculum", f"{len(est)} questions estimated, {nonzero} with potential > 0",
                     f"{timings.get('curriculum', 0):.0f}s"])
    rl_rows = [r for r in read_records(out / "rl" / "metrics.jsonl", missing_ok=True) if "reward" in r]
    if rl_rows:
        first, last = rl_rows[0]["reward"], rl_rows[-1]["reward"]
        rows.append(["rl", f"{len(rl_rows)} steps, batch reward {first:.2f} → {last:.2f}",
                     f"{timings.get('rl', 0):.0f}s"])
    if rows:
        sec.tables.append(Table(["stage", "what happened", "time"], rows))
    if timings:
        sec.notes.append(f"Total wall time: {sum(timings.values()) / 60:.1f} min.")
    if sft_rows:
        sec.plots.append(_curve_plot("sft_loss", "SFT training loss (model tokens only)",
                                     {"loss": ([r["step"] for r in sft_rows], [r["loss"] for r in sft_rows])}, "loss"))
    if rl_rows:
        series = {"batch reward": ([r["step"] for r in rl_rows], [r["reward"] for r in rl_rows])}
        if all("curriculum/stage" in r for r in rl_rows):
            series["curriculum stage"] = ([r["step"] for r in rl_rows], [r["curriculum/stage"] for r in rl_rows])
        sec.plots.append(_curve_plot("rl_reward", "GRPO reward per step", series, "value"))
    return sec


def write_demo_report(out: Path, timings: dict[str, float]) -> ReportPaths:
    runs = [load_run(out / folder, name) for folder, name in EVAL_STAGES if (out / folder / "trajectories.jsonl").exists()]
    if not runs:
        raise FileNotFoundError(f"no evaluation results under {out}; run the demo first")
    headline = Section("Headline", notes=[
        "Accuracy with its 95% Wilson interval; the change is paired (same questions as the stage before, "
        "paired-bootstrap 95% interval, exact McNemar p). A change whose interval contains 0 is inside the noise."])
    rows = []
    for i, r in enumerate(runs):
        d = pair_runs(runs[i - 1], r) if i else None
        change = "–" if d is None else f"{fmt_paired(d)}, p = {d.p_value:.3g}" + ("" if d.significant else " (noise)")
        rows.append([r.name, fmt_pct_ci(r.metrics.get("accuracy"), r.metrics.get("accuracy_ci")), change,
                     fmt_pct(r.metrics.get("code_use_rate")), f"{r.metrics.get('mean_code_turns') or 0:.2f}"])
    headline.tables.append(Table(
        ["stage", "accuracy [95% CI]", "change vs previous stage [95% CI]", "code-use rate", "mean code turns"], rows))
    headline.plots.append(_stage_plot(runs))
    return write_report(runs, out, title="r1ci demo: base vs SFT vs RL",
                        lead_sections=[headline, _training_section(out, timings)])
