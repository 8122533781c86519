"""What every CLI command shares: the `-o key=value` option, comma lists, and one error exit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel

OverrideOpt = Annotated[
    list[str] | None,
    typer.Option("--override", "-o", help="Dotted key=value overriding the recipe, e.g. -o train.lr=2e-5."),
]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue from the newest checkpoint in --out.")]
MaxStepsOpt = Annotated[int | None, typer.Option(help="Stop after N optimizer steps.")]

C = TypeVar("C", bound=BaseModel)


def config_opt(folder: str) -> Any:
    """The `--config/-c` recipe option, pointing at the recipes under `configs/<folder>/`."""
    return typer.Option("--config", "-c", help=f"YAML recipe (see configs/{folder}/).")


def run_with_config(cls: type[C], config: Path | None, overrides: list[str] | None, flags: Mapping[str, Any],
                    run: Callable[[C], Any], errors: tuple[type[Exception], ...]) -> Any:
    """Load `cls` (YAML < -o overrides < flags) and call the library function `run` with it; a bad
    config or one of `errors` (problems the user can fix) exits with a one-line message."""
    from r1ci.config import ConfigError, load_config

    try:
        cfg = load_config(cls, config, overrides, flags=flags)
    except ConfigError as exc:
        fail(exc)
    try:
        return run(cfg)
    except errors as exc:
        fail(exc)


def train_flags(model: str | None, out: str | None, max_steps: int | None, resume: bool) -> dict[str, Any]:
    """The flags every training command (`sft train`, `rl train`) has, as the config keys they set.
    `--resume` is a bare switch, so its absence must not override a recipe's `resume: true`."""
    return {"model": model, "out": out, "train.max_steps": max_steps, "resume": resume or None}


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
