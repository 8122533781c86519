"""`r1ci eval ...`: run an evaluation, rebuild a report, compare two runs (thin layer over r1ci.eval)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from r1ci.cli.common import fail, split_commas
from r1ci.config import ConfigError

app = typer.Typer(
    help="Evaluate a model on the task suite (`r1ci eval --model M --out DIR`), rebuild reports, compare runs.",
    invoke_without_command=True,
)
console = Console()

# CLI option -> dotted EvalConfig field. Only options the user actually passed override the YAML.
_FIELDS = {
    "model": "model", "backend": "backend", "base_url": "base_url", "suite": "suite", "tasks": "tasks",
    "max_tasks": "max_tasks", "samples_per_task": "samples_per_task",
    "samples_per_question": "samples_per_question", "reference": "reference", "seed": "seed",
    "mode": "rollout.mode", "temperature": "rollout.temperature", "max_new_tokens": "rollout.max_new_tokens",
    "max_code_turns": "rollout.max_code_turns", "executor": "executor", "out": "out", "resume": "resume",
}


def _eval_config(config: Path | None, sets: list[str], values: dict[str, Any]) -> Any:
    """YAML (if any) + `-o key=value` overrides + explicit CLI options, validated as an EvalConfig."""
    from r1ci.config import load_config
    from r1ci.eval.runner import EvalConfig

    return load_config(EvalConfig, config, sets, flags={_FIELDS[k]: v for k, v in values.items()})


def _summary(metrics: dict[str, Any]) -> Table:
    from r1ci.eval.report import fmt_float, fmt_pct, fmt_pct_ci, fmt_seconds

    table = Table(title="evaluation (95% intervals)", show_header=False)
    rows = [
        ("accuracy (mean reward)", fmt_pct_ci(metrics["accuracy"], metrics.get("accuracy_ci"))),
        ("macro accuracy (over tasks)", fmt_pct_ci(metrics["macro_accuracy"], metrics.get("macro_accuracy_ci"))),
        *((f"  {src} ({m['tasks']} tasks)", fmt_pct_ci(m["macro_accuracy"], m.get("macro_accuracy_ci")))
          for src, m in metrics["per_source"].items()),
        ("code-use rate", fmt_pct(metrics["code_use_rate"])),
        ("mean code turns", fmt_float(metrics["mean_code_turns"])),
        ("execution-error rate", fmt_pct(metrics["exec_error_rate"])),
        ("self-check rate", fmt_pct(metrics["self_check_rate"])),
        ("mean completion tokens", fmt_float(metrics["mean_completion_tokens"], 1)),
        ("samples", str(metrics["samples"])),
        ("wall time", fmt_seconds(metrics.get("wall_time_s"))),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


@app.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    model: str | None = typer.Option(None, help="Hub id, HF folder, .gguf file, or 'default' (embedded SmolLM2)."),
    backend: str | None = typer.Option(None, help="hf | vllm | openai."),
    base_url: str | None = typer.Option(None, help="OpenAI-compatible server URL (openai backend)."),
    suite: str | None = typer.Option(None, help="test | train | all | symbench | bbh | reasoning_gym."),
    mode: str | None = typer.Option(None, help="ci (code interpreter) | text (no code runs)."),
    samples_per_task: int | None = typer.Option(None, help="Questions per task."),
    samples_per_question: int | None = typer.Option(None, help="Samples per question (k > 1 adds pass@k)."),
    max_tasks: int | None = typer.Option(None, help="Keep K tasks, round-robin over sources."),
    tasks: str | None = typer.Option(None, help="Comma-separated task names (overrides --suite)."),
    reference: bool | None = typer.Option(None, "--reference/--generated",
                                          help="SymBench: published reference questions instead of generated."),
    seed: int | None = typer.Option(None, help="Question-generation and sampling seed."),
    temperature: float | None = typer.Option(None, help="Sampling temperature (0 = greedy)."),
    max_new_tokens: int | None = typer.Option(None, help="Token budget of a whole completion."),
    max_code_turns: int | None = typer.Option(None, help="Code executions per answer (paper: 5)."),
    executor: str | None = typer.Option(None, help="local | http://HOST:PORT | sandboxfusion:http://HOST:PORT."),
    config: Path | None = typer.Option(None, help="EvalConfig YAML; CLI options override it."),
    set_: list[str] = typer.Option([], "--override", "-o", "--set",
                                   help="Dotted key=value override, e.g. -o rollout.top_p=0.9 (--set: old name)."),
    out: Path | None = typer.Option(None, help="Output folder (must be new or empty unless --resume)."),
    resume: bool | None = typer.Option(None, "--resume/--no-resume", help="Finish an interrupted run in --out."),
) -> None:
    """Evaluate a model: writes trajectories.jsonl, metrics.json, config.json, report.md, report.html."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None and config is None:
        console.print(ctx.get_help())
        raise typer.Exit(0)
    values = {k: v for k, v in locals().items() if k in _FIELDS}
    values["tasks"] = split_commas(tasks)
    try:
        cfg = _eval_config(config, set_, values)
        from r1ci.eval.runner import evaluate

        folder = evaluate(cfg)
    except (ConfigError, ValueError, FileNotFoundError, KeyError, ImportError) as exc:
        # ValueError covers pydantic's ValidationError (a bad -o value); ImportError carries the
        # install hint of an optional backend (vllm, openai).
        fail(exc)
    metrics = json.loads((folder / "metrics.json").read_text())
    console.print(_summary(metrics))
    console.print(f"report: {folder / 'report.html'}  (and report.md, metrics.json, trajectories.jsonl)")


@app.command("report")
def report(
    run_dir: Path = typer.Argument(..., help="An eval output folder."),
    title: str | None = typer.Option(None, help="Report title."),
) -> None:
    """Recompute metrics.json and rewrite report.md/report.html from a folder's trajectories.jsonl."""
    from r1ci.eval.runner import rebuild_report

    try:
        folder = rebuild_report(run_dir, title=title)
    except (FileNotFoundError, ValueError) as exc:
        fail(exc)
    console.print(_summary(json.loads((folder / "metrics.json").read_text())))
    console.print(f"report: {folder / 'report.html'}")


def _write_md(runs: list[Any], path: Path) -> None:
    from r1ci.eval.report import build_report

    rep = build_report(runs)
    plot_dir = path.parent / f"{path.stem}-plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    for plot in rep.plots:
        (plot_dir / f"{plot.name}.png").write_bytes(plot.png)
    path.write_text(rep.markdown(plot_dir.name), encoding="utf-8")


def _write_html(runs: list[Any], path: Path) -> None:
    from r1ci.eval.report import build_report

    path.write_text(build_report(runs).html(), encoding="utf-8")


def _write_json(runs: list[Any], path: Path) -> None:
    from r1ci.eval.report import compare_runs

    path.write_text(json.dumps(compare_runs(runs[0], runs[1]), indent=2) + "\n")


_COMPARE_WRITERS: dict[str, Callable[[list[Any], Path], None]] = {
    ".md": _write_md, ".html": _write_html, ".json": _write_json,
}


@app.command("compare")
def compare(
    run_a: Path = typer.Argument(..., help="First eval folder (the baseline)."),
    run_b: Path = typer.Argument(..., help="Second eval folder; deltas are B − A."),
    out: Path | None = typer.Option(None, help="Also write the comparison: .md (+ plots), .html or .json."),
) -> None:
    """Put two runs side by side: overall, per-source and per-task numbers with deltas (B − A)."""
    from r1ci.eval.report import OVERALL_ROWS, compare_runs, compared_cells, load_run, unique_names

    if out is not None and out.suffix not in _COMPARE_WRITERS:
        fail(f"--out {out}: use a .md, .html or .json file name")
    try:
        names = unique_names([run_a, run_b])
        runs = [load_run(run_a, names[0]), load_run(run_b, names[1])]
    except (FileNotFoundError, ValueError) as exc:
        fail(exc)
    cmp = compare_runs(*runs)
    rows = {key: (label, kind) for key, label, kind in OVERALL_ROWS}
    for section, label in (("overall", "metric"), ("per_source", "source (macro)"), ("per_task", "task")):
        table = Table(title=f"{section.replace('_', ' ')}: B − A")
        for col in (label, names[0], names[1], "Δ [95% CI, paired]"):
            table.add_column(col, justify="left" if col == label else "right")
        for key, v in cmp[section].items():
            name, kind = rows[key] if section == "overall" else (key, "pct")
            table.add_row(name, *compared_cells(v, kind))
        console.print(table)
    paired = cmp["paired"]
    console.print(f"paired on {paired['questions']} shared questions: accuracy {paired['verdict']}" if paired
                  else "[yellow]the runs share no question id, so no paired test; evaluate both with the same "
                  "tasks, --samples-per-task and --seed[/yellow]")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        _COMPARE_WRITERS[out.suffix](runs, out)
        console.print(f"wrote {out}")
