"""Child side of the limits: turn the wire dict from `SandboxLimits.to_wire` into kernel rlimits."""

from __future__ import annotations

import os
import resource
from typing import Any


def current_address_space() -> int:
    """Bytes of virtual address space mapped by this process right now (/proc/self/statm, first field)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def apply_rlimits(
    wire: dict[str, Any],
    *,
    limit_processes: bool,
    base_address_space: int | None = None,
    limit_cpu: bool = True,
) -> None:
    """Child side: turn the wire limits into rlimits (call before dropping privileges).

    Hard limits are only ever lowered: raising one needs CAP_SYS_RESOURCE, which containers often drop
    even for root. RLIMIT_AS is relative to what the pre-warmed interpreter already maps (numpy and sympy alone map
    ~130 MB), so `memory_mb` means the same thing whatever was preloaded. RLIMIT_NPROC is only set when the
    child runs under its own uid: it counts every process of the real uid, and for a shared uid it
    would cap the caller's processes too.
    """
    base = current_address_space() if base_address_space is None else base_address_space
    address_space = base + int(wire["memory_bytes"])
    cpu = int(wire["cpu_s"])
    limits: list[tuple[int, int, int]] = [
        (resource.RLIMIT_AS, address_space, address_space),
        (resource.RLIMIT_FSIZE, int(wire["fsize_bytes"]), int(wire["fsize_bytes"])),
        (resource.RLIMIT_NOFILE, int(wire["nofile"]), int(wire["nofile"])),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if limit_cpu:  # SIGXCPU at the soft limit (reported as a timeout); SIGKILL a second later if ignored
        limits.append((resource.RLIMIT_CPU, cpu, cpu + 1))
    if limit_processes:
        limits.append((resource.RLIMIT_NPROC, int(wire["nproc"]), int(wire["nproc"])))
    for which, soft, hard in limits:
        _, old_hard = resource.getrlimit(which)
        if old_hard != resource.RLIM_INFINITY:
            hard = min(hard, old_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
