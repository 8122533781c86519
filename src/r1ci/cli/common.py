"""What every CLI command shares: the `-o key=value` option, comma lists, and one error exit."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

OverrideOpt = Annotated[
    list[str] | None,
    typer.Option("--override", "-o", help="Dotted key=value overriding the recipe, e.g. -o train.lr=2e-5."),
]


def split_commas(items: list[str] | str | None) -> list[str] | None:
    """`--tasks a,b --tasks c` -> [a, b, c] (repeatable and comma-separated both work)."""
    if not items:
        return None
    if isinstance(items, str):
        items = [items]
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def fail(exc: Exception | str) -> NoReturn:
    """Print a one-line error (the message names the problem and the fix) and exit with status 2."""
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2) from (exc if isinstance(exc, Exception) else None)
