"""Resource limits of one execution: the typed config, validated in the caller's process.

`SandboxLimits` is what users configure (YAML, CLI, `LocalExecutor(limits=...)`); per-call arguments
(`timeout_s`, `memory_mb`, `max_output_bytes`) override it through `SandboxLimits.override`. The child
receives the limits as a plain dict (`to_wire`) and applies them with `r1ci.sandbox.rlimits`, so the
fork server needs neither pydantic nor validation on the hot path.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from r1ci.config import StrictModel

MiB = 1024 * 1024


class SandboxLimits(StrictModel):
    """Limits enforced on every execution (each is a kernel rlimit or a parent-side bound)."""

    timeout_s: float = Field(
        10.0, gt=0, allow_inf_nan=False, description="wall-clock limit; the whole process tree is killed"
    )
    memory_mb: int = Field(
        1024, gt=0, description="address space the snippet may map on top of the pre-warmed interpreter"
    )
    max_output_bytes: int = Field(
        65536, gt=0, description="bytes kept per stream; the rest is cut with a marker"
    )
    cpu_time_s: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="CPU seconds of the whole execution, all its processes together; None = timeout_s",
    )
    cpus: float = Field(1.0, gt=0, le=1024, description="CPU quota of the whole execution, in CPUs (cgroup)")
    max_processes: int = Field(64, gt=0, description="processes+threads of the snippet (RLIMIT_NPROC)")
    max_file_mb: int = Field(16, gt=0, description="largest file the snippet may write (RLIMIT_FSIZE)")
    max_open_files: int = Field(256, ge=16, description="open file descriptors (RLIMIT_NOFILE)")
    disk_mb: int = Field(64, gt=0, description="size of the private tmpfs working directory")
    kill_output_bytes: int = Field(
        64 * MiB, gt=0, description="output drained past max_output_bytes before the snippet is killed"
    )

    def override(
        self,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
        max_output_bytes: int | None = None,
    ) -> SandboxLimits:
        """A copy with the per-call arguments that are not None applied (validated like the config)."""
        update = {
            k: v
            for k, v in (
                ("timeout_s", timeout_s),
                ("memory_mb", memory_mb),
                ("max_output_bytes", max_output_bytes),
            )
            if v is not None
        }
        if not update:
            return self
        return SandboxLimits.model_validate({**self.model_dump(), **update})

    def clamp(self, maxima: SandboxLimits) -> SandboxLimits:
        """A copy with every limit at most what `maxima` allows (a huge per-call value cannot escape)."""
        data = self.model_dump()
        for name, cap in maxima.model_dump().items():
            if cap is not None and name != "cpu_time_s":
                data[name] = min(data[name], cap)
        if maxima.cpu_time_s is not None:
            data["cpu_time_s"] = min(self.cpu_time_s or self.timeout_s, maxima.cpu_time_s)
        return self if data == self.model_dump() else SandboxLimits.model_validate(data)

    def widen(self, other: SandboxLimits) -> SandboxLimits:
        """Field-wise maximum: maxima that always admit the executor's own configured limits."""
        mine, theirs = self.model_dump(), other.model_dump()
        return SandboxLimits.model_validate(
            {
                k: v if theirs[k] is None else max(v, theirs[k]) if v is not None else v
                for k, v in mine.items()
            }
        )

    def to_wire(self) -> dict[str, Any]:
        cpu = self.cpu_time_s if self.cpu_time_s is not None else self.timeout_s
        return {
            "timeout_s": self.timeout_s,
            "memory_bytes": self.memory_mb * MiB,
            "cpu_s": max(1, math.ceil(cpu)),
            "nproc": self.max_processes,
            "fsize_bytes": self.max_file_mb * MiB,
            "nofile": self.max_open_files,
            "disk_mb": self.disk_mb,
            "cpus": self.cpus,
        }


# Per-call limits (from a rollout, an HTTP client) are clamped to these unless the executor is given
# its own `max_limits`; an executor's configured defaults always fit (see `LocalExecutor`).
DEFAULT_MAXIMA = SandboxLimits(
    timeout_s=3600,
    memory_mb=64 * 1024,
    max_output_bytes=16 * MiB,
    cpu_time_s=3600,
    cpus=64,
    max_processes=1024,
    max_file_mb=1024,
    max_open_files=4096,
    disk_mb=4096,
    kill_output_bytes=1024 * MiB,
)
