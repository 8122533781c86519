"""`r1ci rl ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="rl commands", no_args_is_help=True)
