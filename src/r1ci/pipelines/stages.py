"""Each stage's own config, as a pipeline builds it: the pipeline's fixed wiring (which model, which
folder, which seed) with the recipe's section for that stage merged over it.

A section (`synth:`, `sft:`, `estimate:`, `rl:` in a pipeline YAML) is a partial config of the stage:
it changes only the keys it names, and any key of the stage's config can be set, also with
`-o sft.train.lr=1e-5`. The builders validate, so a typo surfaces as soon as a pipeline calls them
(pipelines call them all at load time, see `r1ci.pipelines.demo.validate_stages`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from r1ci.eval.runner import EvalConfig
    from r1ci.train.estimate import EstimateConfig
    from r1ci.train.grpo_config import GRPOConfig
    from r1ci.train.sft import SFTConfig
    from r1ci.train.synth import SynthConfig


def check_stages(checks: Sequence[tuple[str, type[BaseModel], Callable[[], Any]]], what: str) -> None:
    """Build every (prefix, config class, builder) now; one ConfigError naming each bad key of every stage."""
    from pydantic import ValidationError

    from r1ci.config import ConfigError, explain

    problems = []
    for prefix, cls, build in checks:
        try:
            build()
        except ValidationError as exc:
            problems.append(explain(cls, exc, prefix))
    if problems:
        raise ConfigError(f"invalid {what}:\n" + "\n".join(problems))


def merged(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, section by section (a nested dict changes only the keys it names)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) else value
    return out


def eval_stage(*, model: str, tasks: list[str], questions_per_task: int, seed: int, mode: str,
               max_new_tokens: int, batch_size: int | None, out: Path, resume: bool,
               stop_at_answer: bool = False, backend: str = "hf") -> EvalConfig:
    """Greedy evaluation on fresh questions of training-split tasks."""
    from r1ci.eval.runner import EvalConfig

    return EvalConfig.model_validate({
        "model": model, "suite": "train", "tasks": tasks, "samples_per_task": questions_per_task, "seed": seed,
        "rollout": {"mode": mode, "max_new_tokens": max_new_tokens, "temperature": 0.0,
                    "stop_at_answer": stop_at_answer},
        # vLLM schedules every sequence itself: a batch cap would only starve it
        "batch_size": None if backend == "vllm" else batch_size, "out": str(out), "resume": resume,
        "backend": backend,
    })


def synth_stage(*, tokenizer: str, tasks: list[str], seed: int, out: Path, resume: bool,
                section: Mapping[str, Any]) -> SynthConfig:
    """SFT data from the scripted reference-program teacher, tokenised with the model to be trained."""
    from r1ci.train.synth import SynthConfig

    return SynthConfig.model_validate(merged({
        "model": "reference", "backend": "scripted", "tokenizer": tokenizer, "split": "train",
        "tasks": tasks, "question_seed": seed, "out": str(out), "resume": resume,
    }, section))


def sft_stage(*, model: str, data: Path, out: Path, resume: bool, section: Mapping[str, Any]) -> SFTConfig:
    from r1ci.train.sft import SFTConfig

    return SFTConfig.model_validate(
        merged({"model": model, "data": [str(data)], "out": str(out), "resume": resume}, section))


def estimate_stage(*, model: Path, tasks: list[str], seed: int, out: Path,
                   section: Mapping[str, Any]) -> EstimateConfig:
    """Pass rates of the RL questions (same tasks and seed as RL) under the starting policy."""
    from r1ci.train.estimate import EstimateConfig

    return EstimateConfig.model_validate(merged({
        "model": str(model), "split": "train", "tasks": tasks, "question_seed": seed, "out": str(out),
    }, section))


def rl_stage(*, model: Path, tasks: list[str], questions_per_task: int, seed: int, estimates: Path | None,
             out: Path, resume: bool, section: Mapping[str, Any]) -> GRPOConfig:
    """GRPO from `model` on the estimated questions (`estimates` None = no curriculum)."""
    from r1ci.train.grpo_config import GRPOConfig

    return GRPOConfig.model_validate(merged({
        "model": str(model), "out": str(out), "resume": resume, "seed": seed,
        "data": {"tasks": tasks, "questions_per_task": questions_per_task, "seed": seed},
        "curriculum": {"estimates": None if estimates is None else str(estimates)},
    }, section))
