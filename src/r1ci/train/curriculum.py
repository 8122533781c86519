"""The improvement-potential curriculum: pass rates -> potentials -> stages -> what RL samples next.

The paper's observation: a GRPO group whose answers are all right or all wrong has zero advantage
everywhere and teaches nothing. So before RL we sample K answers per training question with the
starting policy, estimate its pass rate p, score its *improvement potential* Π(p) (default p(1 − p):
0 at p ∈ {0, 1}, largest at ½ — it is the variance of a 0/1 reward, i.e. how much signal a group
gets), sort questions from highest to lowest Π and cut them into stages. RL trains on stage 1 (the
highest-potential quarter) first; each later stage adds the next group, until stage 4 holds them all.

Pure math and bookkeeping, no model: the pass rates come from `r1ci.train.estimate` (K rollouts
per question with the starting policy) or from RL itself. Pieces, each usable alone:
- `QuestionEstimate`, `read_estimates`/`write_estimates`: the estimates JSONL;
- `POTENTIALS`: the potential formula is a setting (`variance` default; `std`, `entropy`, `signal`).
- `make_stages(...)`: quantile cut (default) or explicit potential thresholds.
- `CurriculumSampler`: the GRPO loop's data source — the active pool, shuffled order, stage switch
  (after N steps per stage, or when the reward plateaus) and, beyond the paper, optional online
  re-estimation: an EMA of each question's pass rate observed in its RL groups re-ranks the
  questions, so they move between stages as the policy improves. Its state is JSON (checkpointed).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from r1ci.config import StrictModel
from r1ci.jsonl import append_records, iter_records, write_records
from r1ci.tasks.base import Question

if TYPE_CHECKING:
    pass

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
    """Estimates from a JSONL file; a repeated id keeps the last record. A torn last line (an
    interrupted estimate) is dropped; any other bad line is an error naming file and line."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(
            f"curriculum estimates {p} do not exist; create them with "
            "`r1ci rl curriculum estimate --model M --rollouts K --out FILE`"
        )
    by_id: dict[str, QuestionEstimate] = {}
    for lineno, record in iter_records(p):
        try:
            est = QuestionEstimate.from_dict(record)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{p}:{lineno}: not a curriculum estimate ({exc!r}); was it written by "
                             "`r1ci rl curriculum estimate`?") from None
        by_id[est.id] = est
    return list(by_id.values())


def write_estimates(path: str | Path, estimates: Iterable[QuestionEstimate], append: bool = False) -> None:
    records = (est.to_dict() for est in estimates)
    append_records(path, records) if append else write_records(path, records)


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
        # Online: re-rank on schedule, and always at a stage boundary, so the next stage is drawn from
        # the freshest estimates (a schedule that only fired between boundaries missed every re-rank when
        # reestimate_every divided steps_per_stage, and the online arm trained exactly like the offline one).
        reestimate = self.use_curriculum and self.cfg.online and (advanced or step % self.cfg.reestimate_every == 0)
        if reestimate:
            self.version += 1
            self.stages = self._partition()
        if advanced:
            self.stage += 1
            self.stage_start_step = step
            self.rewards, self.best_avg, self.since_best = [], -math.inf, 0
            self.epoch = 0
        if advanced or reestimate:
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
