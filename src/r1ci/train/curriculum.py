"""The improvement-potential curriculum: pass rates -> potentials -> stages -> what RL samples next.

The paper's observation: a GRPO group whose answers are all right or all wrong has zero advantage
everywhere and teaches nothing. So before RL we sample K answers per training question with the
starting policy, estimate its pass rate p, score its *improvement potential* Π(p) (default p(1 − p):
0 at p ∈ {0, 1}, largest at ½ — it is the variance of a 0/1 reward, i.e. how much signal a group
gets), sort questions from highest to lowest Π and cut them into stages. RL trains on stage 1 (the
highest-potential quarter) first; each later stage adds the next group, until stage 4 holds them all.

Pieces, each usable alone:
- `estimate_pass_rates(...)`: K rollouts per question, split over sampling modes (text-only, code
  first, free choice: the paper samples with several agent frameworks); appends JSONL as it goes,
  so an interrupted estimate resumes where it stopped. `estimate_potentials(cfg)` is the CLI's call.
- `POTENTIALS`: the potential formula is a setting (`variance` default; `std`, `entropy`, `signal`).
- `make_stages(...)`: quantile cut (default) or explicit potential thresholds.
- `CurriculumSampler`: the GRPO loop's data source — the active pool, shuffled order, stage switch
  (after N steps per stage, or when the reward plateaus) and, beyond the paper, optional online
  re-estimation: an EMA of each question's pass rate observed in its RL groups re-ranks the
  questions, so they move between stages as the policy improves. Its state is JSON (checkpointed).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from r1ci.config import StrictModel
from r1ci.rollout.protocol import RL_SAMPLING
from r1ci.tasks.base import Question

if TYPE_CHECKING:
    from r1ci.rollout import Backend, RolloutConfig

# ---------------------------------------------------------------------------------------------
# Potentials


def _variance(p: float, group_size: int) -> float:
    return p * (1.0 - p)


def _std(p: float, group_size: int) -> float:
    return math.sqrt(max(p * (1.0 - p), 0.0))


def _entropy(p: float, group_size: int) -> float:
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def _signal(p: float, group_size: int) -> float:
    # Probability that a group of `group_size` samples is *not* all-equal, i.e. gives any gradient.
    return 1.0 - p**group_size - (1.0 - p) ** group_size


PotentialFn = Callable[[float, int], float]
POTENTIALS: dict[str, PotentialFn] = {
    "variance": _variance,  # p(1-p): reward variance of the group (the paper-notes default)
    "std": _std,  # sqrt(p(1-p)): the scale GRPO's std-normalised advantage divides by
    "entropy": _entropy,  # binary entropy in bits: flatter, favours p far from ½ more than variance
    "signal": _signal,  # P(group of G is informative) = 1 - p^G - (1-p)^G; saturates fast with G
}


def potential(p: float, name: str = "variance", group_size: int = 8) -> float:
    if name not in POTENTIALS:
        raise ValueError(f"unknown potential {name!r}; choose one of {sorted(POTENTIALS)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"pass rate must be in [0, 1], got {p}")
    return POTENTIALS[name](p, group_size)


# ---------------------------------------------------------------------------------------------
# Estimates


@dataclass
class QuestionEstimate:
    """Pass-rate estimate of one training question: `correct` is the sum of verifier rewards."""

    question: Question
    n: int
    correct: float
    source: str = ""
    by_mode: dict[str, list[float]] = field(default_factory=dict)
    """mode -> [n, correct] for that sampling mode."""

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def task(self) -> str:
        return self.question.task

    @property
    def pass_rate(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "task": self.task, "source": self.source, "n": self.n,
            "correct": self.correct, "pass_rate": self.pass_rate, "by_mode": self.by_mode,
            "question": self.question.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuestionEstimate:
        return cls(question=Question.from_dict(d["question"]), n=int(d["n"]), correct=float(d["correct"]),
                   source=str(d.get("source", "")), by_mode=dict(d.get("by_mode") or {}))


def read_estimates(path: str | Path) -> list[QuestionEstimate]:
    """Estimates from a JSONL file; a repeated id keeps the last record; a torn last line is skipped."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(
            f"curriculum estimates {p} do not exist; create them with "
            "`r1ci rl curriculum estimate --model M --rollouts K --out FILE`"
        )
    by_id: dict[str, QuestionEstimate] = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            est = QuestionEstimate.from_dict(json.loads(line))
        except (json.JSONDecodeError, KeyError):
            continue
        by_id[est.id] = est
    return list(by_id.values())


def write_estimates(path: str | Path, estimates: Iterable[QuestionEstimate], append: bool = False) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("a" if append else "w", encoding="utf-8") as f:
        for est in estimates:
            f.write(json.dumps(est.to_dict()) + "\n")


# ---------------------------------------------------------------------------------------------
# Stages


@dataclass
class Stages:
    """Disjoint question groups, highest potential first; stage s trains on groups 0..s."""

    groups: list[list[str]]
    potentials: dict[str, float]

    def pool(self, stage: int) -> list[str]:
        if not 0 <= stage < len(self.groups):
            raise ValueError(f"stage {stage} out of range: there are {len(self.groups)} stages")
        return [qid for g in self.groups[: stage + 1] for qid in g]

    @property
    def num_stages(self) -> int:
        return len(self.groups)


def make_stages(
    pass_rates: dict[str, float] | Sequence[QuestionEstimate],
    num_stages: int = 4,
    *,
    potential_name: str = "variance",
    group_size: int = 8,
    thresholds: Sequence[float] | None = None,
    fractions: Sequence[float] | None = None,
    drop_zero: bool = False,
) -> Stages:
    """Sort questions by potential (ties by id, so the cut is reproducible) and cut them into groups.

    - default: equal-count quantiles (`num_stages` groups of ~n/num_stages);
    - `fractions`: cumulative shares, e.g. [0.1, 0.3, 0.6, 1.0] (last must be 1);
    - `thresholds`: descending potential cut points, len num_stages - 1: group 1 holds Π >= t1, group 2
      t1 > Π >= t2, ... (groups may be empty).
    `drop_zero` leaves out questions with zero potential altogether (never / always solved); by default
    they join the last stage, as in the paper, where training reward plateaus once they arrive.
    """
    rates = pass_rates if isinstance(pass_rates, dict) else {e.id: e.pass_rate for e in pass_rates}
    if num_stages < 1:
        raise ValueError(f"num_stages must be >= 1, got {num_stages}")
    if thresholds is not None and fractions is not None:
        raise ValueError("give either thresholds or fractions for the stage cut, not both")
    pots = {qid: potential(p, potential_name, group_size) for qid, p in rates.items()}
    order = sorted(pots, key=lambda q: (-pots[q], q))
    if drop_zero:
        order = [q for q in order if pots[q] > 0.0]
    n = len(order)
    groups: list[list[str]]
    if thresholds is not None:
        ts = list(thresholds)
        if len(ts) != num_stages - 1 or any(a < b for a, b in pairwise(ts)):
            raise ValueError(
                f"thresholds must be {num_stages - 1} descending potentials for {num_stages} stages, got {ts}"
            )
        groups = [[] for _ in range(num_stages)]
        for q in order:
            k = next((i for i, t in enumerate(ts) if pots[q] >= t), num_stages - 1)
            groups[k].append(q)
    else:
        cum = list(fractions) if fractions is not None else [(i + 1) / num_stages for i in range(num_stages)]
        if len(cum) != num_stages or any(a > b for a, b in pairwise(cum)) or abs(cum[-1] - 1.0) > 1e-9:
            raise ValueError(
                f"fractions must be {num_stages} ascending cumulative shares ending at 1.0, got {cum}"
            )
        cuts = [0] + [round(f * n) for f in cum]
        groups = [order[a:b] for a, b in pairwise(cuts)]
    return Stages(groups=groups, potentials=pots)


# ---------------------------------------------------------------------------------------------
# Config + the sampler the GRPO loop draws from


class CurriculumConfig(StrictModel):
    """How RL walks through the questions. Without `estimates` it samples the whole pool uniformly."""

    estimates: str | None = None
    """JSONL from `r1ci rl curriculum estimate`. None = no curriculum (uniform over the data pool)."""
    num_stages: int = Field(4, ge=1)
    """Paper Figure 1: 4 stages."""
    potential: str = "variance"
    """Key of `POTENTIALS`: variance = p(1-p) (default), std, entropy, signal."""
    fractions: list[float] | None = None
    """Cumulative share of questions per stage (default equal quantiles: .25, .5, .75, 1)."""
    thresholds: list[float] | None = None
    """Alternative to fractions: descending potential cut points (num_stages - 1 of them)."""
    drop_zero_potential: bool = False
    """Leave out questions never/always solved in the estimate (default: they join the last stage)."""
    switch: Literal["steps", "plateau"] = "steps"
    """Advance to the next stage after `steps_per_stage` steps, or when the training reward plateaus."""
    steps_per_stage: int | list[int] = 50
    """Steps in each stage (one number for all, or a list per stage; the last stage runs to max_steps)."""
    min_steps_per_stage: int = 5
    """Plateau switch: never leave a stage before this many steps."""
    plateau_window: int = 5
    """Plateau switch: compare moving averages of the batch reward over this many steps."""
    plateau_patience: int = 3
    """Plateau switch: advance after this many steps without a new best moving average."""
    plateau_min_delta: float = 0.01
    """Plateau switch: an improvement smaller than this does not count."""
    online: bool = False
    """Beyond the paper: re-rank questions by an EMA of the pass rates seen in RL groups."""
    ema_alpha: float = Field(0.5, gt=0.0, le=1.0)
    """Online re-estimation: weight of a new group's pass rate in the EMA."""
    reestimate_every: int = Field(10, ge=1)
    """Online re-estimation: recompute the stage partition every N steps."""

    @model_validator(mode="after")
    def _check(self) -> CurriculumConfig:
        if self.potential not in POTENTIALS:
            raise ValueError(f"unknown potential {self.potential!r}; choose one of {sorted(POTENTIALS)}")
        if self.fractions is not None and self.thresholds is not None:
            raise ValueError("set curriculum.fractions or curriculum.thresholds, not both")
        return self


class CurriculumSampler:
    """Yields the questions for each RL step; owns the stage, the shuffled order and the plateau tracker.

    With `estimates=None` (no curriculum) the whole pool is one stage sampled uniformly without
    replacement per epoch — the baseline the curriculum is compared against.
    """

    def __init__(
        self,
        questions: Sequence[Question],
        cfg: CurriculumConfig,
        *,
        pass_rates: dict[str, float] | None = None,
        group_size: int = 8,
        seed: int = 0,
    ) -> None:
        if not questions:
            raise ValueError("the RL question pool is empty; check data.tasks / curriculum.estimates")
        self.cfg = cfg
        self.questions = {q.id: q for q in questions}
        self.group_size = group_size
        self.seed = seed
        self.use_curriculum = pass_rates is not None
        self.pass_rates: dict[str, float] = dict(pass_rates or {})
        self.stage = 0
        self.stage_start_step = 0
        self.epoch = 0
        self.cursor = 0
        self.version = 0
        self.rewards: list[float] = []
        self.best_avg = -math.inf
        self.since_best = 0
        self.stages = self._partition()
        self.order = self._shuffled()

    # -- partition / order ------------------------------------------------------------------

    def _partition(self) -> Stages:
        if not self.use_curriculum:
            return Stages(groups=[sorted(self.questions)], potentials={})
        rates = {q: self.pass_rates.get(q, 0.0) for q in self.questions}
        stages = make_stages(
            rates, self.cfg.num_stages, potential_name=self.cfg.potential, group_size=self.group_size,
            thresholds=self.cfg.thresholds, fractions=self.cfg.fractions,
            drop_zero=self.cfg.drop_zero_potential,
        )
        if not stages.groups[0]:
            raise ValueError(
                "curriculum stage 1 holds no questions; lower curriculum.thresholds or use fractions"
            )
        return stages

    def _shuffled(self) -> list[str]:
        pool = self.stages.pool(min(self.stage, self.stages.num_stages - 1))
        if not pool:
            raise ValueError(f"curriculum stage {self.stage + 1} has no questions")
        rng = random.Random(f"{self.seed}|{self.stage}|{self.epoch}|{self.version}")
        order = list(pool)
        rng.shuffle(order)
        return order

    @property
    def num_stages(self) -> int:
        return self.stages.num_stages

    def pool(self) -> list[str]:
        return self.stages.pool(self.stage)

    # -- sampling ---------------------------------------------------------------------------

    def next_questions(self, n: int) -> list[Question]:
        """The next `n` questions of the current order (a new shuffled epoch when it runs out)."""
        out: list[Question] = []
        while len(out) < n:
            if self.cursor >= len(self.order):
                self.epoch += 1
                self.cursor = 0
                self.order = self._shuffled()
            out.append(self.questions[self.order[self.cursor]])
            self.cursor += 1
        return out

    # -- feedback from the RL loop ----------------------------------------------------------

    def observe(self, question_id: str, rewards: Sequence[float]) -> None:
        """Fold one RL group's pass rate into the question's EMA (online re-estimation)."""
        if not self.cfg.online or not rewards:
            return
        seen = sum(rewards) / len(rewards)
        old = self.pass_rates.get(question_id, seen)
        self.pass_rates[question_id] = (1 - self.cfg.ema_alpha) * old + self.cfg.ema_alpha * seen

    def _steps_for(self, stage: int) -> int:
        sps = self.cfg.steps_per_stage
        if isinstance(sps, int):
            return sps
        return sps[min(stage, len(sps) - 1)]

    def end_step(self, step: int, reward_mean: float) -> bool:
        """Call after every optimizer step (`step` = steps done); returns True when the stage advanced."""
        self.rewards.append(reward_mean)
        advanced = False
        in_stage = step - self.stage_start_step
        if self.use_curriculum and self.stage < self.num_stages - 1:
            if self.cfg.switch == "steps":
                advanced = in_stage >= self._steps_for(self.stage)
            else:
                advanced = self._plateaued(in_stage)
        if advanced:
            self.stage += 1
            self.stage_start_step = step
            self.rewards, self.best_avg, self.since_best = [], -math.inf, 0
            self.cursor, self.epoch = 0, 0
            self.order = self._shuffled()
        elif self.use_curriculum and self.cfg.online and step % self.cfg.reestimate_every == 0:
            self.version += 1
            self.stages = self._partition()
            self.cursor, self.order = 0, self._shuffled()
        return advanced

    def _plateaued(self, in_stage: int) -> bool:
        w = self.cfg.plateau_window
        if len(self.rewards) < w:
            return False
        avg = sum(self.rewards[-w:]) / w
        if avg > self.best_avg + self.cfg.plateau_min_delta:
            self.best_avg, self.since_best = avg, 0
        else:
            self.since_best += 1
        return in_stage >= self.cfg.min_steps_per_stage and self.since_best >= self.cfg.plateau_patience

    # -- checkpoint state -------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage, "stage_start_step": self.stage_start_step, "epoch": self.epoch,
            "cursor": self.cursor, "version": self.version, "order": list(self.order),
            "rewards": list(self.rewards), "best_avg": None if self.best_avg == -math.inf else self.best_avg,
            "since_best": self.since_best, "pass_rates": dict(self.pass_rates) if self.cfg.online else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stage = int(state["stage"])
        self.stage_start_step = int(state["stage_start_step"])
        self.epoch, self.cursor, self.version = int(state["epoch"]), int(state["cursor"]), int(state["version"])
        self.rewards = [float(r) for r in state["rewards"]]
        self.best_avg = -math.inf if state["best_avg"] is None else float(state["best_avg"])
        self.since_best = int(state["since_best"])
        if state.get("pass_rates") is not None:
            self.pass_rates = {k: float(v) for k, v in state["pass_rates"].items()}
            self.stages = self._partition()
        missing = [q for q in state["order"] if q not in self.questions]
        if missing:
            raise ValueError(
                f"checkpointed curriculum order names {len(missing)} questions not in this run's pool "
                f"(e.g. {missing[0]}); resume with the same data and curriculum settings"
            )
        self.order = list(state["order"])


# ---------------------------------------------------------------------------------------------
# Estimation with a model (the CLI's `r1ci rl curriculum estimate`)

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

    names: list[str] = []
    for item in tasks or [None]:  # type: ignore[list-item]
        if item is None:
            names += registry.names(split=split)
        elif item in ("symbench", "bbh", "reasoning_gym"):
            names += registry.names(suite=item, split=split)
        else:
            names.append(item)
    names = list(dict.fromkeys(names))
    if not names:
        raise ValueError(f"no tasks selected (tasks={tasks}, split={split})")
    if not allow_test:
        held_out = [n for n in names if registry.split_of(n) == "test"]
        if held_out:
            raise ValueError(
                f"tasks {held_out[:5]} are held-out test tasks; RL and its curriculum use training "
                "tasks only (pick train tasks, or see `r1ci tasks list --split train`)"
            )
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
    from r1ci.rollout import RolloutConfig, get_backend
    from r1ci.train.checkpoint import versions

    questions = training_questions(cfg.tasks, cfg.split, cfg.questions_per_task, cfg.question_seed,
                                   allow_test=cfg.split == "test", difficulty=cfg.difficulty)
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"config": cfg.model_dump(mode="json"), "versions": versions(), "questions": len(questions)}
    out.with_name(out.name + ".meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    rollout_cfg = RolloutConfig(**cfg.rollout)
    backend = get_backend(cfg.backend, model=cfg.model, **cfg.backend_options)
    executor = None
    if cfg.executor != "local":
        from r1ci.sandbox import get_executor

        executor = get_executor(cfg.executor)
    estimate_pass_rates(backend, questions, rollouts=cfg.rollouts, rollout_cfg=rollout_cfg, modes=cfg.modes,
                        out=out, executor=executor, seed=cfg.seed, chunk_size=cfg.chunk_size,
                        progress=progress, format_reward=cfg.format_reward)
    return out
