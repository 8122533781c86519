"""The executor's bookkeeping for one execution (`Job`) and one session (`Session`), and how the
reports about a finished job (the child's own, the fork server's, a session turn's) become its
ExecutionResult. Pure data and functions: the I/O lives in `r1ci.sandbox.local`."""

from __future__ import annotations

import json
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
    meta: bytearray = field(default_factory=bytearray)
    fds: dict[int, str] = field(default_factory=dict)  # read end -> "out" | "err" | "meta"
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
    """The result of a job whose child reported (or was reported) finished."""
    meta = parse_meta(job)
    cpu, rss_kb = 0.0, 0.0
    report: dict[str, Any] = {}
    if job.turn is not None:  # a session turn that completed
        report = job.turn
        exit_code: int | None = job.turn["exit_code"]
        killed_for = None
    elif meta.get("final") and isinstance(meta.get("exit_code"), int):  # the child's own final report
        report = meta
        exit_code, killed_for = meta["exit_code"], None
        cpu, rss_kb = float(meta.get("cpu_s", 0.0)), float(meta.get("max_rss_kb", 0))
    else:  # the server's report: killed, crashed, or no pid namespace
        assert job.exit is not None
        report = meta
        exit_code, killed_for = job.exit.get("exit_code"), job.exit.get("killed_for")
        cpu, rss_kb = float(job.exit.get("cpu_s", 0.0)), float(job.exit.get("max_rss_kb", 0))
    # SIGKILL nobody sent, after using the whole CPU budget: RLIMIT_CPU's hard limit.
    cpu_limit = float(job.limits.to_wire()["cpu_s"])
    hard_cpu_kill = exit_code == -signal.SIGKILL and killed_for is None and cpu >= cpu_limit
    status, timed_out, memory_exceeded = classify(
        exit_code,
        killed_for=killed_for,
        memory_error=bool(report.get("memory_error")),
        cpu_exceeded=bool(report.get("cpu_exceeded")) or hard_cpu_kill,
    )
    extra: dict[str, Any] = {}
    if job.session_id is not None:
        extra = {"session_id": job.session_id, "session_alive": job.turn is not None}
    return ExecutionResult(
        stdout=job.out.text(),
        stderr=job.err.text() + sandbox_note(status, killed_for, exit_code, job.limits),
        exit_code=exit_code,
        timed_out=timed_out,
        memory_exceeded=memory_exceeded,
        truncated=job.out.truncated or job.err.truncated,
        duration_s=time.monotonic() - job.started,
        status=status,
        cpu_s=cpu,
        max_rss_mb=rss_kb / 1024,
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


def parse_meta(job: Job) -> dict[str, Any]:
    """The child's end-of-run report (empty if it never wrote one, e.g. it was killed)."""
    if "meta" in job.fds or not job.meta:
        return {}
    try:
        data = json.loads(bytes(job.meta))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def sandbox_note(status: str, killed_for: str | None, exit_code: int | None, limits: SandboxLimits) -> str:
    """One line telling the reader (often a model) which limit ended the snippet."""
    if status == "timeout":
        if killed_for == "timeout":
            return f"\nr1ci sandbox: killed after the {limits.timeout_s:g}s wall-clock limit\n"
        return f"\nr1ci sandbox: stopped at the {limits.to_wire()['cpu_s']}s CPU-time limit\n"
    if killed_for == "output":
        return f"\nr1ci sandbox: killed after printing more than {limits.kill_output_bytes} bytes\n"
    if status == "killed" and exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"\nr1ci sandbox: the process was killed by {name}\n"
    return ""
