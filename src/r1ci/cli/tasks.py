"""`r1ci tasks ...`: list the 144 tasks, show sample questions, export question sets (thin layer)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

app = typer.Typer(
    help="List, inspect and export the task suite (SymBench, BIG-Bench-Hard, Reasoning-Gym).",
    no_args_is_help=True,
)
console = Console()


def _difficulties(levels: tuple[int, ...]) -> str:
    if not levels:
        return "-"
    if list(levels) == list(range(levels[0], levels[-1] + 1)) and len(levels) > 1:
        return f"{levels[0]}-{levels[-1]}"
    return ",".join(map(str, levels))


@app.command("list")
def list_tasks(
    suite: str | None = typer.Option(None, "--suite", help="symbench | bbh | reasoning_gym"),
    split: str | None = typer.Option(None, "--split", help="train | test"),
) -> None:
    """Every registered task with its source, split and difficulty levels; totals at the bottom."""
    from r1ci.tasks import active_split, all_tasks, counts, suites

    try:
        selected = all_tasks(suite=suite, split=split)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    table = Table(title=f"tasks (split: {active_split().origin})", show_lines=False)
    for col in ("name", "source", "split", "difficulties", "ref. program"):
        table.add_column(col)
    for t in selected:
        table.add_row(
            t.name,
            t.source,
            active_split().assignment(t.name) or "-",
            _difficulties(t.difficulties),
            "yes" if t.reference_program else "",
        )
    console.print(table)

    totals = Table(title="totals (all registered tasks)")
    for col in ("source", "train", "test", "total"):
        totals.add_column(col, justify="right" if col != "source" else "left")
    by_source = counts()
    for source in suites():
        c = by_source[source]
        totals.add_row(source, str(c["train"]), str(c["test"]), str(c["train"] + c["test"]))
    train = sum(c["train"] for c in by_source.values())
    test = sum(c["test"] for c in by_source.values())
    totals.add_row("all", str(train), str(test), str(train + test), style="bold")
    console.print(totals)
    console.print(f"{len(selected)} tasks shown; {train + test} registered: {train} train / {test} test")


@app.command("show")
def show(
    name: str = typer.Argument(..., help="task name, e.g. game24, bbh_navigate, basic_arithmetic"),
    n: int = typer.Option(3, "--n", help="how many questions"),
    seed: int = typer.Option(0, "--seed"),
    difficulty: int | None = typer.Option(None, "--difficulty", help="a value from the task's difficulties"),
    reference: bool = typer.Option(
        False, "--reference", help="SymBench: the published reference questions instead"
    ),
    program: bool = typer.Option(
        False, "--program", help="also print the task's reference program per question"
    ),
) -> None:
    """Sample questions of one task with their gold answers."""
    from r1ci.tasks import UnknownTaskError, active_split, get
    from r1ci.tasks.symbench.common import reference_questions

    try:
        task = get(name)
    except UnknownTaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from exc
    if reference:
        if task.source != "symbench":
            raise typer.BadParameter(
                f"--reference reads SymBench's published question sets; {name} is a {task.source} task "
                "(BIG-Bench-Hard questions are always the published examples)"
            )
        questions = reference_questions(task)[:n]
        if not questions:
            console.print(f"[yellow]{name} has no reference question set[/]")
    else:
        if difficulty is not None and not task.difficulties:
            raise typer.BadParameter(f"{name} has no difficulty knob; leave --difficulty out")
        try:
            questions = task.questions(n, seed=seed, difficulty=difficulty)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    console.print(
        f"[bold]{task.name}[/]  source={task.source}  split={active_split().assignment(task.name) or '-'}  "
        f"difficulties={_difficulties(task.difficulties)}\n{task.description}"
    )
    for q in questions:
        # Prompts hold brackets ("[ [ <", "['-1', '2']") that rich would read as markup.
        body = f"{escape(q.prompt)}\n\n[bold green]answer:[/] {escape(str(q.answer))}"
        if program and task.reference_program is not None:
            body += f"\n\n[bold]reference program:[/]\n{escape(task.reference_program(q))}"
        console.print(Panel(body, title=q.id, title_align="left", expand=False), markup=True)


@app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="output folder (questions.<format> + manifest.json)"),
    split: str = typer.Option("train", "--split", help="train | test | all"),
    n: int = typer.Option(100, "--n", help="questions per task"),
    seed: int = typer.Option(0, "--seed"),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl | parquet"),
    suite: str | None = typer.Option(None, "--suite", help="only this source"),
    difficulty: int | None = typer.Option(None, "--difficulty", help="for tasks with a difficulty knob"),
) -> None:
    """Write an HF-datasets-loadable question file and a manifest."""
    from r1ci.tasks.export import export_questions

    try:
        path = export_questions(out, split=split, n=n, seed=seed, fmt=fmt, suite=suite, difficulty=difficulty)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    rows = json.loads((path.parent / "manifest.json").read_text())["rows"]
    console.print(f"wrote {rows} questions to {path} (how they were made: {path.parent / 'manifest.json'})")
