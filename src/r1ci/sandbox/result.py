"""The result of one execution, how its status is decided, and the bounded buffer that captures output."""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "memory", "killed"]
STATUSES: tuple[str, ...] = ("ok", "error", "timeout", "memory", "killed")


def truncation_marker(limit: int) -> str:
    return f"\n[r1ci sandbox: output truncated, kept the first {limit} bytes]\n"


@dataclass
class ExecutionResult:
    """What a snippet did. `status` is the one field to branch on; the booleans say why it is not "ok"."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None  # negative = killed by that signal number (like subprocess)
    timed_out: bool = False
    memory_exceeded: bool = False
    truncated: bool = False
    duration_s: float = 0.0
    status: Status = "ok"
    cpu_s: float = 0.0
    max_rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific details (e.g. session restarted)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecutionResult:
        names = {f.name for f in fields(cls)}
        unknown_status = data.get("status") not in STATUSES
        kwargs = {k: v for k, v in data.items() if k in names}
        if unknown_status:
            raise ValueError(f"status must be one of {STATUSES}, got {data.get('status')!r}")
        return cls(**kwargs)


def classify(
    exit_code: int | None,
    *,
    killed_for: str | None,
    memory_error: bool,
    cpu_exceeded: bool = False,
    oom_kills: int = 0,
) -> tuple[Status, bool, bool]:
    """-> (status, timed_out, memory_exceeded) from how the process ended.

    `exit_code` is the kernel's wait status of the snippet's process, `killed_for` the reason the
    sandbox itself killed it ("timeout", "cpu", "output", ...), `oom_kills` how many of its processes
    the cgroup's OOM killer ended. `memory_error`/`cpu_exceeded` are the runner's hint that an uncaught
    MemoryError / CPUTimeLimitExceeded ended it: it only ever relabels a failure (a snippet that
    forges it gains nothing), so it is ignored for a zero exit. SIGXCPU means RLIMIT_CPU fired.
    """
    failed = exit_code is None or exit_code != 0
    if killed_for in ("timeout", "cpu") or (cpu_exceeded and failed) or exit_code == -signal.SIGXCPU:
        return "timeout", True, False
    if oom_kills > 0 or (memory_error and failed):
        return "memory", False, True
    if killed_for is not None or exit_code is None or exit_code < 0:
        return "killed", False, False
    return ("ok" if exit_code == 0 else "error"), False, False


class BoundedBuffer:
    """Keeps the first `limit` bytes written to it and counts the rest, so a flood never grows memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._chunks: list[bytes] = []
        self.kept = 0
        self.dropped = 0

    def write(self, data: bytes) -> None:
        room = self.limit - self.kept
        if room > 0:
            part = data[:room]
            self._chunks.append(part)
            self.kept += len(part)
        self.dropped += max(0, len(data) - max(room, 0))

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def text(self) -> str:
        body = b"".join(self._chunks).decode("utf-8", errors="replace")
        return body + truncation_marker(self.limit) if self.truncated else body
