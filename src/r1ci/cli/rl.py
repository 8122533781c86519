"""`r1ci rl ...`: GRPO training and the improvement-potential curriculum.

Thin layer: each command builds a typed config (YAML recipe + flags + `-o key=value` overrides) and
calls one library function (`r1ci.train.grpo.train_grpo`, `r1ci.train.estimate.estimate_potentials`,
`r1ci.train.curriculum_report.curriculum_report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from r1ci.cli.common import (
    MaxStepsOpt,
    OverrideOpt,
    ResumeOpt,
    config_opt,
    fail,
    run_with_config,
    split_commas,
    train_flags,
)

app = typer.Typer(help="RL: GRPO on multi-turn code-interpreter rollouts, with a multi-stage curriculum.",
                  no_args_is_help=True)
curriculum_app = typer.Typer(help="Estimate pass rates -> improvement potentials -> stages; report them.",
                             no_args_is_help=True)
app.add_typer(curriculum_app, name="curriculum")

@app.command("train")
def train(
    config: Annotated[Path | None, config_opt("rl")] = None,
    model: Annotated[str | None, typer.Option(help="Starting policy: SFT output folder, hub id, .gguf or 'default'.")] = None,
    out: Annotated[str | None, typer.Option(help="Output folder (metrics.jsonl, checkpoints, final/).")] = None,
    max_steps: MaxStepsOpt = None,
    resume: ResumeOpt = False,
    override: OverrideOpt = None,
) -> None:
    """GRPO with interpreter output masked out of the loss. Prints the final model folder."""
    from r1ci.train.grpo import train_grpo
    from r1ci.train.grpo_config import GRPOConfig

    final = run_with_config(GRPOConfig, config, override, train_flags(model, out, max_steps, resume),
                            train_grpo, (FileNotFoundError, ValueError, RuntimeError, ImportError))
    typer.echo(str(final))


@curriculum_app.command("estimate")
def estimate(
    out: Annotated[str, typer.Option(help="Estimates JSONL (appended as it goes; a rerun resumes).")],
    model: Annotated[str, typer.Option(help="Starting policy (the model RL will start from).")] = "default",
    split: Annotated[str, typer.Option(help="Task split: train (RL prompts) or test.")] = "train",
    tasks: Annotated[list[str] | None, typer.Option("--tasks", help="Task or suite names (repeatable or comma-separated); default all of --split.")] = None,
    questions_per_task: Annotated[int, typer.Option(help="Questions per task.")] = 20,
    question_seed: Annotated[int, typer.Option(help="Seed of the generated questions (= the RL run's data.seed).")] = 0,
    difficulty: Annotated[int | None, typer.Option(help="Difficulty for tasks that have one (= the RL run's data.difficulty).")] = None,
    rollouts: Annotated[int, typer.Option(help="K: samples per question (split over --modes).")] = 8,
    modes: Annotated[list[str] | None, typer.Option("--modes", help="Sampling modes: free, text, code (repeatable or comma-separated).")] = None,
    backend: Annotated[str, typer.Option(help="Rollout backend: hf or vllm.")] = "hf",
    format_reward: Annotated[float | None, typer.Option(help="The RL run's grpo.format_reward (pass rates then measure that reward).")] = None,
    max_new_tokens: Annotated[int | None, typer.Option(help="Completion budget per rollout.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature (default 1.0, as in RL).")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML with EstimateConfig fields.")] = None,
    override: OverrideOpt = None,
) -> None:
    """Estimate each question's pass rate p with K rollouts; potential = p(1-p) by default."""
    from r1ci.train.estimate import EstimateConfig, estimate_potentials

    path = run_with_config(EstimateConfig, config, override, {
        "out": out, "model": model, "split": split, "tasks": split_commas(tasks),
        "questions_per_task": questions_per_task, "question_seed": question_seed, "difficulty": difficulty,
        "rollouts": rollouts, "modes": split_commas(modes), "backend": backend, "format_reward": format_reward,
        "rollout.max_new_tokens": max_new_tokens, "rollout.temperature": temperature,
    }, estimate_potentials, (FileNotFoundError, ValueError, RuntimeError, ImportError, KeyError))
    from r1ci.train.curriculum_report import curriculum_report

    curriculum_report(path)
    typer.echo(str(path))


@curriculum_app.command("report")
def report(
    file: Annotated[Path, typer.Argument(help="Estimates JSONL from `r1ci rl curriculum estimate`.")],
    out: Annotated[Path | None, typer.Option(help="Folder for potentials.png, tasks.png, report.html.")] = None,
    stages: Annotated[int, typer.Option(help="Number of stages.")] = 4,
    potential: Annotated[str, typer.Option(help="Potential: variance, std, entropy, signal.")] = "variance",
    group_size: Annotated[int, typer.Option(help="G (used by the 'signal' potential).")] = 8,
) -> None:
    """Potential histogram per stage and per task (tables; PNG + HTML with --out)."""
    from r1ci.train.curriculum_report import curriculum_report

    try:
        curriculum_report(file, out_dir=out, num_stages=stages, potential_name=potential, group_size=group_size)
    except (FileNotFoundError, ValueError) as exc:
        fail(exc)
    if out is not None:
        typer.echo(str(out / "report.html"))
