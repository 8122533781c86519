"""Estimating pass rates with a model: K rollouts per training question before RL (`r1ci rl curriculum
estimate`), written as the JSONL `r1ci.train.curriculum` turns into potentials and stages.

The K rollouts are split over sampling modes (text-only, code first, free choice: the paper samples
with several agent frameworks). Estimates are appended chunk by chunk, so an interrupted estimate
resumes where it stopped. One sandbox serves the whole estimate (starting a fork server per chunk and
mode would cost more than the rollouts of a small chunk).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from r1ci.config import StrictModel
from r1ci.rollout.protocol import RL_SAMPLING
from r1ci.tasks.base import Question
from r1ci.train.curriculum import QuestionEstimate, read_estimates, write_estimates

if TYPE_CHECKING:
    from r1ci.rollout import Backend, RolloutConfig

MODES: dict[str, dict[str, Any]] = {
    "free": {"mode": "ci"},  # the standard prompt: the model decides whether to write code
    "text": {"mode": "text"},  # no interpreter: text-only reasoning
    "code": {"mode": "ci", "code_first": True},  # the prompt asks for code before answering
}
"""Sampling modes the K rollouts are split over (the paper samples with several agent frameworks)."""

CODE_FIRST_HINT = (
    "\n\nAlways start by writing a Python code block that computes the answer, read its output, "
    "then give the final answer."
)


def mode_config(base: RolloutConfig, mode: str) -> RolloutConfig:
    """The rollout config of one sampling mode, derived from `base`."""
    if mode not in MODES:
        raise ValueError(f"unknown sampling mode {mode!r}; choose from {sorted(MODES)}")
    spec = MODES[mode]
    update: dict[str, Any] = {"mode": spec["mode"]}
    if spec.get("code_first"):
        from r1ci.rollout.protocol import system_prompt

        update["system_prompt"] = system_prompt(base.model_copy(update={"mode": "ci"})) + CODE_FIRST_HINT
    return base.model_copy(update=update)


def success(verifier: float, answered: bool, format_reward: float = 0.0) -> float:
    """A rollout's success in [0, 1]: the verifier reward, or the training reward with the format term
    scaled back to [0, 1] (what pass rates mean when RL adds `grpo.format_reward`)."""
    return (verifier + format_reward * float(answered)) / (1.0 + format_reward)


def split_rollouts(k: int, modes: Sequence[str]) -> dict[str, int]:
    """K rollouts per question spread over the modes as evenly as possible (earlier modes get the rest)."""
    if k < 1:
        raise ValueError(f"rollouts per question must be >= 1, got {k}")
    if not modes:
        raise ValueError("give at least one sampling mode")
    base, rest = divmod(k, len(modes))
    return {m: base + (1 if i < rest else 0) for i, m in enumerate(modes) if base + (1 if i < rest else 0)}


def estimate_pass_rates(
    backend: Backend,
    questions: Sequence[Question],
    *,
    rollouts: int,
    rollout_cfg: RolloutConfig,
    modes: Sequence[str] = ("free",),
    out: str | Path | None = None,
    executor: Any = None,
    seed: int = 0,
    chunk_size: int = 32,
    progress: bool = True,
    format_reward: float = 0.0,
) -> list[QuestionEstimate]:
    """K rollouts per question with `backend`, split over `modes`; returns one estimate per question.

    A rollout's success is its verifier reward; with `format_reward` > 0 (an RL run that adds the
    format term) it is the training reward scaled back to [0, 1], `(verifier + w * has_answer) / (1 + w)`,
    because GRPO's signal is the spread of the reward it actually trains on.

    With `out`, estimates are appended chunk by chunk and questions already in the file are skipped,
    so a killed estimate resumes where it stopped (the file is the artefact the RL config points at).
    """
    from rich.progress import Progress

    from r1ci.rollout import run_rollouts
    from r1ci.tasks import get as get_task
    from r1ci.tasks.answers import has_answer

    per_mode = split_rollouts(rollouts, modes)
    done: dict[str, QuestionEstimate] = {}
    if out is not None and Path(out).exists():
        done = {e.id: e for e in read_estimates(out)}
    todo = [q for q in questions if q.id not in done]
    results = dict(done)
    own = None
    if executor is None and todo and any(MODES[m]["mode"] == "ci" for m in per_mode):
        from r1ci.sandbox import get_executor

        # one pool for every chunk and mode (run_rollouts would start and stop one per call)
        executor = own = get_executor("local")
    try:
        with Progress(disable=not progress) as bar:
            job = bar.add_task("estimating pass rates", total=len(todo))
            for start in range(0, len(todo), chunk_size):
                chunk = todo[start : start + chunk_size]
                tallies = {q.id: QuestionEstimate(q, 0, 0.0, get_task(q.task).source) for q in chunk}
                for mode, k in per_mode.items():
                    trajs = run_rollouts(backend, chunk, mode_config(rollout_cfg, mode), samples_per_question=k,
                                         executor=executor, seed=seed + start, progress=False)
                    for t in trajs:
                        est = tallies[t.question_id]
                        reward = success(float(t.reward or 0.0), has_answer(t.model_text), format_reward)
                        est.n += 1
                        est.correct += reward
                        n_c = est.by_mode.setdefault(mode, [0, 0.0])
                        n_c[0] += 1
                        n_c[1] += reward
                if out is not None:
                    write_estimates(out, tallies.values(), append=True)
                results.update(tallies)
                bar.advance(job, len(chunk))
    finally:
        if own is not None:
            own.close()
    return [results[q.id] for q in questions if q.id in results]


class EstimateConfig(StrictModel):
    """Everything `r1ci rl curriculum estimate` needs; recorded beside the estimates file."""

    model: str = "default"
    split: Literal["train", "test"] = "train"
    tasks: list[str] | None = None
    """Task names or suite names ("symbench", "bbh", "reasoning_gym"); None = every task of `split`."""
    questions_per_task: int = Field(20, ge=1)
    question_seed: int = 0
    """Seed of the generated questions: use the same value as the RL run's data.seed."""
    difficulty: int | None = None
    """Difficulty for tasks that have one (use the RL run's data.difficulty)."""
    rollouts: int = Field(8, ge=1)
    modes: list[str] = ["free"]
    out: str = "curriculum/estimates.jsonl"
    seed: int = 0
    backend: str = "hf"
    backend_options: dict[str, Any] = Field(default_factory=dict)
    """Extra backend options, e.g. {gpu_memory_utilization: 0.9} for vllm."""
    executor: str = "local"
    chunk_size: int = Field(32, ge=1)
    format_reward: float = Field(0.0, ge=0.0)
    """Set to the RL run's grpo.format_reward so pass rates measure the reward RL trains on."""
    rollout: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    """Overrides of `RolloutConfig` for the estimate, over RL's sampling (`RL_SAMPLING`) and 1024 tokens."""

    @field_validator("rollout", mode="before")
    @classmethod
    def _keep_rl_sampling_defaults(cls, v: Any) -> Any:
        # Setting only max_new_tokens must not drop back to greedy: pass rates are measured as RL samples.
        return {**RL_SAMPLING, "max_new_tokens": 1024, **v} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _check_modes(self) -> EstimateConfig:
        bad = [m for m in self.modes if m not in MODES]
        if bad:
            raise ValueError(f"unknown sampling modes {bad}; choose from {sorted(MODES)}")
        return self


def training_questions(
    tasks: Sequence[str] | None, split: str, per_task: int, seed: int, *, allow_test: bool = False,
    difficulty: int | None = None,
) -> list[Question]:
    """Questions of the named tasks/suites (default: all tasks of `split`), `per_task` each.

    Held-out test tasks never enter RL prompts or estimates unless `allow_test` (the split is by task).
    """
    import r1ci.tasks as registry
    from r1ci.tasks.selection import select_tasks

    names = select_tasks(tasks, split=split, allow_other_split=allow_test,
                         purpose="RL and its curriculum (held-out test tasks are never RL prompts)")
    out: list[Question] = []
    for name in names:
        task = registry.get(name)
        level = difficulty if difficulty is not None and task.difficulties else None
        out += task.questions(per_task, seed=seed, difficulty=level)
    return out


def estimate_potentials(cfg: EstimateConfig, *, progress: bool = True) -> Path:
    """Load the starting policy, estimate every selected question's pass rate, write `cfg.out`.

    Also writes `<out>.meta.json` (config + versions). Returns the estimates path.
    """
    from r1ci.provenance import provenance
    from r1ci.rollout import RolloutConfig, get_backend

    questions = training_questions(cfg.tasks, cfg.split, cfg.questions_per_task, cfg.question_seed,
                                   allow_test=cfg.split == "test", difficulty=cfg.difficulty)
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {**provenance(cfg), "questions": len(questions)}
    out.with_name(out.name + ".meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    rollout_cfg = RolloutConfig(**cfg.rollout)
    backend = get_backend(cfg.backend, model=cfg.model, **cfg.backend_options)
    executor = None
    if any(MODES[m]["mode"] == "ci" for m in cfg.modes):
        from r1ci.sandbox import get_executor

        executor = get_executor(cfg.executor)  # one sandbox for the whole estimate
    try:
        estimate_pass_rates(backend, questions, rollouts=cfg.rollouts, rollout_cfg=rollout_cfg, modes=cfg.modes,
                            out=out, executor=executor, seed=cfg.seed, chunk_size=cfg.chunk_size,
                            progress=progress, format_reward=cfg.format_reward)
    finally:
        backend.close()  # a vLLM engine holds its weights and KV cache until closed
        if executor is not None:
            executor.close()
    return out
