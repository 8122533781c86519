"""Per-execution cgroups: memory (every page of every process of the execution: heap, SysV shm, memfd,
tmpfs files), process count, CPU quota and total CPU time across processes, read back from the kernel.

The fork server creates one directory per executor below its *own* cgroup (so an outer limit, e.g. a
container's, still applies), and below it one cgroup per pool slot. A spare joins its slot's cgroup
before it does anything else; when the execution ends the server reads the kernel's counters (peak
memory, OOM kills, CPU time) from it and resets them for the slot's next spare. Slots are reused,
not created per execution: creating a memory cgroup costs milliseconds and, in v1, leaves a dying
memcg behind for a while.

Both layouts are supported:

- cgroup v1 (this repository's CI machine): separate `memory`, `pids`, `cpu`, `cpuacct` and `freezer`
  hierarchies; peak and failure counters are reset by writing 0.
- cgroup v2 (most current distributions): one unified tree with the memory, pids and cpu controllers
  enabled in the executor's directory; counters that cannot be reset there are read as deltas
  (CPU, OOM kills) or reset by recreating the slot (peak memory).

Without permission (not root, no delegated cgroup) `probe` says why, and the sandbox runs without this
layer (one loud warning; `r1ci sandbox info` shows it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass, field

V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")
V2_CONTROLLERS = ("memory", "pids", "cpu")
_CFS_PERIOD_US = 100_000


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _own_paths() -> dict[str, str]:
    """controller (or "" for the unified tree) -> this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name.removeprefix("name=")] = path
    return paths


def _mounts() -> dict[str, str]:
    """Mount points of cgroup file systems: v1 controller name (or "" for cgroup2) -> mount point."""
    found: dict[str, str] = {}
    for line in _read("/proc/self/mountinfo").splitlines():
        left, _, right = line.partition(" - ")
        fstype, _source, options = [*right.split(), "", "", ""][:3]
        point = left.split()[4]
        if fstype == "cgroup2":
            found.setdefault("", point)
        elif fstype == "cgroup":
            for opt in options.split(","):
                if opt in V1_CONTROLLERS:
                    found.setdefault(opt, point)
    return found


@dataclass
class Usage:
    """What the kernel counted for one execution."""

    cpu_s: float = 0.0
    peak_bytes: int = 0
    oom_kills: int = 0


_Counterparts = tuple[tuple[str, str] | None, tuple[str, str] | None]
"""(controller, file) of one cgroup file in v1 and its v2 counterpart; None where that version has none."""

_COUNTER_FILES: dict[str, _Counterparts] = {
    "peak": (("memory", "memory.max_usage_in_bytes"), ("memory", "memory.peak")),
    "failcnt": (("memory", "memory.failcnt"), None),
    "oom": (("memory", "memory.oom_control"), ("memory", "memory.events")),
    "cpu": (("cpuacct", "cpuacct.usage"), ("cpu", "cpu.stat")),
}
_LIMIT_FILES: dict[str, _Counterparts] = {
    "usage": (("memory", "memory.usage_in_bytes"), ("memory", "memory.current")),
    "memory": (("memory", "memory.limit_in_bytes"), ("memory", "memory.max")),
    "memsw": (("memory", "memory.memsw.limit_in_bytes"), ("memory", "memory.swap.max")),
    "peak": (("memory", "memory.max_usage_in_bytes"), None),
    "pids": (("pids", "pids.max"), ("pids", "pids.max")),
    "quota": (("cpu", "cpu.cfs_quota_us"), ("cpu", "cpu.max")),
    "cpu_reset": (("cpuacct", "cpuacct.usage"), None),
}


@dataclass
class Slot:
    """The cgroup(s) of one pool slot, as the fork server sees them. `dirs`: controller -> directory
    (v2: the one directory under ""). The slot's keeper process lives in it for good (entering a cgroup
    costs the whole machine an RCU grace period in v1: once per slot, not per execution)."""

    version: int
    dirs: dict[str, str]
    cpu_base_ns: int = 0
    oom_base: int = 0
    frozen: bool = False

    def _p(self, ctrl: str, name: str) -> str:
        return os.path.join(self.dirs[ctrl if self.version == 1 else ""], name)

    # ------------------------------------------------------------------------------ server side

    def mark(self) -> None:
        """An execution starts: baselines for the counters the slot's keeper does not reset (v2)."""
        self.cpu_base_ns = 0 if self.version == 1 else self._cpu_ns()
        self.oom_base = self._oom_kills()

    def _cpu_ns(self) -> int:
        try:
            if self.version == 1:
                return int(_read(self._p("cpuacct", "cpuacct.usage")))
            return _keyed_value(_read(self._p("cpu", "cpu.stat")), "usage_usec") * 1000
        except (OSError, ValueError):
            return 0

    def _oom_kills(self) -> int:
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            return _keyed_value(_read(self._p("memory", name)), "oom_kill")
        except (OSError, ValueError):
            return 0

    def cpu_s(self) -> float:
        return max(0, self._cpu_ns() - self.cpu_base_ns) / 1e9

    def usage(self) -> Usage:
        """What the server can read when the keeper could not report (it was killed)."""
        peak_file = "memory.max_usage_in_bytes" if self.version == 1 else "memory.current"
        try:
            peak = int(_read(self._p("memory", peak_file)))
        except (OSError, ValueError):
            peak = 0
        return Usage(cpu_s=self.cpu_s(), peak_bytes=peak, oom_kills=max(0, self._oom_kills() - self.oom_base))

    def procs(self) -> list[int]:
        ctrl = "pids" if self.version == 1 else ""
        try:
            return [int(p) for p in _read(self._p(ctrl, "cgroup.procs")).split()]
        except (OSError, ValueError):
            return []

    def freeze(self, frozen: bool) -> None:
        if self.version == 1:
            _write(self._p("freezer", "freezer.state"), "FROZEN" if frozen else "THAWED")
        else:
            _write(self._p("", "cgroup.freeze"), "1" if frozen else "0")
        self.frozen = frozen

    def kill_all(self) -> None:
        """SIGKILL every process in the slot (frozen ones too)."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                _write(self._p("", "cgroup.kill"), "1")
                return
        for pid in self.procs():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if self.frozen:  # v1: a frozen task only dies once thawed
            with contextlib.suppress(OSError):
                self.freeze(False)

    # ------------------------------------------------------------------------------- child side

    def join_paths(self) -> list[str]:
        """Files the spare writes "0" to in order to move itself into the slot."""
        if self.version == 2:
            return [self._p("", "cgroup.procs")]
        return [os.path.join(d, "cgroup.procs") for d in self.dirs.values()]

    def counter_paths(self) -> dict[str, str]:
        """Files the slot's keeper holds open to reset and read the counters of each execution."""
        return self._version_paths(_COUNTER_FILES)

    def limit_paths(self) -> dict[str, str]:
        """Files the child writes its per-execution limits to (opened before it pivots away from /sys)."""
        return self._version_paths(_LIMIT_FILES)

    def _version_paths(self, table: dict[str, _Counterparts]) -> dict[str, str]:
        files = ((key, pair[self.version - 1]) for key, pair in table.items())
        return {key: self._p(*file) for key, file in files if file is not None}


@dataclass
class CgroupTree:
    """The executor's cgroup directory (one per controller in v1) and its slots."""

    version: int
    roots: dict[str, str]
    slots: dict[int, Slot] = field(default_factory=dict)

    @property
    def dirs(self) -> list[str]:
        return list(self.roots.values())

    def slot(self, index: int) -> Slot:
        """The slot's cgroup, created on first use."""
        slot = self.slots.get(index)
        if slot is None:
            dirs = {ctrl: os.path.join(root, f"slot{index}") for ctrl, root in self.roots.items()}
            for path in dirs.values():
                os.makedirs(path, exist_ok=True)
            slot = self.slots[index] = Slot(self.version, dirs)
            if self.version == 1:  # the snippet's pages are its own: charge them to the slot, not us
                with contextlib.suppress(OSError):
                    _write(os.path.join(dirs["memory"], "memory.move_charge_at_immigrate"), "0")
        return slot

    def remove(self) -> None:
        for slot in self.slots.values():
            with contextlib.suppress(OSError):
                slot.kill_all()
        remove_executor_cgroups(self.dirs)


def probe(tag: str | None = None, weight: int = 1) -> tuple[CgroupTree | None, str]:
    """Create this process's executor cgroup tree -> (tree, "") or (None, why the layer is off).

    `weight` (the executor's worker count) scales the tree's CPU share: a cgroup competes with the
    rest of the machine as one scheduling entity, so at the default share a busy host would give the
    whole pool what one ordinary process gets.
    """
    tag = tag or f"r1ci-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        own, mounts = _own_paths(), _mounts()
    except OSError as exc:
        return None, f"cannot read /proc/self/cgroup: {exc.strerror}"
    try:
        if all(c in mounts for c in V1_CONTROLLERS):
            tree = _create_v1(tag, own, mounts)
            share = ("cpu", "cpu.shares", 1024)
        elif "" in mounts:
            tree = _create_v2(tag, own, mounts[""])
            share = ("", "cpu.weight", 100)
        else:
            tree = None
        if tree is not None:
            ctrl, name, unit = share
            with contextlib.suppress(OSError):
                _write(
                    os.path.join(tree.roots[ctrl], name),
                    str(min(unit * max(1, weight), 10_000 if unit == 100 else 262_144)),
                )
            return tree, ""
    except OSError as exc:
        who = "" if os.geteuid() == 0 else "not root and no delegated cgroup; "
        return None, f"{who}cannot create a cgroup: {exc.strerror or exc} ({exc.filename or ''})"
    missing = [c for c in V1_CONTROLLERS if c not in mounts]
    return None, f"no cgroup2 mount and cgroup v1 controllers missing: {', '.join(missing)}"


def _create_v1(tag: str, own: dict[str, str], mounts: dict[str, str]) -> CgroupTree:
    roots: dict[str, str] = {}
    try:
        for ctrl in V1_CONTROLLERS:
            base = os.path.join(mounts[ctrl], own.get(ctrl, "/").lstrip("/"))
            path = os.path.join(base, tag)
            os.mkdir(path)
            roots[ctrl] = path
        # Hierarchical accounting, so the executor's directory sums up its slots.
        with contextlib.suppress(OSError):
            _write(os.path.join(roots["memory"], "memory.use_hierarchy"), "1")
    except OSError:
        remove_executor_cgroups(list(roots.values()))
        raise
    return CgroupTree(1, roots)


def _create_v2(tag: str, own: dict[str, str], mount: str) -> CgroupTree:
    parent = os.path.join(mount, own.get("", "/").lstrip("/"))
    available = _read(os.path.join(parent, "cgroup.controllers")).split()
    missing = [c for c in V2_CONTROLLERS if c not in available]
    if missing:
        raise OSError(0, f"controllers {missing} are not delegated to {parent}", parent)
    enabled = _read(os.path.join(parent, "cgroup.subtree_control")).split()
    todo = [c for c in V2_CONTROLLERS if c not in enabled]
    if todo:  # fails (EBUSY) when our own cgroup holds processes and is not the root
        _write(os.path.join(parent, "cgroup.subtree_control"), " ".join(f"+{c}" for c in todo))
    path = os.path.join(parent, tag)
    os.mkdir(path)
    try:
        _write(os.path.join(path, "cgroup.subtree_control"), " ".join(f"+{c}" for c in V2_CONTROLLERS))
    except OSError:
        os.rmdir(path)
        raise
    return CgroupTree(2, {"": path})


def remove_executor_cgroups(dirs: list[str]) -> None:
    """rmdir the slots, then the executor's directories (retrying briefly while exiting tasks leave)."""
    for root in dirs:
        if not os.path.isdir(root):
            continue
        for name in os.listdir(root):
            sub = os.path.join(root, name)
            if os.path.isdir(sub):
                _rmdir_retry(sub)
        _rmdir_retry(root)


def _rmdir_retry(path: str, timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)


def _keyed_value(text: str, wanted: str) -> int:
    """The value of `wanted` in a flat-keyed cgroup file ("key value" lines: cpu.stat, memory.events,
    v1 memory.oom_control); 0 when the kernel does not report it."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == wanted:
            return int(value)
    return 0


class Counters:
    """Keeper side: the slot's counters through descriptors opened before the pivot (no /sys after it)."""

    def __init__(self, paths: dict[str, str], version: int) -> None:
        self.version = version
        self.fds: dict[str, int] = {}
        for key, path in paths.items():
            with contextlib.suppress(OSError):
                self.fds[key] = os.open(path, (os.O_RDWR if key != "oom" else os.O_RDONLY) | os.O_CLOEXEC)
        self._cpu_base = 0
        self._oom_base = 0

    def _get(self, key: str) -> str:
        return os.pread(self.fds[key], 4096, 0).decode() if key in self.fds else ""

    def _cpu_ns(self) -> int:
        text = self._get("cpu")
        if not text:
            return 0
        return int(text) if self.version == 1 else _keyed_value(text, "usage_usec") * 1000

    def reset(self) -> None:
        """Before each execution (the slot holds only the keeper now)."""
        for key in ("peak", "failcnt", "cpu") if self.version == 1 else ("peak",):
            if key in self.fds:
                with contextlib.suppress(OSError):
                    os.pwrite(self.fds[key], b"0" if self.version == 1 else b"reset", 0)
        with contextlib.suppress(OSError, ValueError):
            self._cpu_base = 0 if self.version == 1 else self._cpu_ns()
            self._oom_base = _keyed_value(self._get("oom"), "oom_kill")

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        with contextlib.suppress(OSError, ValueError):
            out["cpu_s"] = max(0, self._cpu_ns() - self._cpu_base) / 1e9
        with contextlib.suppress(OSError, ValueError):
            out["peak_bytes"] = int(self._get("peak") or 0)
        with contextlib.suppress(OSError, ValueError):
            out["oom_kills"] = max(0, _keyed_value(self._get("oom"), "oom_kill") - self._oom_base)
        return out


def write_limits(fds: dict[str, int], *, memory_bytes: int, pids: int, cpus: float, version: int) -> int:
    """Child side, as root, through descriptors opened before the pivot: -> the memory limit set.

    The memory limit is what the warm child already holds plus `memory_bytes`: the same meaning as the
    address-space limit, but counting resident pages of every process, shared memory and tmpfs files.
    """
    usage = 0
    if "usage" in fds:
        with contextlib.suppress(OSError, ValueError):
            usage = int(os.pread(fds["usage"], 64, 0))
    limit = usage + memory_bytes

    def put(key: str, value: str) -> bool:
        if key not in fds:
            return False
        try:
            os.pwrite(fds[key], value.encode(), 0)
            return True
        except OSError:
            return False

    if version == 1:
        # memsw >= memory must hold at every step: raise memsw first, lower memory first.
        if not put("memory", str(limit)):
            put("memsw", str(limit))
            put("memory", str(limit))
        put("memsw", str(limit))
        put("peak", "0")
        put("cpu_reset", "0")
        put("quota", str(max(1000, int(cpus * _CFS_PERIOD_US))))
    else:
        put("memory", str(limit))
        put("memsw", "0")
        put("quota", f"{max(1000, int(cpus * _CFS_PERIOD_US))} {_CFS_PERIOD_US}")
    put("pids", str(pids))
    return limit
