"""`r1ci sft ...`: synthesise SFT trajectories by rejection sampling, and train on them.

Thin layer: each command builds a typed config (YAML recipe + flags + `-o key=value` overrides)
and calls one library function (`r1ci.train.synth.synthesize`, `r1ci.train.sft.train_sft`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from r1ci.cli.common import (
    MaxStepsOpt,
    OverrideOpt,
    ResumeOpt,
    config_opt,
    run_with_config,
    split_commas,
    train_flags,
)

app = typer.Typer(help="Multi-turn SFT: synthesise verified trajectories, then fine-tune on them.",
                  no_args_is_help=True)

ConfigOpt = Annotated[Path | None, config_opt("sft")]
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

    folder = run_with_config(SynthConfig, config, override, {
        "model": model, "backend": backend, "base_url": base_url, "split": split,
        "tasks": split_commas(tasks), "questions_per_task": questions_per_task,
        "samples_per_question": samples_per_question, "out": out, "resume": resume or None,
    }, synthesize, (FileExistsError, FileNotFoundError, ValueError, KeyError))
    typer.echo(str(folder))


@app.command("train")
def train(
    config: ConfigOpt = None,
    model: Annotated[str | None, typer.Option(help="Base model: hub id, HF folder, .gguf or 'default'.")] = None,
    data: Annotated[list[str] | None, typer.Option(help="sft.jsonl file(s) or synth output folder(s).")] = None,
    out: Annotated[str | None, typer.Option(help="Output folder (checkpoints, metrics, final/).")] = None,
    max_steps: MaxStepsOpt = None,
    resume: ResumeOpt = False,
    override: OverrideOpt = None,
) -> None:
    """Masked multi-turn SFT (loss on model-written tokens only). Prints the final model folder."""
    from r1ci.train.sft import SFTConfig, train_sft

    flags = {"data": data, **train_flags(model, out, max_steps, resume)}
    final = run_with_config(SFTConfig, config, override, flags, train_sft, (FileNotFoundError, ValueError, RuntimeError))
    if os.environ.get("RANK", "0") == "0":  # under accelerate/torchrun, print once
        typer.echo(str(final))
