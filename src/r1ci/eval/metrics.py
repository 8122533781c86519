"""Evaluation metrics computed from trajectory records alone.

Every number here is a pure function of the records in `trajectories.jsonl` (the dicts written by
`Trajectory.to_dict()`), so a report can always be rebuilt — or audited — from the JSONL, and a run
interrupted half-way still yields correct metrics over what finished. Only wall time is a property of
the run rather than of the records; the runner adds it separately.

Definitions (the report's glossary repeats them):
- accuracy: mean reward over all samples (micro average; rewards may be partial, in [0, 1]).
- macro_accuracy: mean over tasks of per-task accuracy — the paper's headline "average over tasks".
- code_use_rate: share of samples with at least one executed code block.
- exec_error_rate: share of executed code blocks that failed (error, timeout, memory); None without code.
- self_check_rate: share of samples that ran code *after* the model had already written an answer
  candidate `<<<...>>>` — the paper's emergent "verify your answer with code" behaviour.
- answer_rate: share of samples whose model text contains a `<<<...>>>` answer at all.
- mean_completion_tokens: mean length of the completion (model + interpreter tokens) where ids exist.
- accuracy_ci, macro_accuracy_ci (and per task / per source): 95% intervals (`r1ci.eval.stats`): Wilson
  for a rate over samples, a bootstrap over questions (within tasks, seeded) for a macro average.
- pass_at_k (only with several samples per question): pass@1 = mean per-question reward, pass@k = the
  unbiased estimator of Chen et al. (2021) with "correct" meaning reward 1.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from r1ci.eval.stats import bootstrap_macro_interval, question_outcomes, wilson_interval
from r1ci.rollout.protocol import find_code_block, prose
from r1ci.tasks.answers import extract_answer

Record = Mapping[str, Any]

_CORRECT_EPS = 1e-9


def as_record(item: Any) -> dict[str, Any]:
    """Accept a record dict or anything with `to_dict()` (a `Trajectory`)."""
    if isinstance(item, Mapping):
        return dict(item)
    to_dict = getattr(item, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    raise TypeError(f"expected a trajectory record (dict) or a Trajectory, got {type(item).__name__}")


def metadata(rec: Record) -> Mapping[str, Any]:
    return rec.get("metadata") or {}


def sample_index(rec: Record) -> int:
    return int(metadata(rec).get("sample_index", 0))


def record_key(rec: Record) -> tuple[str, int]:
    """What identifies one sample of a run: (question_id, sample_index)."""
    return str(rec["question_id"]), sample_index(rec)


def source_of(rec: Record) -> str:
    """The record's source (symbench/bbh/reasoning_gym); falls back to the task registry, then "unknown"."""
    src = metadata(rec).get("source")
    if src:
        return str(src)
    try:
        from r1ci.tasks import get

        return str(get(str(rec["task"])).source)
    except Exception:  # registry not importable or task unknown: the record still counts, unlabelled
        return "unknown"


def code_turns(rec: Record) -> int:
    n = rec.get("num_code_turns")
    if n is not None:
        return int(n)
    return sum(1 for s in rec.get("segments") or [] if s.get("kind") == "interpreter")


def exec_error_count(rec: Record) -> int:
    errs = rec.get("exec_errors") or 0
    return len(errs) if isinstance(errs, list | tuple) else int(errs)


def completion_tokens(rec: Record) -> int | None:
    ids = rec.get("completion_ids")
    if ids:
        return len(ids)
    usage = metadata(rec).get("completion_tokens")
    return int(usage) if usage is not None else None


def model_text(rec: Record) -> str:
    return "".join(s.get("text", "") for s in rec.get("segments") or [] if s.get("kind") == "model")


def has_answer(rec: Record) -> bool:
    if rec.get("extracted_answer") is not None:
        return True
    return extract_answer(model_text(rec)) is not None


def self_checked(rec: Record) -> bool:
    """True when some code ran after an answer candidate already stood in the model's own prose.

    The engine runs the first closed code block of a model turn, so what the model had written before
    that execution is all earlier model text plus this turn up to the block's opening fence. Answers
    inside code (e.g. `print("<<<42>>>")`) are no candidates, hence `prose`.
    """
    written = ""
    segments = rec.get("segments") or []
    for i, seg in enumerate(segments):
        if seg.get("kind") != "model":
            continue
        text = seg.get("text", "")
        if i + 1 < len(segments) and segments[i + 1].get("kind") == "interpreter":
            block = find_code_block(text)
            before = text[: block.start] if block is not None else text
            if extract_answer(prose(written + before)) is not None:
                return True
        written += text
    return False


def is_correct(reward: float) -> bool:
    return reward >= 1.0 - _CORRECT_EPS


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al., 2021); with n < k, "any correct"."""
    if n <= 0:
        raise ValueError("pass@k needs at least one sample")
    if n < k:
        return 1.0 if c > 0 else 0.0
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(records: Sequence[Record], k: int = 1) -> dict[str, Any]:
    """The behaviour and accuracy numbers for one group of records (a run, a task or a source)."""
    n = len(records)
    if n == 0:
        raise ValueError("cannot summarise an empty group of records")
    rewards = [float(r.get("reward") or 0.0) for r in records]
    turns = [code_turns(r) for r in records]
    errors = sum(exec_error_count(r) for r in records)
    tokens = [t for t in (completion_tokens(r) for r in records) if t is not None]
    by_question: dict[str, list[float]] = defaultdict(list)
    for r, reward in zip(records, rewards, strict=True):
        by_question[str(r["question_id"])].append(reward)
    out: dict[str, Any] = {
        "samples": n,
        "questions": len(by_question),
        "accuracy": sum(rewards) / n,
        "accuracy_ci": list(wilson_interval(sum(rewards), n)),
        "code_use_rate": sum(1 for t in turns if t > 0) / n,
        "mean_code_turns": sum(turns) / n,
        "exec_error_rate": errors / sum(turns) if sum(turns) else None,
        "self_check_rate": sum(1 for r in records if self_checked(r)) / n,
        "answer_rate": sum(1 for r in records if has_answer(r)) / n,
        "mean_completion_tokens": _mean(tokens),
        "stop_reasons": dict(sorted(Counter(str(r.get("stop_reason")) for r in records).items())),
    }
    if k > 1:
        out["pass_at_1"] = sum(sum(v) / len(v) for v in by_question.values()) / len(by_question)
        out["pass_at_k"] = sum(
            pass_at_k(len(v), sum(1 for x in v if is_correct(x)), k) for v in by_question.values()
        ) / len(by_question)
    return out


def dedupe(records: Iterable[Any]) -> list[dict[str, Any]]:
    """Records as dicts, keeping the first of any repeated (question_id, sample_index)."""
    seen: set[tuple[str, int]] = set()
    out = []
    for item in records:
        rec = as_record(item)
        key = record_key(rec)
        if key not in seen:
            seen.add(key)
            out.append(rec)
    return out


def macro_interval(records: Sequence[Record]) -> list[float]:
    """95% bootstrap interval of the macro accuracy: questions resampled within each task (seed 0)."""
    by_task: dict[str, list[float]] = defaultdict(list)
    for task, outcome in question_outcomes(records).values():
        by_task[task].append(outcome)
    return list(bootstrap_macro_interval(by_task))


def compute_metrics(trajectories: Iterable[Any], k: int | None = None) -> dict[str, Any]:
    """Run-level metrics: overall numbers, `macro_accuracy`, `per_task` and `per_source` breakdowns.

    `k` is the samples-per-question of the run (for pass@k); by default the largest number of samples
    any question has.
    """
    records = dedupe(trajectories)
    if not records:
        raise ValueError("no trajectory records to compute metrics from (is trajectories.jsonl empty?)")
    if k is None:
        k = max(Counter(str(r["question_id"]) for r in records).values())
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_task[str(r["task"])].append(r)
    per_task = {
        name: {"source": source_of(recs[0]), **summarize(recs, k)} for name, recs in sorted(by_task.items())
    }
    by_source: dict[str, list[str]] = defaultdict(list)
    for name, m in per_task.items():
        by_source[m["source"]].append(name)
    per_source = {}
    for src, names in sorted(by_source.items()):
        recs = [r for name in names for r in by_task[name]]
        per_source[src] = {
            "tasks": len(names),
            "macro_accuracy": sum(per_task[t]["accuracy"] for t in names) / len(names),
            "macro_accuracy_ci": macro_interval(recs),
            **summarize(recs, k),
        }
    overall = summarize(records, k)
    return {
        "accuracy": overall["accuracy"],
        "macro_accuracy": sum(m["accuracy"] for m in per_task.values()) / len(per_task),
        "macro_accuracy_ci": macro_interval(records),
        **overall,
        "tasks": len(per_task),
        "samples_per_question": k,
        "per_source": per_source,
        "per_task": per_task,
    }
