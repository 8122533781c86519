"""`r1ci sft ...`: synthesise SFT trajectories by rejection sampling, and train on them.

Thin layer: each command builds a typed config (YAML recipe + flags + `-o key=value` overrides)
and calls one library function (`r1ci.train.synth.synthesize`, `r1ci.train.sft.train_sft`).
"""

from __future__ import annotations

import os
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


@app.command("synth")
def synth(
    config: ConfigOpt = None,
    model: Annotated[str | None, typer.Option(help="Teacher: 'reference' (scripted) or a model for --backend.")] = None,
    backend: Annotated[str | None, typer.Option(help="scripted | hf | vllm | openai.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint (backend openai).")] = None,
    split: Annotated[str, typer.Option(help="Must be 'train': test tasks never become training data.")] = "train",
    tasks: Annotated[str | None, typer.Option(help="Comma-separated task names (default: all training tasks).")] = None,
    questions_per_task: Annotated[int | None, typer.Option(help="Questions generated per task.")] = None,
    samples_per_question: Annotated[int | None, typer.Option(help="Teacher samples per question.")] = None,
    out: Annotated[str | None, typer.Option(help="Output folder (sft.jsonl, all.jsonl, stats.json).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted synthesis / re-filter it.")] = False,
    override: OverrideOpt = None,
) -> None:
    """Synthesise SFT trajectories on training tasks by rejection sampling. Prints the output folder."""
    from r1ci.train.synth import SynthConfig, synthesize

    try:
        raw = apply_overrides(load_yaml(config), override)
        for key, value in (("model", model), ("backend", backend), ("base_url", base_url), ("split", split),
                           ("tasks", tasks), ("questions_per_task", questions_per_task),
                           ("samples_per_question", samples_per_question), ("out", out)):
            _set(raw, key, value)
        if resume:
            raw["resume"] = True
        cfg = SynthConfig.model_validate(raw)
    except (ConfigError, ValueError) as exc:
        _fail(exc)
    try:
        folder = synthesize(cfg)
    except (FileExistsError, FileNotFoundError, ValueError, KeyError) as exc:
        _fail(exc)
    typer.echo(str(folder))


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
    if os.environ.get("RANK", "0") == "0":  # under accelerate/torchrun, print once
        typer.echo(str(final))
