"""`r1ci demo`: the end-to-end pipeline (base eval → SFT synth → SFT → curriculum → GRPO → eval → report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    out: Annotated[Path, typer.Option("--out", help="Run folder; every artefact of every stage lands here.")] = Path(
        "runs/demo"
    ),
    model: Annotated[str | None, typer.Option(help="Base model: default | hub id | folder | .gguf.")] = None,
    config: Annotated[Path | None, typer.Option(help="Demo YAML (see configs/demo.yaml).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Reduced run (a few minutes on CPU): tests, smoke runs.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted demo in --out.")] = False,
    override: Annotated[list[str] | None, typer.Option("-o", "--override", help="key=value, e.g. -o sft.train.lr=5e-5")] = None,
) -> None:
    """Run the whole method end to end on one model and write OUT/report.html + OUT/report.md."""
    from r1ci.demo import load_demo_config, run_demo

    overrides = list(override or [])
    overrides.append(f"out={out}")
    if model:
        overrides.append(f"model={model}")
    cfg = load_demo_config(config, overrides, quick=quick)
    run_demo(cfg, resume=resume)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
