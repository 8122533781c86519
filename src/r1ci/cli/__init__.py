"""The `r1ci` command line: a thin layer over library calls (one sub-app per module)."""

from __future__ import annotations

import typer

from r1ci.cli import demo, evaluation, experiment, rl, sandbox, sft, solve, tasks

app = typer.Typer(
    name="r1ci",
    help="Teach language models to reason with a code interpreter (R1-Code-Interpreter).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(tasks.app, name="tasks")
app.add_typer(evaluation.app, name="eval")
app.add_typer(sft.app, name="sft")
app.add_typer(rl.app, name="rl")
solve.register(app)
demo.register(app)
experiment.register(app)

__all__ = ["app"]
