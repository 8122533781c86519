"""Benchmark: the fork-server pool vs a fresh `python -c` subprocess per snippet, on the same mix.

Both backends run the same snippets with the same concurrency (`workers`), in one process, one after
the other, so machine noise hits both alike. Reported per backend: executions per second over the
whole batch, p50/p99 latency of one execution (from the moment a worker starts it, queueing
excluded), and per-snippet p50. A separate sequential run of a trivial print gives the per-call
overhead. `leak_check` runs many executions and then looks for zombies, orphans and temp files.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from r1ci.sandbox.isolation import proc_stats
from r1ci.sandbox.local import LocalExecutor, default_workers

SNIPPETS: dict[str, str] = {
    "print": "print(sum(i * i for i in range(1000)))",
    "numpy": (
        "import numpy as np\n"
        "a = np.random.default_rng(0).normal(size=(100, 100))\n"
        "print(round(float(np.linalg.norm(a @ a.T)), 2))"
    ),
    "sympy": (
        "import sympy as sp\n"
        "x = sp.symbols('x')\n"
        "print(sp.solve(x**2 - 5*x + 6, x), sp.factor(x**4 - 1), sp.integrate(sp.sin(x)**2, x))"
    ),
    "loop_0.1s": (
        "import time\nend = time.perf_counter() + 0.1\nn = 0\nwhile time.perf_counter() < end:\n    n += 1\nprint(n > 0)"
    ),
}
TRIVIAL = "print(1)"


@dataclass
class BackendStats:
    name: str
    executions: int
    wall_s: float
    per_s: float
    p50_ms: float
    p99_ms: float
    failures: int
    per_kind_p50_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class BenchReport:
    workers: int
    n: int
    fork: BackendStats
    subprocess: BackendStats | None
    trivial_p50_ms: float
    trivial_p99_ms: float
    subprocess_trivial_p50_ms: float | None

    @property
    def ratio(self) -> float | None:
        return self.fork.per_s / self.subprocess.per_s if self.subprocess else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"throughput_ratio": self.ratio}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000 if ordered else 0.0


def _stats(name: str, kinds: list[str], latencies: list[float], oks: list[bool], wall: float) -> BackendStats:
    per_kind = {
        k: statistics.median([lat for kk, lat in zip(kinds, latencies, strict=True) if kk == k]) * 1000
        for k in dict.fromkeys(kinds)
    }
    return BackendStats(
        name=name,
        executions=len(latencies),
        wall_s=wall,
        per_s=len(latencies) / wall,
        p50_ms=_pct(latencies, 0.5),
        p99_ms=_pct(latencies, 0.99),
        failures=sum(not ok for ok in oks),
        per_kind_p50_ms=per_kind,
    )


def mix(n: int) -> tuple[list[str], list[str]]:
    """n snippets cycling through SNIPPETS -> (kinds, codes)."""
    kinds = [list(SNIPPETS)[i % len(SNIPPETS)] for i in range(n)]
    return kinds, [SNIPPETS[k] for k in kinds]


def run_fork_server(ex: LocalExecutor, codes: list[str], kinds: list[str]) -> BackendStats:
    start = time.perf_counter()
    results = ex.run_many(codes, timeout_s=30)
    wall = time.perf_counter() - start
    return _stats("fork server", kinds, [r.duration_s for r in results], [r.ok for r in results], wall)


def _fresh(code: str) -> tuple[float, bool]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, cwd=tempfile.gettempdir()
    )
    return time.perf_counter() - start, proc.returncode == 0


def run_subprocesses(codes: list[str], kinds: list[str], workers: int) -> BackendStats:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        out = list(pool.map(_fresh, codes))
    wall = time.perf_counter() - start
    return _stats("fresh subprocess", kinds, [lat for lat, _ in out], [ok for _, ok in out], wall)


def trivial_latency(ex: LocalExecutor, n: int) -> list[float]:
    """Wall time of `run(print(1))` called back to back: the sandbox's per-call overhead."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        ex.run(TRIVIAL)
        times.append(time.perf_counter() - start)
    return times


def run_benchmark(n: int = 200, workers: int | None = None, subprocess_baseline: bool = True) -> BenchReport:
    workers = workers or default_workers()
    kinds, codes = mix(n)
    with LocalExecutor(workers=workers) as ex:
        ex.wait_ready()
        ex.run_many(codes[: 2 * workers])  # warm the pipes and spares, not the measurement
        fork = run_fork_server(ex, codes, kinds)
        trivial = trivial_latency(ex, 100)
    sub = run_subprocesses(codes, kinds, workers) if subprocess_baseline else None
    sub_trivial = [_fresh(TRIVIAL)[0] for _ in range(20)] if subprocess_baseline else None
    return BenchReport(
        workers=workers,
        n=n,
        fork=fork,
        subprocess=sub,
        trivial_p50_ms=_pct(trivial, 0.5),
        trivial_p99_ms=_pct(trivial, 0.99),
        subprocess_trivial_p50_ms=_pct(sub_trivial, 0.5) if sub_trivial else None,
    )


# ------------------------------------------------------------------------------------------ leaks


def _proc_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (ppid, state, uid) for every process."""
    table = {}
    for pid, rest in proc_stats():
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        table[pid] = (int(rest[1]), rest[0].decode(), uid)
    return table


def sandbox_processes(ex: LocalExecutor) -> dict[str, list[int]]:
    """Processes of executions that should be over, and zombies, below the fork server.

    Expected there: one keeper per used slot (the server's children), and below a keeper that holds a
    spare, its one idle runner. Anything else below the server is left over from an execution.
    """
    server = ex.server_pid()
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    spare_keepers = set(ex.spare_pids())
    keepers = set(children.get(server, []))
    below: list[int] = []
    expected = set(keepers)
    for keeper in keepers:
        kids = children.get(keeper, [])
        if keeper in spare_keepers and len(kids) == 1:
            expected.add(kids[0])
        stack = list(kids)
        while stack:
            pid = stack.pop()
            below.append(pid)
            stack.extend(children.get(pid, []))
    own = ex.uid_range
    sandbox_uid = [pid for pid, (_, _, uid) in table.items() if uid in own and pid not in expected]
    return {
        "busy": sorted(p for p in below if p not in expected and table[p][1] != "Z"),
        "zombies": sorted(p for p in [*below, *keepers] if table[p][1] == "Z"),
        "sandbox_uid": sorted(p for p in sandbox_uid if p not in below),
    }


WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")


def temp_leftovers(ex: LocalExecutor) -> list[str]:
    """Files a sandbox left on the host: working directories of finished executions (they only exist
    without a mount namespace) and anything owned by a sandbox uid in the world-writable directories."""
    found = []
    root = ex.workroot()
    if root is not None:
        spare_dirs = set(ex.spare_workdirs())
        found += [p for p in (os.path.join(root, d) for d in os.listdir(root)) if p not in spare_dirs]
    for directory in WORLD_WRITABLE:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid in ex.uid_range:
                    found.append(entry.path)
            except OSError:
                continue
    return sorted(found)


def wait_quiet(ex: LocalExecutor, timeout_s: float = 10.0) -> dict[str, list[int]]:
    """Poll until nothing but idle spares remains under the server (or the timeout passes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        procs = sandbox_processes(ex)
        if not any(procs.values()) or time.monotonic() > deadline:
            return procs
        time.sleep(0.05)


def _own_fds(ex: LocalExecutor) -> int:
    """Descriptors this process holds, not counting one socket per idle spare (their number varies)."""
    return len(os.listdir("/proc/self/fd")) - len(ex.spare_pids())


def _mount_count() -> int:
    with open("/proc/self/mountinfo") as f:
        return sum(1 for _ in f)


def _settled(check: Callable[[], list[str]], timeout_s: float) -> list[str]:
    """Poll a leftover check until it finds nothing or the timeout passes. The server refills its spares
    on its own schedule, so a spare forked (or its workdir made) just before the server announces it
    would otherwise count as a leftover; a real one stays and is reported."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def cgroup_leftovers(ex: LocalExecutor, timeout_s: float = 10.0) -> list[str]:
    """Processes in this executor's cgroups other than slot keepers and idle spare runners (settled)."""
    return _settled(lambda: _cgroup_strays(ex), timeout_s)


def _cgroup_strays(ex: LocalExecutor) -> list[str]:
    dirs = ex.cgroup_dirs()
    if not dirs:
        return []
    server = ex.server_pid()
    table = _proc_table()
    keepers = {pid for pid, (ppid, _, _) in table.items() if ppid == server}
    spare_keepers = set(ex.spare_pids())
    idle_runners = {pid for pid, (ppid, _, _) in table.items() if ppid in spare_keepers}
    found = []
    for root in dirs:
        for name in sorted(os.listdir(root)):
            procs_file = os.path.join(root, name, "cgroup.procs")
            try:
                with open(procs_file) as f:
                    pids = [int(p) for p in f.read().split()]
            except OSError:
                continue
            found += [f"{procs_file}: {pid}" for pid in pids if pid not in keepers | idle_runners]
    return found


@dataclass
class LeakReport:
    executions: int
    failures: int
    busy_processes: list[int]
    zombies: list[int]
    sandbox_uid_processes: list[int]
    leftover_dirs: list[str]
    fd_growth: int  # file descriptors this process holds now minus before
    cgroup_processes: list[str] = field(default_factory=list)  # strays in this executor's cgroups
    mount_growth: int = 0  # mounts in this process's namespace now minus before
    after_close: list[str] = field(default_factory=list)  # cgroups, files, processes left once closed

    @property
    def clean(self) -> bool:
        leftovers = (
            self.busy_processes
            or self.zombies
            or self.sandbox_uid_processes
            or self.leftover_dirs
            or self.cgroup_processes
            or self.after_close
        )
        return not leftovers and self.fd_growth <= 0 and self.mount_growth <= 0


def _after_close(cgroup_dirs: list[str], uid_range: range, lock_file: str | None, server: int) -> list[str]:
    """What an executor left once closed: its cgroups, its uid lock, any process of its uids or server."""
    deadline = time.monotonic() + 10
    while True:
        left = [d for d in cgroup_dirs if os.path.exists(d)]
        if lock_file and os.path.exists(lock_file):
            left.append(lock_file)
        table = _proc_table()
        left += [f"pid {pid} (uid {uid})" for pid, (_, _, uid) in table.items() if uid in uid_range]
        if server in table:
            left.append(f"fork server {server}")
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def leak_check(n: int, workers: int | None = None, ex: LocalExecutor | None = None) -> LeakReport:
    """Run n executions (a third of them fork and daemonise) and report anything they left behind:
    processes, zombies, working directories, files of sandbox uids, descriptors of this process, mounts,
    stray processes in this executor's cgroups, and (for an executor it made itself, closed at the end)
    its cgroups and uid lock. Only this executor's own uids and cgroups count: a second r1ci on the
    machine does not fail it."""
    codes = []
    for i in range(n):
        if i % 3 == 1:
            codes.append(
                f"import os\nif os.fork() == 0:\n    os.setsid()\n    import time; time.sleep(60)\nprint({i})"
            )
        else:
            codes.append(f"print({i})")
    own = ex is None
    ex = ex or LocalExecutor(workers=workers)
    after: list[str] = []
    try:
        ex.run_many(codes[:10], timeout_s=10)  # reach steady state (spares, pipes) before counting fds
        wait_quiet(ex)
        fds_before, mounts_before = _own_fds(ex), _mount_count()
        results = ex.run_many(codes, timeout_s=10, progress=n >= 1000)
        procs = wait_quiet(ex)
        leftovers = _settled(lambda: temp_leftovers(ex), 10.0)
        fd_growth = _own_fds(ex) - fds_before
        mount_growth = _mount_count() - mounts_before
        strays = cgroup_leftovers(ex)
    finally:
        if own:
            cgroups, uids, lock, server = ex.cgroup_dirs(), ex.uid_range, ex.uid_lock_file, ex.server_pid()
            ex.close()
            after = _after_close(cgroups, uids, lock, server)
    return LeakReport(
        executions=n,
        failures=sum(not r.ok for r in results),
        busy_processes=procs["busy"],
        zombies=procs["zombies"],
        sandbox_uid_processes=procs["sandbox_uid"],
        leftover_dirs=leftovers,
        fd_growth=fd_growth,
        cgroup_processes=strays,
        mount_growth=mount_growth,
        after_close=after,
    )


def print_report(report: BenchReport) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"r1ci sandbox benchmark: {report.n} mixed snippets, {report.workers} workers")
    table.add_column("backend")
    for col in ("exec/s", "p50 ms", "p99 ms", "failures", *(f"{k} p50 ms" for k in SNIPPETS)):
        table.add_column(col, justify="right")
    rows = [report.fork] + ([report.subprocess] if report.subprocess else [])
    for s in rows:
        table.add_row(
            s.name,
            f"{s.per_s:.1f}",
            f"{s.p50_ms:.1f}",
            f"{s.p99_ms:.1f}",
            str(s.failures),
            *(f"{s.per_kind_p50_ms[k]:.1f}" if k in s.per_kind_p50_ms else "-" for k in SNIPPETS),
        )
    if report.subprocess is not None:
        sub, fork = report.subprocess, report.fork
        table.add_row(
            "[bold]speed-up[/]",
            f"[bold]{report.ratio:.1f}x[/]",
            f"{sub.p50_ms / max(fork.p50_ms, 1e-9):.1f}x",
            "",
            "",
            *(
                f"{sub.per_kind_p50_ms[k] / max(fork.per_kind_p50_ms[k], 1e-9):.1f}x"
                if k in sub.per_kind_p50_ms and k in fork.per_kind_p50_ms
                else ""
                for k in SNIPPETS
            ),
        )
    console = Console(width=max(120, Console().width))
    console.print(table)
    line = (
        f"trivial print, back to back: p50 {report.trivial_p50_ms:.2f} ms, p99 {report.trivial_p99_ms:.2f} ms"
    )
    if report.subprocess_trivial_p50_ms is not None:
        line += f" (fresh subprocess p50 {report.subprocess_trivial_p50_ms:.1f} ms)"
    console.print(line)
    if report.ratio is not None:
        console.print(f"[bold]throughput ratio: fork server / fresh subprocess = {report.ratio:.1f}x[/bold]")
