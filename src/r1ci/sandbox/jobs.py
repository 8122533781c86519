"""The executor's bookkeeping for one execution (`Job`) and one session (`Session`), and how the
reports about a finished job (the fork server's, a session turn's) become its
ExecutionResult. Pure data and functions: the I/O lives in `r1ci.sandbox.local`."""

from __future__ import annotations

import signal
import socket
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from r1ci.sandbox.limits import SandboxLimits
from r1ci.sandbox.result import BoundedBuffer, ExecutionResult, classify


@dataclass
class Job:
    """One submitted snippet: its limits, its future, its output buffers and open pipe ends."""

    id: int
    code: str
    limits: SandboxLimits
    stdin: str | None
    session_id: str | None
    future: Future[ExecutionResult]
    out: BoundedBuffer
    err: BoundedBuffer
    fds: dict[int, str] = field(default_factory=dict)  # read end -> "out" | "err"
    exit: dict[str, Any] | None = None
    turn: dict[str, Any] | None = None  # session turns: the child's end-of-turn report
    started: float = 0.0
    deadline: float = 0.0
    grace_until: float | None = None
    flood_killed: bool = False
    pid: int | None = None  # the one-shot's child
    retired: bool = False


@dataclass
class Session:
    """A child kept alive across turns (`session_id`): one turn runs at a time, the rest queue."""

    sid: str
    pid: int
    ctrl: socket.socket
    last_used: float
    busy: Job | None = None
    queue: deque[Job] = field(default_factory=deque)
    turns: int = 0


def result_of(job: Job) -> ExecutionResult:
    """The result of a job whose execution ended (the server's exit report) or whose turn reported."""
    killed_for = None
    oom_kills = 0
    peak: float | None = None
    if job.turn is not None:  # a session turn that completed (the session process's own report)
        report = job.turn
        exit_code: int | None = report["exit_code"]
        memory_error, cpu_exceeded = report["memory_error"], report["cpu_exceeded"]
        cpu, rss_kb = 0.0, 0.0
    else:  # the fork server's report: the kernel's wait status and cgroup counters
        assert job.exit is not None
        exit_code, killed_for = job.exit.get("exit_code"), job.exit.get("killed_for")
        hint = job.exit.get("hint", "")
        memory_error, cpu_exceeded = hint == "M", hint == "C"
        cpu, rss_kb = float(job.exit.get("cpu_s", 0.0)), float(job.exit.get("max_rss_kb", 0))
        oom_kills = int(job.exit.get("oom_kills", 0))
        if job.exit.get("peak_bytes"):
            peak = int(job.exit["peak_bytes"]) / (1 << 20)
    # SIGKILL nobody sent, after using the whole CPU budget: RLIMIT_CPU's hard limit.
    cpu_limit = float(job.limits.to_wire()["cpu_s"])
    hard_cpu_kill = exit_code == -signal.SIGKILL and killed_for is None and cpu >= cpu_limit
    status, timed_out, memory_exceeded = classify(
        exit_code,
        killed_for=killed_for,
        memory_error=memory_error,
        cpu_exceeded=cpu_exceeded or hard_cpu_kill,
        oom_kills=oom_kills,
    )
    extra: dict[str, Any] = {}
    if job.session_id is not None:
        extra = {"session_id": job.session_id, "session_alive": job.turn is not None}
    if oom_kills:
        extra["oom_kills"] = oom_kills
    return ExecutionResult(
        stdout=job.out.text(),
        stderr=job.err.text() + sandbox_note(status, killed_for, exit_code, job.limits, oom_kills),
        exit_code=exit_code,
        timed_out=timed_out,
        memory_exceeded=memory_exceeded,
        truncated=job.out.truncated or job.err.truncated,
        duration_s=time.monotonic() - job.started,
        status=status,
        cpu_s=cpu,
        max_rss_mb=peak if peak is not None else rss_kb / 1024,
        extra=extra,
    )


def killed_result(job: Job, note: str) -> ExecutionResult:
    """The sandbox gave up on the job (executor closed, fork server died): what output there was."""
    return ExecutionResult(
        stdout=job.out.text(),
        stderr=job.err.text() + note + "\n",
        exit_code=None,
        truncated=job.out.truncated or job.err.truncated,
        duration_s=time.monotonic() - job.started if job.started else 0.0,
        status="killed",
    )


def error_result(message: str) -> ExecutionResult:
    return ExecutionResult(stderr=f"r1ci sandbox: {message}\n", exit_code=None, status="error")


def sandbox_note(
    status: str, killed_for: str | None, exit_code: int | None, limits: SandboxLimits, oom_kills: int = 0
) -> str:
    """One line telling the reader (often a model) which limit ended the snippet."""
    if status == "timeout":
        if killed_for == "timeout":
            return f"\nr1ci sandbox: killed after the {limits.timeout_s:g}s wall-clock limit\n"
        if killed_for == "cpu":
            return f"\nr1ci sandbox: killed at the {limits.to_wire()['cpu_s']}s CPU-time limit (all its processes together)\n"
        return f"\nr1ci sandbox: stopped at the {limits.to_wire()['cpu_s']}s CPU-time limit\n"
    if oom_kills:
        return (
            f"\nr1ci sandbox: over the {limits.memory_mb} MiB memory limit ({oom_kills} process(es) killed)\n"
        )
    if killed_for == "output":
        return f"\nr1ci sandbox: killed after printing more than {limits.kill_output_bytes} bytes\n"
    if status == "killed" and exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"\nr1ci sandbox: the process was killed by {name}\n"
    return ""
