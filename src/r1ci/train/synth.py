"""SFT data by rejection sampling: roll a teacher out on training questions, keep what verifies.

    r1ci sft synth --backend scripted --model reference --questions-per-task 8 --samples-per-question 2 --out runs/synth

Pipeline (resumable; every stage reads what the previous one wrote):
1. Questions: `questions_per_task` per training task (never a test task: checked, not assumed).
2. Generation through the shared rollout engine and the real sandbox; each trajectory is appended to
   `DIR/generated.jsonl` the moment it finishes. A question counts as done when all its samples
   are on disk, so an interrupted run continues with the questions it had not finished.
3. Filters (cheap, re-run from `generated.jsonl` on every call, so `--resume` with other filter
   settings re-filters without generating anything). In order, the first failing one names the reason:
   `wrong` (reward below `min_reward`), `unfinished` (no end of turn: cut by length or max turns),
   `too_few_code_turns` / `too_many_code_turns`, `final_exec_error` (the last code turn failed),
   `too_long` (prompt + completion tokens), `duplicate` (same question, same normalised model text),
   then over the survivors `task_cap` (at most `max_per_task` per task, spread over questions) and
   `mix` (the code-using share of the kept set is brought to `code_fraction`).
4. Outputs: `DIR/sft.jsonl` (kept trajectories; loads with `datasets.load_dataset("json", ...)` and
   `r1ci.rollout.read_jsonl`), `DIR/all.jsonl` (every trajectory, `metadata.synth_reason` =
   "kept" or the reject reason), `DIR/stats.json` (counts per task and reason, config, versions) and
   a table on the console.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator
from rich.console import Console
from rich.table import Table

from r1ci.config import StrictModel, check_resume_config, dump_config, load_yaml
from r1ci.jsonl import JsonlWriter, read_records, write_records
from r1ci.rollout.protocol import RolloutConfig
from r1ci.rollout.trajectory import Trajectory, write_jsonl
from r1ci.tasks.answers import normalize_text

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from r1ci.rollout.backends.base import Backend
    from r1ci.tasks.base import Question

GENERATED = "generated.jsonl"
SFT_FILE = "sft.jsonl"
ALL_FILE = "all.jsonl"
STATS_FILE = "stats.json"
CONFIG_FILE = "synth_config.yaml"

KEPT = "kept"
REASONS = ("wrong", "unfinished", "too_few_code_turns", "too_many_code_turns", "final_exec_error",
           "too_long", "duplicate", "task_cap", "mix")

Backend_ = Literal["scripted", "hf", "vllm", "openai"]


class SynthFilters(StrictModel):
    """What makes a trajectory good SFT data. Defaults follow the paper (keep verified-correct
    answers) plus what users expect from a distillation set."""

    min_reward: float = 1.0
    """Keep only trajectories the verifier scores at least this (1.0 = fully correct)."""
    require_finished: bool = True
    """Reject trajectories that did not end their turn (stop_reason "length"/"max_turns"): training
    on them teaches the student never to stop."""
    min_code_turns: int = 0
    max_code_turns: int = 5
    reject_final_exec_error: bool = True
    """Reject when the last code turn failed (an answer after a crash is a guess, even when right)."""
    max_tokens: int | None = 4096
    """Prompt + completion tokens (keep <= the SFT `train.max_length`)."""
    dedup: bool = True
    """Drop repeats: same question, same model text after lower-casing and whitespace folding."""
    max_per_task: int | None = None
    """At most this many kept trajectories per task, spread over its questions (no task dominates)."""
    code_fraction: float | None = None
    """Target share of code-using trajectories in the kept set (the paper mixes code-using and
    text-only answers); the over-represented kind is dropped (`mix`) until the share matches.
    None keeps whatever passed the other filters."""

    @field_validator("code_fraction")
    @classmethod
    def _fraction(cls, v: float | None) -> float | None:
        if v is not None and not 0.0 <= v <= 1.0:
            raise ValueError("filters.code_fraction must be in [0, 1] (or null)")
        return v


def _synth_rollout_defaults() -> RolloutConfig:
    # Sampling several answers per question needs temperature; and the teacher's end-of-turn token
    # must stay in the ids so the student learns to stop (see RolloutConfig.stop_at_answer).
    return RolloutConfig(temperature=0.7, stop_at_answer=False)


class SynthConfig(StrictModel):
    model: str = "reference"
    """Teacher: "reference" for the scripted teacher, else a model for the chosen backend."""
    backend: Backend_ = "scripted"
    base_url: str | None = None
    """OpenAI-compatible endpoint (backend openai), e.g. a vLLM server."""
    backend_options: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments for the backend constructor (see r1ci.rollout.backends)."""
    tokenizer: str | None = "default"
    """Scripted backend: the tokenizer its words are tokenised with (use the student's, so SFT can
    reuse the ids). Also counts tokens for `filters.max_tokens` when a trajectory has no ids."""
    split: str = "train"
    tasks: list[str] | None = None
    """Task names; None = every training task (the scripted teacher: those with a reference program)."""
    questions_per_task: int = Field(60, ge=1)
    question_seed: int = 0
    """Seed of the generated questions (keep it apart from evaluation's seed to avoid overlap)."""
    difficulty: int | None = None
    samples_per_question: int = Field(1, ge=1)
    rollout: RolloutConfig = Field(default_factory=_synth_rollout_defaults)
    filters: SynthFilters = Field(default_factory=SynthFilters)
    executor: str = "local"
    """Sandbox: "local", "http://HOST:PORT" (r1ci sandbox serve) or "sandboxfusion:http://HOST:PORT"."""
    seed: int = 0
    out: str = "runs/synth"
    resume: bool = False
    batch_size: int | None = None

    @field_validator("split")
    @classmethod
    def _train_only(cls, v: str) -> str:
        if v != "train":
            raise ValueError(
                f"split {v!r}: SFT data is synthesised on the training split only (held-out test tasks "
                "must never reach training data); use split: train"
            )
        return v

    @field_validator("tasks", mode="before")
    @classmethod
    def _comma_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [t.strip() for t in v.split(",") if t.strip()]
        return v


# Fields that change what is generated: a resumed run must match them exactly.
_GENERATION_KEYS = ("model", "backend", "base_url", "backend_options", "tokenizer", "tasks", "questions_per_task",
                    "question_seed", "difficulty", "samples_per_question", "rollout", "seed")


# ----------------------------------------------------------------------------------------------
# questions


def resolve_tasks(cfg: SynthConfig) -> list[str]:
    """Task names to synthesise on; raises if any is a test task (or unknown)."""
    from r1ci import tasks

    train = tasks.names(split="train")
    if cfg.tasks is None:
        chosen = train
        if cfg.backend == "scripted":
            chosen = [n for n in train if tasks.get(n).reference_program is not None]
    else:
        from r1ci.tasks.selection import select_tasks

        chosen = select_tasks(cfg.tasks, split="train",
                              purpose="SFT synthesis (held-out test tasks never become SFT data)")
    assert all(tasks.split_of(n) == "train" for n in chosen), "a test task reached SFT synthesis"
    if not chosen:
        raise ValueError("no training tasks selected; check --tasks")
    return chosen


def make_questions(cfg: SynthConfig, task_names: Sequence[str]) -> list[Question]:
    from r1ci import tasks

    out: list[Question] = []
    for name in task_names:
        out.extend(tasks.get(name).questions(cfg.questions_per_task, seed=cfg.question_seed,
                                             difficulty=cfg.difficulty))
    ids = [q.id for q in out]
    if len(set(ids)) != len(ids):
        raise ValueError("question ids are not unique; resume needs unique ids per question")
    return out


def make_backend(cfg: SynthConfig, questions: Sequence[Question]) -> Backend:
    from r1ci.rollout.backends import get_backend
    from r1ci.train.teacher import TEACHER_NAME, reference_backend

    if cfg.backend == "scripted":
        if cfg.model != TEACHER_NAME:
            raise ValueError(f"the scripted backend has one teacher, --model {TEACHER_NAME} (got {cfg.model!r})")
        return reference_backend(questions, tokenizer=cfg.tokenizer)
    opts = dict(cfg.backend_options)
    if cfg.base_url is not None:
        if cfg.backend != "openai":
            raise ValueError("--base-url applies to the openai backend (OpenAI-compatible servers, vLLM serve)")
        opts["base_url"] = cfg.base_url
    return get_backend(cfg.backend, cfg.model, **opts)


# ----------------------------------------------------------------------------------------------
# generation (resumable)


def read_generated(path: Path) -> list[Trajectory]:
    """Trajectories in `generated.jsonl` (a torn last line left by a killed run is dropped)."""
    return [Trajectory.from_dict(r) for r in read_records(path, missing_ok=True)]


def _check_resume(cfg: SynthConfig, out: Path) -> None:
    """Generation settings must match the run being resumed; filters may change (a re-filter)."""
    saved_path = out / CONFIG_FILE
    if saved_path.exists():
        check_resume_config(load_yaml(saved_path), cfg.model_dump(mode="json"), where=out, only=_GENERATION_KEYS)


def generate(cfg: SynthConfig, out: Path, console: Console) -> list[Trajectory]:
    """Roll out every question not yet finished on disk; returns all finished trajectories."""
    from r1ci.rollout.engine import run_rollouts

    gen_path = out / GENERATED
    if gen_path.exists() and not cfg.resume:
        raise FileExistsError(
            f"{out} already holds a synthesis ({GENERATED}); pass --resume to continue or re-filter it, "
            "or choose another --out"
        )
    if cfg.resume:
        _check_resume(cfg, out)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, out / CONFIG_FILE)

    questions = make_questions(cfg, resolve_tasks(cfg))
    k = cfg.samples_per_question
    have = read_generated(gen_path)
    per_q: dict[str, list[Trajectory]] = defaultdict(list)
    for t in have:
        per_q[t.question_id].append(t)
    done_ids = {qid for qid, ts in per_q.items() if len({t.metadata.get("sample_index") for t in ts}) >= k}
    kept_rows = [t for t in have if t.question_id in done_ids]
    if len(kept_rows) != len(have):  # drop partial questions: they are redone whole
        write_jsonl(gen_path, kept_rows)
    todo = [q for q in questions if q.id not in done_ids]
    if done_ids:
        console.print(f"resume: {len(done_ids)} questions already done, {len(todo)} to go")
    if todo:
        from r1ci.sandbox import get_executor

        backend = make_backend(cfg, todo)
        executor = get_executor(cfg.executor) if cfg.rollout.mode == "ci" else None
        with JsonlWriter(gen_path) as sink:

            def persist(traj: Trajectory) -> None:
                sink.write(traj.to_dict())

            try:
                from r1ci.train.teacher import fit_rollout  # the scripted teacher's programs fit their turn

                run_rollouts(backend, todo, fit_rollout(cfg.rollout, backend), samples_per_question=k, executor=executor,
                             seed=cfg.seed, on_trajectory=persist, batch_size=cfg.batch_size)
            finally:
                backend.close()
                if executor is not None:
                    executor.close()
    order = {q.id: i for i, q in enumerate(questions)}
    trajs = [t for t in read_generated(gen_path) if t.question_id in order]
    trajs.sort(key=lambda t: (order[t.question_id], t.metadata.get("sample_index", 0)))
    return trajs


# ----------------------------------------------------------------------------------------------
# filters


_ERROR_RE = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(?:Error|Exception)\b[^\n]*:", re.MULTILINE)
_STATUS_MARKERS = ("TimeoutError: the code ran longer", "MemoryError: the code exceeded", "Error: the code was killed")


def final_code_turn_failed(traj: Trajectory) -> bool:
    """Did the last executed code block fail? `exec_errors == 0` settles it exactly; otherwise the
    last interpreter segment is read for a traceback or a sandbox status line (the engine records
    errors per trajectory, not per turn)."""
    if traj.exec_errors == 0:
        return False
    outputs = [s.text for s in traj.segments if s.kind == "interpreter"]
    if not outputs:
        return False
    last = outputs[-1]
    return bool(_ERROR_RE.search(last)) or any(m in last for m in _STATUS_MARKERS)


def dedup_key(traj: Trajectory) -> tuple[str, str]:
    return traj.question_id, normalize_text(traj.model_text)


@dataclass
class TokenCounter:
    """Prompt + completion tokens: the trajectory's own ids when it has them, else tokenised the
    way training will (`trajectory_features`), loaded lazily (only ids-less trajectories need it)."""

    tokenizer_spec: str | None
    _tok: PreTrainedTokenizerBase | None = None

    def __call__(self, traj: Trajectory) -> int:
        if traj.prompt_ids:
            return len(traj.prompt_ids) + len(traj.completion_ids)
        from r1ci.rollout.tokenize import trajectory_features

        if self._tok is None:
            from r1ci.models import load_tokenizer

            self._tok = load_tokenizer(self.tokenizer_spec or "default")
        return len(trajectory_features(traj, self._tok)[0])


def reject_reason(traj: Trajectory, f: SynthFilters, count_tokens: TokenCounter) -> str | None:
    """The first per-trajectory filter `traj` fails, or None."""
    if (traj.reward or 0.0) < f.min_reward:
        return "wrong"
    if f.require_finished and traj.stop_reason not in ("answer", "eos"):
        return "unfinished"
    if traj.num_code_turns < f.min_code_turns:
        return "too_few_code_turns"
    if traj.num_code_turns > f.max_code_turns:
        return "too_many_code_turns"
    if f.reject_final_exec_error and final_code_turn_failed(traj):
        return "final_exec_error"
    if f.max_tokens is not None and count_tokens(traj) > f.max_tokens:
        return "too_long"
    return None


def _cap_per_task(candidates: list[int], trajs: Sequence[Trajectory], cap: int) -> set[int]:
    """Indices over the cap, chosen so the kept ones spread over questions (round-robin: every
    question's first sample before any question's second)."""
    by_task: dict[str, list[int]] = defaultdict(list)
    for i in candidates:
        by_task[trajs[i].task].append(i)
    dropped: set[int] = set()
    for idxs in by_task.values():
        rank: Counter[str] = Counter()
        ranked = []
        for i in idxs:  # idxs are in question order, then sample order
            ranked.append((rank[trajs[i].question_id], len(ranked), i))
            rank[trajs[i].question_id] += 1
        ranked.sort()
        dropped.update(i for _, _, i in ranked[cap:])
    return dropped


def _balance_mix(candidates: list[int], trajs: Sequence[Trajectory], fraction: float) -> tuple[set[int], str | None]:
    """Drop the over-represented kind (code-using vs text-only) until the code share is `fraction`;
    drops come from the tasks holding most of that kind first (no task loses everything early)."""
    code = [i for i in candidates if trajs[i].num_code_turns > 0]
    text = [i for i in candidates if trajs[i].num_code_turns == 0]
    if not candidates:
        return set(), None
    if fraction in (0.0, 1.0):
        over = code if fraction == 0.0 else text
        return set(over), None
    if not code or not text:
        kind = "text-only" if not text else "code-using"
        return set(), f"code_fraction {fraction}: no {kind} trajectories passed the filters, so the mix was left as is"
    share = len(code) / len(candidates)
    if share > fraction:
        over, keep_n = code, int(fraction * len(text) / (1 - fraction))
    else:
        over, keep_n = text, int((1 - fraction) * len(code) / fraction)
    n_drop = max(0, len(over) - max(keep_n, 1))
    by_task: dict[str, list[int]] = defaultdict(list)
    for i in over:
        by_task[trajs[i].task].append(i)
    dropped: set[int] = set()
    for _ in range(n_drop):
        task = max(by_task, key=lambda t: (len(by_task[t]), t))
        dropped.add(by_task[task].pop())  # the task's last sample (latest question, highest sample index)
    return dropped, None


@dataclass
class FilterResult:
    reasons: list[str]
    """Per trajectory: "kept" or the reject reason."""
    notes: list[str]


def apply_filters(trajs: Sequence[Trajectory], f: SynthFilters, count_tokens: TokenCounter) -> FilterResult:
    reasons: list[str] = []
    seen: set[tuple[str, str]] = set()
    for t in trajs:
        reason = reject_reason(t, f, count_tokens)
        if reason is None and f.dedup:
            key = dedup_key(t)
            if key in seen:
                reason = "duplicate"
            seen.add(key)
        reasons.append(reason or KEPT)
    notes: list[str] = []
    if f.max_per_task is not None:
        for i in _cap_per_task([i for i, r in enumerate(reasons) if r == KEPT], trajs, f.max_per_task):
            reasons[i] = "task_cap"
    if f.code_fraction is not None:
        dropped, note = _balance_mix([i for i, r in enumerate(reasons) if r == KEPT], trajs, f.code_fraction)
        for i in dropped:
            reasons[i] = "mix"
        if note:
            notes.append(note)
    return FilterResult(reasons, notes)


# ----------------------------------------------------------------------------------------------
# outputs


def compute_stats(trajs: Sequence[Trajectory], reasons: Sequence[str]) -> dict[str, Any]:
    per_task: dict[str, dict[str, Any]] = {}
    for t, r in zip(trajs, reasons, strict=True):
        row = per_task.setdefault(t.task, {"generated": 0, "correct": 0, "kept": 0, "rejected": {}})
        row["generated"] += 1
        row["correct"] += int((t.reward or 0.0) >= 1.0)
        if r == KEPT:
            row["kept"] += 1
        else:
            row["rejected"][r] = row["rejected"].get(r, 0) + 1
    kept = [t for t, r in zip(trajs, reasons, strict=True) if r == KEPT]
    by_reason = Counter(r for r in reasons if r != KEPT)
    return {
        "generated": len(trajs),
        "kept": len(kept),
        "questions": len({t.question_id for t in trajs}),
        "rejected": {r: by_reason[r] for r in REASONS if by_reason[r]},
        "kept_code_use_rate": sum(t.num_code_turns > 0 for t in kept) / len(kept) if kept else 0.0,
        "kept_mean_code_turns": sum(t.num_code_turns for t in kept) / len(kept) if kept else 0.0,
        "generated_accuracy": sum((t.reward or 0.0) >= 1.0 for t in trajs) / len(trajs) if trajs else 0.0,
        "per_task": dict(sorted(per_task.items())),
    }


def stats_table(stats: dict[str, Any]) -> Table:
    reasons = [r for r in REASONS if r in stats["rejected"]]
    table = Table(title=f"SFT synthesis: kept {stats['kept']} of {stats['generated']} trajectories")
    table.add_column("task")
    for col in ("generated", "correct", "kept"):
        table.add_column(col, justify="right")
    for r in reasons:
        table.add_column(r, justify="right", style="red")
    for task, row in stats["per_task"].items():
        table.add_row(task, str(row["generated"]), str(row["correct"]), f"[green]{row['kept']}[/]",
                      *[str(row["rejected"].get(r, "")) for r in reasons])
    table.add_section()
    table.add_row("[bold]total[/]", str(stats["generated"]),
                  str(sum(r["correct"] for r in stats["per_task"].values())), f"[bold green]{stats['kept']}[/]",
                  *[str(stats["rejected"][r]) for r in reasons])
    return table


def write_outputs(out: Path, trajs: Sequence[Trajectory], result: FilterResult, cfg: SynthConfig) -> dict[str, Any]:
    from r1ci.provenance import provenance

    rows_all, rows_kept = [], []
    for t, r in zip(trajs, result.reasons, strict=True):
        d = t.to_dict()
        d["metadata"] = {**d["metadata"], "synth_reason": r}
        rows_all.append(d)
        if r == KEPT:
            rows_kept.append(d)
    write_records(out / ALL_FILE, rows_all)
    write_records(out / SFT_FILE, rows_kept)
    stats = compute_stats(trajs, result.reasons)
    stats["notes"] = result.notes
    stats.update(provenance(cfg))
    tmp = out / (STATS_FILE + ".tmp")
    tmp.write_text(json.dumps(stats, indent=2), encoding="utf-8")
    tmp.replace(out / STATS_FILE)
    return stats


def synthesize(cfg: SynthConfig, console: Console | None = None) -> Path:
    """Generate (or continue), filter, and write `sft.jsonl`, `all.jsonl`, `stats.json`; returns DIR."""
    console = console or Console()
    out = Path(cfg.out)
    trajs = generate(cfg, out, console)
    result = apply_filters(trajs, cfg.filters, TokenCounter(cfg.tokenizer))
    stats = write_outputs(out, trajs, result, cfg)
    console.print(stats_table(stats))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"kept {stats['kept']} trajectories -> {out / SFT_FILE}")
    return out
