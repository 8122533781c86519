"""`r1ci demo`: the whole method end to end, from tasks to a trained, evaluated model, in one run folder.

Stages (each one a library call, each leaving its artefacts under `OUT/<stage>/`):

    eval-base-text   base model, text only                     (the paper's "text" column)
    eval-base-ci     base model with the interpreter           (the paper's "CI" column)
    synth            SFT trajectories from the scripted reference teacher, verified
    sft              masked multi-turn SFT
    eval-sft         SFT model with the interpreter
    curriculum       pass rates of the SFT model -> improvement potentials -> stages
    rl               curriculum GRPO from the SFT model
    eval-rl          RL model with the interpreter
    report           one Markdown + HTML report putting every stage side by side

A stage is done when its `DONE` marker exists; `--resume` skips finished stages and lets an interrupted
stage continue from what it left on disk (each stage is resumable on its own). Evaluation questions
(seed `eval_seed`) are disjoint from SFT questions (`synth_seed`) and RL questions (`rl_seed`): the demo
measures generalisation to new questions of the same kinds. Which kinds: training-split tasks where a
short program clearly beats mental arithmetic for a 135M model (multiplication, counting, string edits).
On a GPU, `--model` and `--config` switch the same pipeline to a real model and recipe.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.rule import Rule

from r1ci.config import (
    StrictModel,
    build_config,
    check_resume_config,
    dump_config,
    load_yaml,
)
from r1ci.pipelines import stages
from r1ci.provenance import provenance
from r1ci.rollout.backends import resolve_backend_name

console = Console(stderr=True)

DEMO_TASKS = [
    "number_multiply",
    "basic_arithmetic",
    "letter_counting",
    "spell_backward",
    "count_bits",
    "gcd",
]


CPU_SAMPLING: dict[str, Any] = {"temperature": 1.0, "max_new_tokens": 256, "max_tokens_per_turn": 128,
                                "stop_at_answer": True}
"""Sampled rollouts of the CPU demo (estimate and RL alike): stop at the first answer (the 135M model
rambles on after it) and cut a turn at 128 tokens (SFT turns are < 100; rounds run in lock-step, so one
rambling sample would hold its whole batch)."""


class DemoConfig(StrictModel):
    """The demo pipeline. Sections `synth`, `sft`, `estimate`, `rl` are partial configs merged over the
    stage's own config (`SynthConfig`, `SFTConfig`, `EstimateConfig`, `GRPOConfig`), so any knob of a
    stage can be set from the demo YAML or with `-o sft.train.lr=1e-5`."""

    model: str = "default"
    """Base model: `default` (embedded SmolLM2-135M-Instruct), a hub id, a folder or a .gguf."""
    out: str = "runs/demo"
    backend: Literal["auto", "hf", "vllm"] = "auto"
    """Generation backend of the evaluations, the curriculum estimate and the RL rollouts (a colocated
    engine re-loaded after every update). auto = vllm where installed (on 2 CPU cores 6.6x the hf
    backend's tokens/s on the demo's rollouts, 9 s to start; docs/results.md), else hf."""
    tasks: list[str] = Field(default_factory=lambda: list(DEMO_TASKS))
    """Training-split tasks with reference programs (the scripted teacher needs them)."""
    eval_questions_per_task: int = Field(6, ge=1)
    eval_seed: int = 0
    synth_seed: int = 1000
    rl_seed: int = 2000
    eval_max_new_tokens: int = 256
    base_eval_max_new_tokens: int | None = None
    """Token budget of the base model's evaluations (None = eval_max_new_tokens): the untrained model
    rambles to the limit, so a smaller cap saves minutes without changing its (near-zero) score."""
    eval_stop_at_answer: bool = False
    """Stop each evaluation sample at its first answer (faster; the self-check rate is then 0)."""
    eval_batch_size: int | None = 24
    """Sequences generated together in (greedy) evaluation: a wide batch amortises CPU forward passes.
    Sampled rollouts (estimate, RL) keep the backend's default: their lengths vary, and a wide batch
    waits for its longest member."""
    synth: dict[str, Any] = Field(default_factory=lambda: {"questions_per_task": 8})
    sft: dict[str, Any] = Field(
        default_factory=lambda: {
            "train": {
                "lr": 1e-4, "epochs": 1, "micro_batch_size": 1, "grad_accum": 4, "max_length": 1024,
                "warmup_ratio": 0.1, "min_lr_ratio": 0.1, "eval_fraction": 0.1, "save_every": 10,
                "keep_checkpoints": 1,
            },
        }
    )
    estimate: dict[str, Any] = Field(
        default_factory=lambda: {
            "questions_per_task": 4, "rollouts": 4,
            "rollout": dict(CPU_SAMPLING),
        }
    )
    rl: dict[str, Any] = Field(
        default_factory=lambda: {
            "grpo": {"group_size": 4, "questions_per_step": 2, "micro_batch_size": 4},
            "optim": {"lr": 5e-6},
            "rollout": dict(CPU_SAMPLING),
            "curriculum": {"num_stages": 2, "steps_per_stage": 3},
            "train": {"max_steps": 6, "save_every": 2, "keep_checkpoints": 1},
        }
    )


QUICK_OVERRIDES = [
    # where the SFT model is mid-range (full demo: letter_counting 17%, basic_arithmetic 33%,
    # number_multiply 83%), so the curriculum estimate finds questions with potential > 0
    "tasks=[number_multiply, basic_arithmetic, letter_counting]",
    "eval_questions_per_task=3",
    "eval_max_new_tokens=160",
    "base_eval_max_new_tokens=48",  # the base model rambles to the limit (3.6 of 6.8 min before)
    "eval_stop_at_answer=true",
    "synth.questions_per_task=10",  # 30 trajectories
    # 15 updates of 2 trajectories, same tokens and time as 7 of 4: at 7 the model had not yet learned to
    # close with <<<answer>>> (0% after SFT; the curriculum then found no question with potential > 0)
    "sft.train.grad_accum=2",
    "sft.train.epochs=1",
    "sft.train.save_every=5",
    "estimate.questions_per_task=2",
    "estimate.rollouts=4",
    "estimate.rollout.max_new_tokens=160",
    "rl.grpo.group_size=4",
    "rl.grpo.questions_per_step=2",
    "rl.grpo.micro_batch_size=4",
    "rl.rollout.max_new_tokens=160",
    "rl.curriculum.num_stages=2",
    "rl.curriculum.steps_per_stage=1",
    "rl.train.max_steps=2",
    "rl.train.save_every=1",
]
"""`--quick`: the same pipeline in under 5 minutes on 2 idle CPU cores (every stage does real work)."""


def load_demo_config(path: str | Path | None = None, overrides: list[str] | None = None,
                     quick: bool = False, flags: dict[str, Any] | None = None) -> DemoConfig:
    """Defaults, then the YAML, then `--quick`, then `-o` overrides, then explicit flags (None = not given)."""
    # Start from the defaults so a YAML or `-o sft.train.lr=...` changes one knob of a stage section
    # instead of replacing the whole section.
    data = stages.merged(DemoConfig().model_dump(mode="json"), load_yaml(path))
    cfg = build_config(DemoConfig, data, (QUICK_OVERRIDES if quick else []) + list(overrides or []), flags,
                       source=path)
    validate_stages(cfg, path)
    return cfg


# ---------------------------------------------------------------- stages


def _eval_config(cfg: DemoConfig, out: Path, model: str, mode: str, resume: bool) -> Any:
    base = model == cfg.model and cfg.base_eval_max_new_tokens is not None
    return stages.eval_stage(model=model, tasks=cfg.tasks, questions_per_task=cfg.eval_questions_per_task,
                             seed=cfg.eval_seed, mode=mode,
                             max_new_tokens=cfg.base_eval_max_new_tokens if base else cfg.eval_max_new_tokens,
                             batch_size=cfg.eval_batch_size, out=out, resume=resume,
                             stop_at_answer=cfg.eval_stop_at_answer, backend=resolve_backend_name(cfg.backend))


def _synth_config(cfg: DemoConfig, out: Path, resume: bool) -> Any:
    return stages.synth_stage(tokenizer=cfg.model, tasks=cfg.tasks, seed=cfg.synth_seed, out=out, resume=resume,
                              section=cfg.synth)


def _sft_config(cfg: DemoConfig, out: Path, synth_dir: Path, resume: bool) -> Any:
    return stages.sft_stage(model=cfg.model, data=synth_dir, out=out, resume=resume, section=cfg.sft)


def _estimate_config(cfg: DemoConfig, out: Path, model: Path) -> Any:
    return stages.estimate_stage(model=model, tasks=cfg.tasks, seed=cfg.rl_seed, out=out / "estimates.jsonl",
                                 section=stages.merged({"backend": resolve_backend_name(cfg.backend)}, cfg.estimate))


def _rl_config(cfg: DemoConfig, out: Path, model: Path, estimates: Path, resume: bool) -> Any:
    return stages.rl_stage(model=model, tasks=cfg.tasks, questions_per_task=int(cfg.estimate.get("questions_per_task", 4)),
                           seed=cfg.rl_seed, estimates=estimates, out=out, resume=resume,
                           section=stages.merged({"generation": {"backend": resolve_backend_name(cfg.backend)}}, cfg.rl))


def validate_stages(cfg: DemoConfig, source: str | Path | None = None) -> None:
    """Build every stage's config now, as `run_demo` will, so a bad key (`-o sft.train.lrr=1`) fails at
    load, naming the key and the valid ones, instead of stages later."""
    from r1ci.eval.runner import EvalConfig
    from r1ci.train.estimate import EstimateConfig
    from r1ci.train.grpo_config import GRPOConfig
    from r1ci.train.sft import SFTConfig
    from r1ci.train.synth import SynthConfig

    out = Path(cfg.out)
    sft_model = out / "sft" / "final"
    checks: list[tuple[str, type[BaseModel], Callable[[], Any]]] = [
        ("", EvalConfig, lambda: _eval_config(cfg, out / "eval-base-ci", cfg.model, "ci", False)),
        ("synth.", SynthConfig, lambda: _synth_config(cfg, out / "synth", False)),
        ("sft.", SFTConfig, lambda: _sft_config(cfg, out / "sft", out / "synth", False)),
        ("estimate.", EstimateConfig, lambda: _estimate_config(cfg, out / "curriculum", sft_model)),
        ("rl.", GRPOConfig, lambda: _rl_config(cfg, out / "rl", sft_model, out / "curriculum" / "x.jsonl", False)),
    ]
    stages.check_stages(checks, "DemoConfig" + (f" in {source}" if source else ""))


STAGES = ("eval-base-text", "eval-base-ci", "synth", "sft", "eval-sft", "curriculum", "rl", "eval-rl", "report")


def run_demo(cfg: DemoConfig, *, resume: bool = False) -> Path:
    """Run (or, with `resume`, finish) the demo; returns the path of `OUT/report.html`."""
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()) and not resume:
        raise FileExistsError(
            f"{out} is not empty: pass --resume to continue that demo, or --out with a new folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "demo_config.yaml"
    if resume and saved.exists():
        check_resume_config(load_yaml(saved), cfg.model_dump(mode="json"), where=out)
    dump_config(cfg, saved)
    (out / "provenance.json").write_text(json.dumps(provenance(cfg), indent=2))

    timings: dict[str, float] = json.loads((out / "timings.json").read_text()) if (out / "timings.json").exists() else {}

    def stage(name: str, fn: Callable[[bool], Any]) -> None:
        folder = out / name
        marker = folder / "DONE"
        if marker.exists():
            console.print(f"[dim]✓ {name}: done earlier, skipped[/dim]")
            return
        console.print(Rule(f"[bold]{name}[/bold]"))
        started = time.perf_counter()
        partial = folder.exists() and any(folder.iterdir())
        fn(partial)
        folder.mkdir(parents=True, exist_ok=True)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        (out / "timings.json").write_text(json.dumps(timings, indent=2))
        marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))

    sft_model = out / "sft" / "final"
    rl_model = out / "rl" / "final"
    estimates = out / "curriculum" / "estimates.jsonl"

    from r1ci.eval.runner import evaluate
    from r1ci.train.estimate import estimate_potentials
    from r1ci.train.grpo import train_grpo
    from r1ci.train.sft import train_sft
    from r1ci.train.synth import synthesize

    stage("eval-base-text", lambda r: evaluate(_eval_config(cfg, out / "eval-base-text", cfg.model, "text", r)))
    stage("eval-base-ci", lambda r: evaluate(_eval_config(cfg, out / "eval-base-ci", cfg.model, "ci", r)))
    stage("synth", lambda r: synthesize(_synth_config(cfg, out / "synth", r)))
    stage("sft", lambda r: train_sft(_sft_config(cfg, out / "sft", out / "synth", r)))
    stage("eval-sft", lambda r: evaluate(_eval_config(cfg, out / "eval-sft", str(sft_model), "ci", r)))
    stage("curriculum", lambda r: estimate_potentials(_estimate_config(cfg, out / "curriculum", sft_model)))
    stage("rl", lambda r: train_grpo(_rl_config(cfg, out / "rl", sft_model, estimates, r)))
    stage("eval-rl", lambda r: evaluate(_eval_config(cfg, out / "eval-rl", str(rl_model), "ci", r)))

    from r1ci.pipelines.demo_report import write_demo_report

    paths = write_demo_report(out, timings)
    console.print(f"[bold green]demo finished[/bold green]: {paths.html} and {paths.markdown}")
    return paths.html
