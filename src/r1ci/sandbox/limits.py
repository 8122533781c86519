"""Resource limits of one execution: the typed config (parent side) and the rlimits it becomes (child side).

`SandboxLimits` is what users configure (YAML, CLI, `LocalExecutor(limits=...)`); per-call arguments
(`timeout_s`, `memory_mb`, `max_output_bytes`) override it through `SandboxLimits.override`. The child
receives the limits as a plain dict (`to_wire`) so the fork server never validates on the hot path.
"""

from __future__ import annotations

import math
import os
import resource
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


def current_address_space() -> int:
    """Bytes of virtual address space mapped by this process right now (/proc/self/statm, first field)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def apply_rlimits(
    wire: dict[str, Any], *, limit_processes: bool, base_address_space: int | None = None
) -> None:
    """Child side: turn the wire limits into rlimits (call before dropping privileges).

    RLIMIT_AS is relative to what the pre-warmed interpreter already maps (numpy and sympy alone map
    ~130 MB), so `memory_mb` means the same thing whatever was preloaded. RLIMIT_NPROC is only set when the
    child runs under its own uid: it counts every process of the real uid, and for a shared uid it
    would cap the caller's processes too.
    """
    base = current_address_space() if base_address_space is None else base_address_space
    address_space = base + int(wire["memory_bytes"])
    cpu = int(wire["cpu_s"])
    limits: list[tuple[int, int, int]] = [
        (resource.RLIMIT_AS, address_space, address_space),
        # SIGXCPU at the soft limit (reported as a timeout); SIGKILL one second later if it is ignored.
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, int(wire["fsize_bytes"]), int(wire["fsize_bytes"])),
        (resource.RLIMIT_NOFILE, int(wire["nofile"]), int(wire["nofile"])),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if limit_processes:
        limits.append((resource.RLIMIT_NPROC, int(wire["nproc"]), int(wire["nproc"])))
    for which, soft, hard in limits:
        _, old_hard = resource.getrlimit(which)
        if old_hard != resource.RLIM_INFINITY:
            hard = min(hard, old_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
