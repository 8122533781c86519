"""`r1ci demo`: the end-to-end pipeline (base eval → SFT synth → SFT → curriculum → GRPO → eval → report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from r1ci.cli.common import OverrideOpt, fail


def demo(
    out: Annotated[Path, typer.Option("--out", help="Run folder; every artefact of every stage lands here.")] = Path(
        "runs/demo"
    ),
    model: Annotated[str | None, typer.Option(help="Base model: default | hub id | folder | .gguf.")] = None,
    config: Annotated[Path | None, typer.Option(help="Demo YAML (see configs/demo.yaml).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Reduced run (a few minutes on CPU): tests, smoke runs.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted demo in --out.")] = False,
    override: OverrideOpt = None,
) -> None:
    """Run the whole method end to end on one model and write OUT/report.html + OUT/report.md."""
    from r1ci.config import ConfigError
    from r1ci.pipelines.demo import load_demo_config, run_demo

    try:
        cfg = load_demo_config(config, override, quick=quick, flags={"out": str(out), "model": model})
        run_demo(cfg, resume=resume)
    except (ConfigError, FileExistsError) as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
