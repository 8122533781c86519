"""`r1ci tasks ...`: list the 144 tasks, show sample questions, check invariants, export question sets (thin layer)."""

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
    """Every registered task with its source, split and difficulty levels; totals at the bottom.

    Extra tasks (outside the 144 and both splits) are listed with split "extra" unless --split is given."""
    from r1ci.tasks import active_split, all_tasks, assignment, counts, suites

    try:
        selected = all_tasks(suite=suite, split=split, extra=split is None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    table = Table(title=f"tasks (split: {active_split().origin})", show_lines=False)
    for col in ("name", "source", "split", "difficulties", "ref. program"):
        table.add_column(col)
    for t in selected:
        table.add_row(
            t.name,
            t.source,
            assignment(t.name) or "extra",
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
    extra = sum(c["extra"] for c in by_source.values())
    console.print(
        f"{len(selected)} tasks shown; {train + test} registered: {train} train / {test} test"
        + (f" (+ {extra} extra tasks outside the split)" if extra else "")
    )


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


@app.command("check")
def check(
    tasks_opt: list[str] | None = typer.Option(
        None, "--tasks", help="task names or suites/splits (symbench, bbh, reasoning_gym, train, test, extra); "
        "comma-separated or repeated; default: all 144"
    ),
    n: int = typer.Option(10, "--n", help="questions per difficulty"),
    seed: int = typer.Option(0, "--seed"),
    programs: bool = typer.Option(True, "--programs/--no-programs", help="run reference programs in the sandbox"),
    processes: bool = typer.Option(True, "--processes/--no-processes", help="re-make questions in a fresh process"),
) -> None:
    """Check task invariants (gold scores 1, garbage and other golds 0, reproducible, reference program
    solves it, distinct questions per difficulty) and print a table; exit 1 when any task fails.

    Works on your own tasks too: `R1CI_TASK_MODULES=my_pkg.my_tasks r1ci tasks check --tasks my_task`."""
    from r1ci.cli.common import split_commas
    from r1ci.tasks import UnknownTaskError
    from r1ci.tasks.check import check_tasks
    from r1ci.tasks.selection import select_tasks

    if n < 1:
        raise typer.BadParameter("--n must be at least 1 question per difficulty")
    try:
        names = select_tasks(split_commas(tasks_opt))
    except (UnknownTaskError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--tasks") from exc
    table = Table(title=f"task checks (n={n} per difficulty, seed={seed})")
    for col in ("task", "source", "split", "gold", "garbage", "cross", "repro", "program", "distinct", "status"):
        table.add_column(col)
    with console.status("checking tasks...") as status:

        def show(report):  # type: ignore[no-untyped-def]
            status.update(f"checked {report.name}")

        reports = check_tasks(names, n=n, seed=seed, programs=programs, processes=processes, on_report=show)
    for r in reports:
        program = "-" if r.program_solved is None else f"{r.program_solved}/{r.questions}"
        table.add_row(
            r.name, r.source, r.split, f"{r.gold_ok}/{r.questions}",
            "ok" if not r.garbage_fail else f"[red]{r.garbage_fail}[/]",
            f"{r.cross_accepted}/{r.cross_tried}", {True: "yes", False: "[red]no[/]", None: "-"}[r.reproducible],
            program, ",".join(str(v) for v in r.distinct.values()),
            "[green]ok[/]" if r.ok else "[red]FAIL[/]",
        )
    console.print(table)
    failed = [r for r in reports if not r.ok]
    for r in failed:
        console.print(f"[red]{r.name}[/]: " + escape("; ".join(r.problems[:3])))
    console.print(f"{len(reports) - len(failed)}/{len(reports)} tasks pass")
    if failed:
        raise typer.Exit(1)
