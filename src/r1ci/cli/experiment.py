"""`r1ci experiment`: SFT once, then RL arms (uniform, curriculum, curriculum + online) on one budget, evaluated
on the same fresh questions with paired intervals (thin layer over r1ci.pipelines.experiment)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from r1ci.cli.common import OverrideOpt, fail


def experiment(
    config: Annotated[Path | None, typer.Option(help="Experiment YAML (see configs/experiment_cpu.yaml).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run folder (default: the YAML's `out`).")] = None,
    model: Annotated[str | None, typer.Option(help="Base model for SFT: default | hub id | folder | .gguf.")] = None,
    backend: Annotated[str | None, typer.Option(help="auto | hf | vllm (auto: vllm when installed).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted experiment in --out.")] = False,
    override: OverrideOpt = None,
) -> None:
    """Does RL beat SFT outside the noise, and does the curriculum beat uniform sampling? Writes
    OUT/report.md, OUT/outcomes.jsonl (one line per arm and question) and OUT/summary.json."""
    from r1ci.config import ConfigError
    from r1ci.pipelines.experiment import load_experiment_config, run_experiment

    try:
        cfg = load_experiment_config(config, override, flags={
            "out": None if out is None else str(out), "model": model, "backend": backend})
        run_experiment(cfg, resume=resume)
    except (ConfigError, FileExistsError, RuntimeError, KeyError) as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    app.command("experiment")(experiment)
