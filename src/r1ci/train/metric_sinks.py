"""Training metrics: one `MetricsLogger.log(metrics, step)` call fans out to every sink a run uses.

Sinks:
- `console`: a compact rich line per logged step (only on the main process, so an 8-GPU run prints once);
- `jsonl`: `DIR/metrics.jsonl`, one JSON object per call (`{"step": .., "time": .., **metrics}`), the
  record that reports and tests read back;
- `tensorboard`: `DIR/tensorboard/` when the `tensorboard` package is installed;
- `wandb`: a W&B run when `wandb` is installed and configured (see `LoggingConfig.report_to`).

Shared by the SFT and GRPO trainers; nothing here knows which stage is logging. Heavy sinks import
lazily so a CPU-only install without TensorBoard or W&B logs to console + JSONL and never fails.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from r1ci.config import StrictModel
from r1ci.jsonl import read_records, write_records

Sink = Literal["console", "jsonl", "tensorboard", "wandb"]
ALL_SINKS: tuple[Sink, ...] = ("console", "jsonl", "tensorboard", "wandb")


class LoggingConfig(StrictModel):
    """Where metrics go. Recipes usually leave `report_to: auto`."""

    report_to: list[Sink] | Literal["auto", "none"] = "auto"
    """`auto` = console + jsonl, plus tensorboard when installed, plus wandb when installed *and*
    configured (`WANDB_API_KEY` or `WANDB_MODE` set), so an unconfigured W&B never prompts mid-run.
    `none` = jsonl only (the metrics file is the run's record and is always written)."""
    log_every: int = 1
    """Log training metrics every N optimizer steps (eval metrics are logged whenever eval runs)."""
    run_name: str | None = None
    """Name for TensorBoard/W&B; default: the output folder's name."""
    wandb_project: str | None = None
    """W&B project; default: `$WANDB_PROJECT`, else `r1ci`."""


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def resolve_sinks(report_to: list[Sink] | str) -> list[Sink]:
    """Expand `auto`/`none` into the concrete sinks available on this machine; explicit sinks that
    are not installed raise with an install hint (asking for TensorBoard and silently not getting it
    would lose a run's curves)."""
    if report_to == "none":
        return ["jsonl"]
    if report_to == "auto":
        sinks: list[Sink] = ["console", "jsonl"]
        if _installed("tensorboard"):
            sinks.append("tensorboard")
        if _installed("wandb") and (os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE")):
            sinks.append("wandb")
        return sinks
    if isinstance(report_to, str):
        raise ValueError(f"report_to must be 'auto', 'none' or a list of {list(ALL_SINKS)}; got {report_to!r}")
    hints = {"tensorboard": "pip install tensorboard", "wandb": "pip install wandb && wandb login"}
    for sink in report_to:
        if sink in hints and not _installed(sink):
            raise ImportError(f"logging sink {sink!r} requested but not installed: {hints[sink]}")
    out = list(dict.fromkeys(report_to))
    if "jsonl" not in out:
        out.append("jsonl")
    return out


def _scalar(value: Any) -> float | int | str | None:
    """Plain JSON scalar from a python/numpy/torch number (tensors are `.item()`-ed)."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no NaN/inf
    raise TypeError(f"metric value {value!r} ({type(value).__name__}) is not a number or string")


def format_metric(name: str, value: float | int | str | None) -> str:
    if isinstance(value, float):
        if name == "lr" or (value != 0 and abs(value) < 1e-3):
            return f"{name} {value:.2e}"
        return f"{name} {value:.4f}"
    return f"{name} {value}"


class MetricsLogger:
    """Fans metrics out to console / JSONL / TensorBoard / W&B.

    Create one per run on every process; only the main process (`enabled=True`) writes anything, so
    callers never branch on rank. `resume_step` drops JSONL rows logged after the checkpoint a run
    resumes from, so a resumed run's metrics file reads as if it had never been interrupted.
    """

    def __init__(
        self,
        out_dir: str | Path,
        cfg: LoggingConfig | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        enabled: bool = True,
        resume_step: int | None = None,
        console: Console | None = None,
    ) -> None:
        self.cfg = cfg or LoggingConfig()
        self.out_dir = Path(out_dir)
        self.enabled = enabled
        self.sinks = resolve_sinks(self.cfg.report_to) if enabled else []
        self.console = console or Console()
        self.path = self.out_dir / "metrics.jsonl"
        self._tb: Any = None
        self._wandb: Any = None
        if not enabled:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if resume_step is not None:
            self._truncate_after(resume_step)
        elif self.path.exists():
            self.path.unlink()  # a fresh run in a reused folder must not inherit stale curves
        self._file = self.path.open("a", encoding="utf-8")
        name = self.cfg.run_name or self.out_dir.resolve().name
        if "tensorboard" in self.sinks:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(self.out_dir / "tensorboard"), purge_step=resume_step)
        if "wandb" in self.sinks:
            import wandb

            self._wandb = wandb.init(
                project=self.cfg.wandb_project or os.environ.get("WANDB_PROJECT", "r1ci"),
                name=name,
                config=dict(config or {}),
                dir=str(self.out_dir),
                resume="allow",
                id=_wandb_id(self.out_dir),
            )

    def _truncate_after(self, step: int) -> None:
        """On resume: drop rows logged after the checkpoint, which the resumed run logs again."""
        if self.path.exists():
            write_records(self.path, [r for r in read_records(self.path) if int(r.get("step", 0)) <= step])

    def log(self, metrics: Mapping[str, Any], step: int, *, prefix: str = "") -> None:
        """Record `metrics` at optimizer step `step`; `prefix` (e.g. "eval/") namespaces the keys."""
        if not self.enabled:
            return
        row = {f"{prefix}{k}": _scalar(v) for k, v in metrics.items()}
        if "jsonl" in self.sinks:
            self._file.write(json.dumps({"step": step, "time": round(time.time(), 3), **row}) + "\n")
            self._file.flush()
        if "console" in self.sinks:
            parts = "  ".join(format_metric(k, v) for k, v in row.items())
            self.console.print(f"[bold cyan]step {step}[/]  {parts}", highlight=False)
        numeric = {k: v for k, v in row.items() if isinstance(v, (int, float))}
        if self._tb is not None:
            for key, value in numeric.items():
                self._tb.add_scalar(key, value, step)
        if self._wandb is not None:
            self._wandb.log(numeric, step=step)

    def close(self) -> None:
        if not self.enabled:
            return
        self._file.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _wandb_id(out_dir: Path) -> str:
    """A stable W&B run id per output folder, so `--resume` continues the same W&B run."""
    import hashlib

    return hashlib.sha256(str(out_dir.resolve()).encode()).hexdigest()[:16]


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a `metrics.jsonl` (or of the folder holding one); a torn last line is dropped."""
    p = Path(path)
    return read_records(p / "metrics.jsonl" if p.is_dir() else p)


def training_progress(console: Console | None = None, *, disable: bool = False) -> Progress:
    """The progress bar both trainers show: description, bar, step m/n, elapsed, remaining."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=console,
        disable=disable,
        transient=False,
    )
