"""The evaluation runner: questions → rollouts → trajectories.jsonl → metrics.json + reports.

Resumability is the design constraint (invariant 3). Each finished trajectory is appended to
`trajectories.jsonl` and flushed the moment the engine hands it over (`on_trajectory`), so Ctrl-C or a
crash loses only samples still in flight. `resume=True` reads what is on disk, checks the run's saved
config matches the current one (a different model or mode would silently mix two experiments into one
set of numbers), and rolls out only the missing `(question_id, sample_index)` pairs; metrics and
reports are then computed over every record in the file.

Samples of one question are exchangeable, so a question with some samples already done is re-run
with as many samples as are missing and the new samples take the missing indices.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator
from rich.console import Console

from r1ci.config import ConfigError, StrictModel, check_resume_config
from r1ci.eval.metrics import compute_metrics, record_key
from r1ci.eval.report import CONFIG, METRICS, TRAJECTORIES, load_run, write_report
from r1ci.jsonl import JsonlWriter, read_records
from r1ci.provenance import versions
from r1ci.rollout import RolloutConfig

if TYPE_CHECKING:
    from r1ci.rollout import Backend, Trajectory
    from r1ci.tasks.base import Question, Task

Suite = Literal["test", "train", "all", "symbench", "bbh", "reasoning_gym"]

# How each --suite maps onto the registry's `names(suite=, split=)`.
SUITE_FILTERS: dict[str, dict[str, str]] = {
    "test": {"split": "test"},
    "train": {"split": "train"},
    "all": {},
    "symbench": {"suite": "symbench"},
    "bbh": {"suite": "bbh"},
    "reasoning_gym": {"suite": "reasoning_gym"},
}

# Settings that may change between a run and its resumption: where things run, not what is measured.
RESUMABLE_KEYS = frozenset({"out", "resume", "progress", "executor", "backend_options", "base_url", "batch_size"})

console = Console(stderr=True)


class EvalConfig(StrictModel):
    """Everything that defines an evaluation run (recorded in DIR/config.json)."""

    model: str = "default"
    """Hub id, local HF folder, .gguf file, or `default` (the embedded SmolLM2-135M-Instruct)."""
    backend: str = "hf"
    """Generation backend: hf | vllm | openai (| scripted, for tests)."""
    base_url: str | None = None
    """Server URL for the openai backend (any OpenAI-compatible endpoint, e.g. a vLLM server)."""
    backend_options: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments for `get_backend` (device, dtype, batch size, ...)."""
    suite: Suite = "test"
    """Which tasks: a split (test/train/all) or a source (symbench/bbh/reasoning_gym)."""
    tasks: list[str] | None = None
    """Explicit task names; overrides `suite`."""
    max_tasks: int | None = Field(default=None, ge=1)
    """Keep only K tasks, taken round-robin over sources so a small run still covers every source."""
    samples_per_task: int = Field(default=10, ge=1)
    """Questions per task."""
    samples_per_question: int = Field(default=1, ge=1)
    """Samples per question (k > 1 adds pass@1 and pass@k to the report)."""
    reference: bool = False
    """SymBench tasks: take questions from the published reference sets instead of the generators."""
    seed: int = 0
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    executor: str = "local"
    """Sandbox: local | http://HOST:PORT | sandboxfusion:http://HOST:PORT."""
    batch_size: int | None = Field(default=None, ge=1)
    """Rollouts generated together (None = the backend's default)."""
    out: Path | None = None
    """Output folder (required)."""
    resume: bool = False
    """Finish an interrupted run in `out` instead of refusing a non-empty folder."""
    progress: bool = True

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, name: str) -> str:
        from r1ci.rollout.backends import BACKENDS

        if name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
        return name


# ---------------------------------------------------------------- selecting questions


def _round_robin_by_source(names: Sequence[str], k: int) -> list[str]:
    from r1ci.tasks import get

    by_source: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_source[get(name).source].append(name)
    picked: list[str] = []
    queues = list(by_source.values())
    while len(picked) < k and any(queues):
        for q in queues:
            if q and len(picked) < k:
                picked.append(q.pop(0))
    keep = set(picked)
    return [n for n in names if n in keep]  # registry order, so reports list tasks stably


def select_tasks(cfg: EvalConfig) -> list[str]:
    from r1ci.tasks import names

    if cfg.tasks:
        from r1ci.tasks.selection import select_tasks

        selected = select_tasks(cfg.tasks)  # names, suites or splits; typos fail with close matches
    else:
        selected = list(names(**SUITE_FILTERS[cfg.suite]))
    if not selected:
        raise ConfigError(f"suite {cfg.suite!r} selects no tasks; see `r1ci tasks list`")
    if cfg.max_tasks is not None:
        selected = _round_robin_by_source(selected, cfg.max_tasks)
    return selected


def task_questions(task: Task, cfg: EvalConfig) -> list[Question]:
    if cfg.reference and task.source == "symbench":
        from r1ci.tasks.symbench.common import reference_questions

        refs = reference_questions(task)
        if refs:
            return refs[: cfg.samples_per_task]
        console.print(f"[yellow]{task.name}: no reference set; using generated questions[/yellow]")
    return task.questions(cfg.samples_per_task, seed=cfg.seed)


def select_questions(cfg: EvalConfig) -> list[Question]:
    """Every question of the run, task by task (deterministic in the seed, so a resume sees the same)."""
    from rich.progress import track

    from r1ci.tasks import get

    names = select_tasks(cfg)
    steps = track(names, description="questions", console=console, transient=True) if cfg.progress else names
    return [q for name in steps for q in task_questions(get(name), cfg)]


# ---------------------------------------------------------------- the output folder


def check_resumable(out: Path, cfg: EvalConfig) -> None:
    """Refuse to resume into a folder whose saved config measures something else."""
    saved_path = out / CONFIG
    if not saved_path.exists():
        raise ConfigError(
            f"{out} is not empty but holds no {CONFIG}, so it is not an r1ci eval run; pass a new --out"
        )
    check_resume_config(json.loads(saved_path.read_text())["config"], cfg.model_dump(mode="json"), where=out,
                        ignore=sorted(RESUMABLE_KEYS))


def prepare_out_dir(cfg: EvalConfig) -> Path:
    if cfg.out is None:
        raise ConfigError("no output folder: pass --out DIR (or set `out:` in the YAML)")
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; pass a folder")
    non_empty = out.exists() and any(out.iterdir())
    if non_empty and not cfg.resume:
        raise ConfigError(
            f"{out} already holds results; pass --resume to finish that run, or a new --out for a fresh one"
        )
    if non_empty:
        check_resumable(out, cfg)
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_done(path: Path) -> list[dict[str, Any]]:
    """Finished records on disk; a torn last line from a crash is dropped (appends cut it off)."""
    return read_records(path, missing_ok=True)


def write_config(out: Path, cfg: EvalConfig, backend: Backend) -> None:
    if (out / CONFIG).exists():
        return  # a resumed run keeps the record of how it started
    info = {
        "config": cfg.model_dump(mode="json"),
        "model": {
            "spec": cfg.model,
            "backend_model": getattr(backend, "model_name", None),
            # For in-process models, where the weights came from (the resolved folder of `default`).
            "path": getattr(getattr(backend, "model", None), "name_or_path", None),
        },
        "versions": versions(),
        "command": sys.argv,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (out / CONFIG).write_text(json.dumps(info, indent=2) + "\n")


def write_metrics(
    out: Path, records: list[dict[str, Any]], *, planned: int, session: dict[str, Any], k: int
) -> dict[str, Any]:
    """metrics.json: the records' metrics plus run-level timing accumulated over sessions."""
    previous: list[dict[str, Any]] = []
    if (out / METRICS).exists():
        previous = json.loads((out / METRICS).read_text()).get("sessions", [])
    sessions = [*previous, session]
    metrics = compute_metrics(records, k=k)
    metrics.update({
        "planned_samples": planned,
        "complete": len(records) >= planned,
        "wall_time_s": sum(s["wall_s"] for s in sessions),
        "sessions": sessions,
    })
    (out / METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


# ---------------------------------------------------------------- running


def make_backend(cfg: EvalConfig) -> Backend:
    from r1ci.rollout import get_backend

    opts = dict(cfg.backend_options)
    if cfg.base_url is not None:
        opts["base_url"] = cfg.base_url
    return get_backend(cfg.backend, model=cfg.model, **opts)


def _missing_groups(
    questions: Sequence[Question], done: set[tuple[str, int]], k: int
) -> dict[tuple[int, ...], list[Question]]:
    """Questions grouped by which sample indices they still lack (one engine call per group)."""
    groups: dict[tuple[int, ...], list[Question]] = defaultdict(list)
    for q in questions:
        missing = tuple(s for s in range(k) if (q.id, s) not in done)
        if missing:
            groups[missing].append(q)
    return groups


def _persist_to(
    sink: JsonlWriter, records: list[dict[str, Any]], indices: tuple[int, ...],
    on_trajectory: Callable[[Trajectory], None] | None,
) -> Callable[[Trajectory], None]:
    """The engine callback: label the sample, append it to the JSONL and flush before anything else."""
    from r1ci.tasks import get

    def persist(traj: Trajectory) -> None:
        # The engine numbers this call's samples 0..m-1; they fill the question's missing indices.
        traj.metadata["sample_index"] = indices[int(traj.metadata.get("sample_index", 0))]
        if not traj.metadata.get("source"):
            traj.metadata["source"] = get(traj.task).source
        rec = traj.to_dict()
        sink.write(rec)
        records.append(rec)
        if on_trajectory is not None:
            on_trajectory(traj)

    return persist


def evaluate(
    cfg: EvalConfig,
    *,
    backend: Backend | None = None,
    executor: Any = None,
    on_trajectory: Callable[[Trajectory], None] | None = None,
    questions: Sequence[Question] | None = None,
) -> Path:
    """Run (or finish, with `cfg.resume`) an evaluation; returns the output folder.

    `backend` lets a caller evaluate an in-process model (e.g. `HFBackend.from_model` during training);
    `on_trajectory` is called after each trajectory is safely on disk. `questions` replaces the
    config's task selection (scripted use: a pipeline's own deduplicated question set); the caller
    must pass the same questions again to resume.
    """
    from r1ci.rollout import run_rollouts

    # before touching the folder: a bad task name leaves no debris
    questions = list(questions) if questions is not None else select_questions(cfg)
    if not questions:
        raise ConfigError("the selection holds no questions; raise --samples-per-task or pick other tasks")
    out = prepare_out_dir(cfg)
    k = cfg.samples_per_question
    planned = len(questions) * k
    traj_path = out / TRAJECTORIES
    records = load_done(traj_path)
    on_disk = len(records)
    groups = _missing_groups(questions, {record_key(r) for r in records}, k)
    todo = sum(len(idx) * len(qs) for idx, qs in groups.items())
    if on_disk:
        console.print(f"resuming {out}: {on_disk} samples on disk, {todo} to go")

    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()

    def session(interrupted: bool) -> dict[str, Any]:
        return {"started": started, "wall_s": round(time.perf_counter() - t0, 3),
                "new_samples": len(records) - on_disk, "interrupted": interrupted}

    own_backend, own_executor = backend is None, False
    try:
        if todo:
            backend = make_backend(cfg) if backend is None else backend
            write_config(out, cfg, backend)
            if executor is None and cfg.executor != "local" and cfg.rollout.mode == "ci":
                from r1ci.sandbox import get_executor

                executor, own_executor = get_executor(cfg.executor), True
            with JsonlWriter(traj_path) as sink:
                for indices, qs in groups.items():
                    run_rollouts(
                        backend, qs, cfg.rollout, samples_per_question=len(indices), executor=executor,
                        seed=cfg.seed, progress=cfg.progress, batch_size=cfg.batch_size,
                        on_trajectory=_persist_to(sink, records, indices, on_trajectory),
                    )
    except BaseException:
        if records:  # an honest partial metrics.json (marked incomplete); the report comes with --resume
            write_metrics(out, records, planned=planned, session=session(True), k=k)
            console.print(
                f"[yellow]interrupted: {len(records)} of {planned} samples are saved in {traj_path}; "
                "finish with the same command plus --resume[/yellow]"
            )
        raise
    finally:
        if own_backend and backend is not None:
            backend.close()  # frees GPU memory / server sessions before the report is drawn
        if own_executor:
            executor.close()
    write_metrics(out, records, planned=planned, session=session(False), k=k)
    write_report([load_run(out)], out)
    return out


def rebuild_report(out: str | Path, title: str | None = None) -> Path:
    """Recompute metrics.json and rewrite report.md/.html of a run folder from its trajectories.jsonl."""
    folder = Path(out)
    run = load_run(folder)
    if "planned_samples" in run.metrics:
        run.metrics["complete"] = run.metrics["samples"] >= run.metrics["planned_samples"]
    (folder / METRICS).write_text(json.dumps(run.metrics, indent=2) + "\n")
    write_report([run], folder, title=title)
    return folder
