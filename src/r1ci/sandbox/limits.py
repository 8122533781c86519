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

    timeout_s: float = Field(10.0, gt=0, description="wall-clock limit; the whole process tree is killed")
    memory_mb: int = Field(
        1024, gt=0, description="address space the snippet may map on top of the pre-warmed interpreter"
    )
    max_output_bytes: int = Field(
        65536, gt=0, description="bytes kept per stream; the rest is cut with a marker"
    )
    cpu_time_s: float | None = Field(None, gt=0, description="CPU seconds (RLIMIT_CPU); None = timeout_s")
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
        }
