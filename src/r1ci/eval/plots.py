"""Report plots as PNG bytes (matplotlib, Agg canvas).

Figures are drawn on `matplotlib.figure.Figure` with an explicit Agg canvas rather than through
pyplot: no global backend switch, no GUI, no figure registry to leak memory in long processes (the demo
builds reports between training stages). Every plot takes the same input — a list of
`(run name, metrics dict)` — and draws one bar group per run, so one run and a side-by-side of stages
use the same code. Accuracy bars carry 95% error bars (the metrics' `*_ci` intervals).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

NamedMetrics = tuple[str, dict[str, Any]]
Interval = Callable[[dict[str, Any], str], "Sequence[float] | None"]

# Colour-blind-safe palette (Okabe-Ito); runs beyond its length cycle.
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_BEHAVIOUR = (
    ("code_use_rate", "code use"),
    ("self_check_rate", "self-check"),
    ("exec_error_rate", "exec errors"),
    ("answer_rate", "answered"),
)


@dataclass(frozen=True)
class Plot:
    name: str
    """File stem (plots/<name>.png) and HTML anchor."""
    caption: str
    png: bytes


def render_png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def new_figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _grouped_barh(
    labels: Sequence[str], runs: Sequence[NamedMetrics], value: Callable[[dict[str, Any], str], float | None],
    *, xlabel: str, title: str, xmax: float | None = 1.0, interval: Interval | None = None,
) -> bytes:
    """Horizontal grouped bars: one row per label, one bar per run (missing values are left out).

    `interval(metrics, label)` -> (lo, hi) draws a 95% error bar on the bar.
    """
    n_runs = len(runs)
    row_h = 0.22 * max(1, n_runs) + 0.12
    fig = new_figure(8.0, max(2.2, row_h * len(labels) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    bar_h = 0.8 / max(1, n_runs)
    for j, (name, metrics) in enumerate(runs):
        ys, xs, errs = [], [], []
        for i, label in enumerate(labels):
            v = value(metrics, label)
            if v is not None:
                # The y axis is inverted below, so the first run sits on top of its group (as in the legend).
                ys.append(i + (j - (n_runs - 1) / 2) * bar_h)
                xs.append(v)
                ci = interval(metrics, label) if interval is not None else None
                errs.append((v - ci[0], ci[1] - v) if ci is not None else (0.0, 0.0))
        xerr = [[max(0.0, e[0]) for e in errs], [max(0.0, e[1]) for e in errs]] if interval and errs else None
        ax.barh(ys, xs, height=bar_h, color=_PALETTE[j % len(_PALETTE)], label=name, xerr=xerr,
                error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"})
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    if xmax is not None:
        ax.set_xlim(0, xmax)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    if n_runs > 1:
        ax.legend(loc="lower right", fontsize=8)
    return render_png(fig)


def accuracy_per_task(runs: Sequence[NamedMetrics]) -> bytes:
    tasks = sorted(
        {t for _, m in runs for t in m["per_task"]},
        key=lambda t: (next(m["per_task"][t]["source"] for _, m in runs if t in m["per_task"]), t),
    )
    return _grouped_barh(
        tasks, runs, lambda m, t: m["per_task"][t]["accuracy"] if t in m["per_task"] else None,
        xlabel="accuracy (mean reward), 95% Wilson interval", title="Accuracy per task",
        interval=lambda m, t: m["per_task"][t].get("accuracy_ci") if t in m["per_task"] else None,
    )


def accuracy_per_source(runs: Sequence[NamedMetrics]) -> bytes:
    sources = sorted({s for _, m in runs for s in m["per_source"]})
    labels = [*sources, "overall"]

    def value(m: dict[str, Any], label: str) -> float | None:
        if label == "overall":
            return m["macro_accuracy"]
        src = m["per_source"].get(label)
        return src["macro_accuracy"] if src else None

    def interval(m: dict[str, Any], label: str) -> Sequence[float] | None:
        if label == "overall":
            return m.get("macro_accuracy_ci")
        return (m["per_source"].get(label) or {}).get("macro_accuracy_ci")

    return _grouped_barh(labels, runs, value, xlabel="macro accuracy (mean over tasks), 95% bootstrap interval",
                         title="Accuracy per source", interval=interval)


def behaviour(runs: Sequence[NamedMetrics]) -> bytes:
    key_of = {label: key for key, label in _BEHAVIOUR}
    return _grouped_barh(
        list(key_of), runs, lambda m, label: m.get(key_of[label]),
        xlabel="share", title="Code-interpreter behaviour",
    )


def stop_reasons(runs: Sequence[NamedMetrics]) -> bytes:
    """Stacked bars: the share of samples ending with each stop reason, one bar per run."""
    reasons = sorted({r for _, m in runs for r in m["stop_reasons"]})
    fig = new_figure(8.0, max(1.8, 0.45 * len(runs) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    left = [0.0] * len(runs)
    for j, reason in enumerate(reasons):
        shares = [m["stop_reasons"].get(reason, 0) / m["samples"] for _, m in runs]
        ax.barh(range(len(runs)), shares, left=left, color=_PALETTE[j % len(_PALETTE)], label=reason)
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.set_yticks(range(len(runs)))
    ax.set_yticklabels([name for name, _ in runs], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of samples")
    ax.set_title("Stop reasons")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=max(1, len(reasons)), fontsize=8)
    return render_png(fig)


_PLOTS: tuple[tuple[str, str, Callable[[Sequence[NamedMetrics]], bytes]], ...] = (
    ("accuracy_per_source", "Accuracy per source (macro over tasks) and overall", accuracy_per_source),
    ("accuracy_per_task", "Accuracy per task", accuracy_per_task),
    ("behaviour", "Code use, self-check, execution errors, answer rate", behaviour),
    ("stop_reasons", "How samples ended", stop_reasons),
)


def make_plots(runs: Sequence[NamedMetrics]) -> list[Plot]:
    if not runs:
        raise ValueError("make_plots needs at least one run")
    return [Plot(name, caption, draw(runs)) for name, caption, draw in _PLOTS]
