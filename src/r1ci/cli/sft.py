"""`r1ci sft ...`: synthesise SFT trajectories by rejection sampling, and train on them.

Thin layer: each command builds a typed config (YAML recipe + flags + `-o key=value` overrides)
and calls one library function (`r1ci.train.synth.synthesize`, `r1ci.train.sft.train_sft`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from r1ci.config import ConfigError, apply_overrides, load_yaml

app = typer.Typer(help="Multi-turn SFT: synthesise verified trajectories, then fine-tune on them.",
                  no_args_is_help=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML recipe (see configs/sft/).")]
OverrideOpt = Annotated[
    list[str] | None,
    typer.Option("--override", "-o", help="Dotted key=value overriding the recipe, e.g. -o train.lr=2e-5."),
]


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Explicit flags win over the recipe and over -o (they are the most specific thing typed)."""
    if value is None:
        return
    node = data
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2) from exc


@app.command("train")
def train(
    config: ConfigOpt = None,
    model: Annotated[str | None, typer.Option(help="Base model: hub id, HF folder, .gguf or 'default'.")] = None,
    data: Annotated[list[str] | None, typer.Option(help="sft.jsonl file(s) or synth output folder(s).")] = None,
    out: Annotated[str | None, typer.Option(help="Output folder (checkpoints, metrics, final/).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N optimizer steps (overrides epochs).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the newest checkpoint in --out.")] = False,
    override: OverrideOpt = None,
) -> None:
    """Masked multi-turn SFT (loss on model-written tokens only). Prints the final model folder."""
    from r1ci.train.sft import SFTConfig, train_sft

    try:
        raw = apply_overrides(load_yaml(config), override)
        _set(raw, "model", model)
        _set(raw, "data", data)
        _set(raw, "out", out)
        _set(raw, "train.max_steps", max_steps)
        if resume:
            raw["resume"] = True
        cfg = SFTConfig.model_validate(raw)
    except (ConfigError, ValueError) as exc:
        _fail(exc)
    try:
        final = train_sft(cfg)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        _fail(exc)
    typer.echo(str(final))
