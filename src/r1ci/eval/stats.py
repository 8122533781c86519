"""Uncertainty of accuracies: Wilson intervals, question bootstrap, paired differences, exact McNemar.

Pure math over plain numbers (numpy for the bootstrap), so every interval in a report can be checked
by hand. Conventions, chosen so a small CPU run and a large GPU run read the same way:

- **One rate** (an accuracy over n samples): the Wilson score interval. Unlike the normal ("Wald")
  interval it stays inside [0, 1] and does not collapse to a point at 0/n or n/n, which small runs hit
  all the time. Partial rewards (in [0, 1]) enter as their sum, the usual "fractional successes".
- **A macro average** (mean over tasks of per-task accuracy): a percentile bootstrap over questions,
  resampled *within* each task, so the set of tasks is fixed (it is the quantity's definition) and
  only the questions vary.
- **A difference between two runs on the same questions**: paired. Each question contributes its
  outcome under both runs; the paired bootstrap resamples questions (within tasks for the macro
  average) and the difference of the resampled means gives the interval. Pairing removes the
  question-difficulty variance both runs share, so it is far tighter than two separate intervals.
- **Is the difference real?** The exact McNemar test: of the questions on which the runs disagree
  (b where only A is better, c where only B is), under "no difference" each disagreement goes
  either way with probability ½, so p = P(Binomial(b + c, ½) at least as extreme). With one 0/1
  sample per question this is the textbook exact McNemar; with several samples or partial rewards a
  question counts for the run with the higher mean outcome (the sign test it generalises to).

Every bootstrap takes a seed (default 0): the same records give the same interval on every run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

Z95 = 1.959963984540054
"""Two-sided 95% standard-normal quantile."""
BOOTSTRAP_SAMPLES = 2000
"""Bootstrap resamples: the 2.5/97.5 percentiles of 2000 resamples move by < 0.5 pp between seeds."""


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for `successes` out of `n` (successes may be fractional)."""
    if n <= 0:
        raise ValueError("a rate needs at least one sample (n >= 1)")
    if not 0.0 <= successes <= n:
        raise ValueError(f"successes must lie in [0, n]; got {successes} of {n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # exact ends at 0/n and n/n (the formula gives them only up to rounding)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def _percentiles(values: Any) -> tuple[float, float]:
    import numpy as np

    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def _stratified_means(groups: Sequence[Sequence[float]], n_boot: int, seed: int) -> Any:
    """(n_boot, len(groups)) array: each group's mean under resampling its members with replacement."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, len(groups)))
    for j, values in enumerate(groups):
        arr = np.asarray(values, dtype=float)
        idx = rng.integers(0, len(arr), size=(n_boot, len(arr)))
        out[:, j] = arr[idx].mean(axis=1)
    return out


def bootstrap_macro_interval(
    by_task: Mapping[str, Sequence[float]], n_boot: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean over tasks of per-task mean outcomes.

    `by_task` maps each task to its per-question outcomes (mean reward of the question's samples).
    A single task reduces to the bootstrap interval of its mean.
    """
    groups = [list(v) for _, v in sorted(by_task.items())]
    if not groups or any(not g for g in groups):
        raise ValueError("bootstrap needs at least one task, each with at least one question")
    return _percentiles(_stratified_means(groups, n_boot, seed).mean(axis=1))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b (only A right) and c (only B right)."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be >= 0")
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2.0 * tail)


@dataclass(frozen=True)
class PairedDifference:
    """B − A on the questions both runs answered (accuracy = mean over questions, as in the report)."""

    questions: int
    a: float
    b: float
    delta: float
    ci: tuple[float, float]
    macro_a: float
    macro_b: float
    macro_delta: float
    macro_ci: tuple[float, float]
    a_better: int
    """Questions where A's outcome is higher (McNemar's b)."""
    b_better: int
    """Questions where B's outcome is higher (McNemar's c)."""
    p_value: float
    """Exact McNemar (sign test) p-value, two-sided."""

    @property
    def significant(self) -> bool:
        """The 95% interval of the difference excludes zero."""
        return self.ci[0] > 0.0 or self.ci[1] < 0.0

    def verdict(self) -> str:
        """One plain sentence: gain, loss or inside the noise."""
        lo, hi = (100 * x for x in self.ci)
        span = f"{100 * self.delta:+.1f} pp, 95% CI [{lo:+.1f}, {hi:+.1f}] pp, McNemar p = {self.p_value:.3g}"
        if not self.significant:
            return f"inside the noise ({span}: the interval contains 0)"
        return f"{'gain' if self.delta > 0 else 'loss'} outside the noise ({span})"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"], d["macro_ci"] = list(self.ci), list(self.macro_ci)
        d["significant"] = self.significant
        return d


def question_outcomes(records: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, float]]:
    """question_id -> (task, mean reward over the question's samples)."""
    rewards: dict[str, list[float]] = defaultdict(list)
    task: dict[str, str] = {}
    for r in records:
        qid = str(r["question_id"])
        rewards[qid].append(float(r.get("reward") or 0.0))
        task[qid] = str(r["task"])
    return {q: (task[q], sum(v) / len(v)) for q, v in rewards.items()}


def paired_difference(
    a: Mapping[str, tuple[str, float]], b: Mapping[str, tuple[str, float]],
    n_boot: int = BOOTSTRAP_SAMPLES, seed: int = 0,
) -> PairedDifference:
    """Paired B − A over shared question ids (outcomes as from `question_outcomes`)."""
    import numpy as np

    shared = sorted(set(a) & set(b))
    if not shared:
        raise ValueError("the two runs share no question id, so they cannot be paired; "
                         "evaluate both on the same tasks, questions per task and seed")
    by_task: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for q in shared:
        by_task[a[q][0]].append((a[q][1], b[q][1]))
    xa = np.array([a[q][1] for q in shared])
    xb = np.array([b[q][1] for q in shared])
    diff = xb - xa
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diff), size=(n_boot, len(diff)))
    ci = _percentiles(diff[idx].mean(axis=1))
    groups = [[y - x for x, y in pairs] for _, pairs in sorted(by_task.items())]
    macro_ci = _percentiles(_stratified_means(groups, n_boot, seed).mean(axis=1))
    task_means_a = [sum(x for x, _ in p) / len(p) for _, p in sorted(by_task.items())]
    task_means_b = [sum(y for _, y in p) / len(p) for _, p in sorted(by_task.items())]
    macro_a = sum(task_means_a) / len(task_means_a)
    macro_b = sum(task_means_b) / len(task_means_b)
    a_better = int((diff < -1e-12).sum())
    b_better = int((diff > 1e-12).sum())
    return PairedDifference(
        questions=len(shared), a=float(xa.mean()), b=float(xb.mean()), delta=float(diff.mean()), ci=ci,
        macro_a=macro_a, macro_b=macro_b, macro_delta=macro_b - macro_a, macro_ci=macro_ci,
        a_better=a_better, b_better=b_better, p_value=mcnemar_exact(a_better, b_better),
    )
