"""The fork server: one long-lived, pre-warmed interpreter that forks one child per execution.

Started by `LocalExecutor` as `python -I -c ...` with a clean environment. It imports the heavy
modules once (numpy, sympy, ...), runs a short warm-up so their lazy imports and caches are paid
for, freezes the GC (children then do not dirty the parent's pages by scanning them), sets up the
kernel layers (`isolation.setup_server`) and serves the executor over a SOCK_SEQPACKET socket. It is
single-threaded on purpose: fork() from a threaded process is unsafe.

Children are forked ahead of need. Each "spare" (a supervisor and the runner it forked, see
`child`) sets itself up (cgroup, namespaces, minimal root, tmpfs workdir) and waits on its own socket, which the server hands to the executor; the executor sends the request straight
to the spare and tells the server which spare it used ("assigned"). A request therefore costs one
hop to an already-forked child, and fork/mount costs stay off its latency.

The server owns every child: it forks them, kills them at their wall-clock deadline or when the
cgroup says the execution used up its CPU time (safe from pid reuse because only the parent reaps),
reaps them and reports each exit from what the kernel says (wait status, cgroup counters) and what
the supervisor wrote to a pipe the snippet never holds. Output never passes through
it: the executor's pipes go straight to the child.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import importlib
import itertools
import json
import os
import selectors
import signal
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import Any

from r1ci.sandbox import child, isolation, linux, wire

DEFAULT_PRELOAD: tuple[str, ...] = (
    "math",
    "cmath",
    "itertools",
    "collections",
    "functools",
    "operator",
    "re",
    "string",
    "fractions",
    "decimal",
    "heapq",
    "bisect",
    "random",
    "statistics",
    "json",
    "datetime",
    "copy",
    "typing",
    "dataclasses",
    "numpy",
    "sympy",
)

# Run once in the server: first calls into sympy/numpy trigger lazy imports and fill caches, which
# every child then inherits for free.
WARMUP = """
import sympy, numpy
x, y = sympy.symbols("x y")
sympy.solve([x + y - 3, x - y - 1], [x, y]); sympy.factor(x**4 - 1); sympy.expand((x + 1)**5)
sympy.simplify(sympy.sin(x)**2 + sympy.cos(x)**2); sympy.integrate(x**2, x); sympy.diff(sympy.exp(x), x)
sympy.isprime(97); sympy.factorint(360); sympy.nsimplify(0.5); sympy.Rational(1, 3) + 1; str(sympy.sqrt(8))
a = numpy.arange(12.0).reshape(3, 4); numpy.linalg.solve(numpy.eye(3), numpy.ones(3)); a.sum(); a.mean(axis=0)
numpy.random.default_rng(0).normal(size=8).std(); numpy.linalg.det(numpy.eye(2))
"""
_SPARE_RETRY_S = 0.1
MAX_TIMEOUT_S = 7 * 24 * 3600.0  # any deadline further out is clamped (select() overflows near 24.8 days)
_MAX_WAIT_S = 60.0
_CPU_CHECK_MIN_S = 0.02


def clamp_seconds(value: Any, default: float, maximum: float = MAX_TIMEOUT_S) -> float:
    """A finite, non-negative number of seconds no larger than `maximum` from whatever was sent."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    if seconds != seconds:  # NaN
        return default
    return min(max(seconds, 0.0), maximum)


@dataclass
class _Proc:
    """A forked child: a spare until the executor assigns it, then a running execution or session."""

    pid: int
    slot: int
    uid: int | None
    workdir: str | None
    serial: int
    status_fd: int
    cgroup: Any = None  # cgroups.Slot
    assigned: bool = False
    killed_for: str | None = None
    reported: bool = False
    cpu_budget_s: float | None = None
    cpus: float = 1.0
    cpu_check_at: float = 0.0


class ForkServer:
    def __init__(self, sock: socket.socket, config: dict[str, Any]) -> None:
        self.sock = sock
        self.config = config
        self.procs: dict[int, _Proc] = {}  # every unreaped child we forked, by pid
        self.deadlines: list[tuple[float, int, int]] = []  # (monotonic deadline, serial, pid)
        self.free_slots = list(range(int(config["slots"])))[::-1]
        self.uid_base = int(config["uid_base"])
        self.prefork = max(1, int(config.get("prefork", 2)))
        self.disk_mb = int(config.get("disk_mb", 64))
        self.workroot: str | None = None
        self.setup = isolation.ServerSetup(isolation.Layers())
        self._serials = itertools.count()
        self._last_orphan_scan = 0.0
        self._retry_spare_at = 0.0
        self._release: Any = None
        self._sel: selectors.BaseSelector | None = None

    @property
    def layers(self) -> isolation.Layers:
        return self.setup.layers

    # ---------------------------------------------------------------------------------------- startup

    def start(self) -> None:
        warnings: list[str] = []
        preloaded = []
        for name in self.config["preload"]:
            try:
                importlib.import_module(name)
                preloaded.append(name)
            except Exception as exc:
                warnings.append(f"could not preload {name!r}: {type(exc).__name__}: {exc}")
        if self.config.get("warmup", True):
            try:
                exec(compile(WARMUP, "<warmup>", "exec"), {})
            except Exception as exc:
                warnings.append(f"warm-up failed (harmless, children just start colder): {exc}")
        # Imported now: children never import anything of ours after the pivot into the minimal root.
        from r1ci.sandbox import cgroups, seccomp  # noqa: F401

        self.setup = isolation.setup_server(
            set(self.config["disabled_layers"]), self.uid_base, hide=tuple(self.config.get("hide", ()))
        )
        if not self.layers.mount_namespace:
            self.workroot = tempfile.mkdtemp(prefix=f"r1ci-sandbox-{os.getpid()}-")
            os.chmod(self.workroot, 0o711)
        gc.collect()
        gc.freeze()
        wire.send(
            self.sock,
            {
                "op": "ready",
                "pid": os.getpid(),
                "layers": self.layers.to_dict(),
                "warnings": warnings,
                "preloaded": preloaded,
                "python": sys.version.split()[0],
                "euid": os.geteuid(),
                "workroot": self.workroot,
                "cgroup_version": self.setup.cgroups.version if self.setup.cgroups else None,
                "cgroup_dirs": self.setup.cgroups.dirs if self.setup.cgroups else [],
            },
        )

    # ------------------------------------------------------------------------------------------- loop

    def serve(self) -> None:
        sel = self._sel = selectors.DefaultSelector()
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: None)  # shut down through the socket, in order
        sel.register(self.sock, selectors.EVENT_READ, "ctl")
        sel.register(wake_r, selectors.EVENT_READ, "sig")

        def release_in_child() -> None:
            self.sock.detach()  # the child must never close or use the server's socket
            sel.close()

        self._release = release_in_child
        try:
            while True:
                for key, _ in sel.select(self._next_timeout()):
                    if key.data == "sig":
                        with contextlib.suppress(BlockingIOError):
                            os.read(wake_r, 4096)
                    elif key.data == "ctl":
                        if not self._handle_requests():
                            return
                    else:
                        proc = self.procs.get(key.data)
                        if proc is not None:
                            self._on_status(proc)
                self._reap()
                self._expire()
                self._check_cpu()
                self._scan_orphans()
                self._replenish()
        except (BrokenPipeError, ConnectionResetError):
            return  # the executor went away mid-message: shut down quietly
        finally:
            self._shutdown()

    def _spares(self) -> int:
        return sum(1 for p in self.procs.values() if not p.assigned)

    def _next_timeout(self) -> float:
        now = time.monotonic()
        waits = [_MAX_WAIT_S]
        if self._spares() < self.prefork and self.free_slots:
            waits.append(self._retry_spare_at - now)
        if self.deadlines:
            waits.append(self.deadlines[0][0] - now)
        waits += [p.cpu_check_at - now for p in self.procs.values() if p.cpu_budget_s is not None]
        if not self.layers.pid_namespace:
            waits.append(1.0)  # periodic orphan scan
        return max(0.0, min(waits))

    def _handle_requests(self) -> bool:
        """Drain queued requests; False when the executor has gone away. A malformed one is dropped."""
        while True:
            try:
                got = wire.recv(self.sock, wait=False)
            except BlockingIOError:
                return True
            except ConnectionError:
                return False
            except ValueError:
                continue
            if got is None:
                return False
            msg, fds = got
            for fd in fds:
                os.close(fd)
            try:
                if not self._request(msg):
                    return False
            except (KeyError, TypeError, ValueError, OSError) as exc:
                print(f"r1ci sandbox: fork server ignored a bad request {msg!r}: {exc}", file=sys.stderr)

    def _request(self, msg: dict[str, Any]) -> bool:
        op = msg.get("op")
        if op == "assigned":
            self._assigned(int(msg["pid"]), msg)
        elif op == "kill":
            proc = self.procs.get(int(msg["pid"]))
            if proc is not None:
                self._kill(proc, str(msg.get("reason", "killed")))
        elif op == "freeze":
            proc = self.procs.get(int(msg["pid"]))
            if proc is not None and proc.cgroup is not None and proc.killed_for is None:
                proc.cgroup.freeze(bool(msg.get("frozen", True)))
        elif op == "shutdown":
            return False
        return True

    # ----------------------------------------------------------------------------------------- spares

    def _replenish(self) -> None:
        # One per loop turn, so requests and reaping are never stuck behind a row of forks.
        if self._spares() >= self.prefork or not self.free_slots or time.monotonic() < self._retry_spare_at:
            return
        try:
            self._make_spare()
        except (BrokenPipeError, ConnectionResetError):
            raise
        except OSError as exc:  # e.g. EAGAIN: tell the executor, retry shortly
            self._retry_spare_at = time.monotonic() + _SPARE_RETRY_S
            wire.send(self.sock, {"op": "spare_failed", "error": f"could not fork a sandbox child: {exc}"})

    def _plan(self, slot: int) -> tuple[child.ChildPlan, Any]:
        uid = self.uid_base + slot if self.layers.unprivileged_uid else None
        workdir = None
        if self.workroot is not None:
            workdir = isolation.make_workdir(self.workroot, f"slot{slot}-{time.monotonic_ns()}", uid)
        plan = child.ChildPlan(self.layers, uid, workdir, self.disk_mb, root=self.setup.root)
        cgroup = None
        if self.setup.cgroups is not None:
            cgroup = self.setup.cgroups.slot(slot)
            plan.cgroup_version = cgroup.version
            plan.cgroup_join = cgroup.join_paths()
            plan.cgroup_limits = cgroup.limit_paths()
        return plan, cgroup

    def _make_spare(self) -> None:
        """Fork a child that sets itself up, and offer its request socket to the executor."""
        slot = self.free_slots.pop()
        ours, theirs = wire.socketpair()
        status_r, status_w = os.pipe2(os.O_CLOEXEC)
        plan = None
        try:
            plan, cgroup = self._plan(slot)
            if self.setup.pidns_fd is not None:
                isolation.prepare_pid_namespace(self.setup.pidns_fd)
            pid = os.fork()
        except OSError:
            for end in (ours, theirs):
                end.close()
            os.close(status_r)
            os.close(status_w)
            self.free_slots.append(slot)
            if plan is not None and plan.workdir:
                isolation.remove_tree(plan.workdir)
            raise
        if pid == 0:
            ours.detach()
            child.spare_main(theirs.fileno(), status_w, plan, release_server=self._release)
        if self.setup.pidns_fd is not None:
            isolation.restore_pid_namespace(self.setup.pidns_fd)
        theirs.close()
        os.close(status_w)
        os.set_blocking(status_r, False)
        self.procs[pid] = _Proc(pid, slot, plan.uid, plan.workdir, next(self._serials), status_r, cgroup)
        assert self._sel is not None
        self._sel.register(status_r, selectors.EVENT_READ, pid)
        try:
            wire.send(self.sock, {"op": "spare", "pid": pid, "workdir": plan.workdir}, [ours.fileno()])
        finally:
            ours.close()

    def _assigned(self, pid: int, msg: dict[str, Any]) -> None:
        proc = self.procs.get(pid)
        if proc is None or proc.assigned:
            return  # it died already; its exit report is on its way
        proc.assigned = True
        now = time.monotonic()
        if msg.get("timeout_s") is not None:
            timeout = clamp_seconds(msg["timeout_s"], MAX_TIMEOUT_S)
            heapq.heappush(self.deadlines, (now + timeout, proc.serial, pid))
        if msg.get("cpu_s") is not None and proc.cgroup is not None:
            proc.cpu_budget_s = clamp_seconds(msg["cpu_s"], MAX_TIMEOUT_S)
            proc.cpus = max(0.01, clamp_seconds(msg.get("cpus", 1.0), 1.0, maximum=1024))
            proc.cpu_check_at = now + proc.cpu_budget_s / proc.cpus

    # ------------------------------------------------------------------------------------ kill / reap

    def _kill(self, proc: _Proc, reason: str) -> None:
        if proc.killed_for is None:
            proc.killed_for = reason
        # pid 1 of a pid namespace: killing it makes the kernel kill the whole namespace.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, signal.SIGKILL)
        if not self.layers.pid_namespace:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if proc.cgroup is not None:
            proc.cgroup.kill_all()  # also thaws a frozen session, which a v1 SIGKILL alone would not end

    def _expire(self) -> None:
        now = time.monotonic()
        while self.deadlines and self.deadlines[0][0] <= now:
            _, serial, pid = heapq.heappop(self.deadlines)
            proc = self.procs.get(pid)
            if proc is not None and proc.serial == serial:
                self._kill(proc, "timeout")

    def _check_cpu(self) -> None:
        """CPU time of the whole execution (every process it forked), from its cgroup."""
        now = time.monotonic()
        for proc in list(self.procs.values()):
            if proc.cpu_budget_s is None or now < proc.cpu_check_at or proc.killed_for is not None:
                continue
            left = proc.cpu_budget_s - proc.cgroup.cpu_s()
            if left <= 0:
                self._kill(proc, "cpu")
                proc.cpu_budget_s = None
            else:  # it cannot burn more than `cpus` CPU-seconds per second: look again when it could be done
                proc.cpu_check_at = now + max(_CPU_CHECK_MIN_S, left / proc.cpus)

    def _read_status(self, proc: _Proc) -> bytes:
        if proc.status_fd < 0:
            return b""
        try:
            return os.read(proc.status_fd, 4096)
        except OSError:
            return b""

    def _on_status(self, proc: _Proc) -> None:
        """The supervisor reported (or its pipe hit EOF): answer now, before its namespace is torn down.
        Without a mount namespace the slot's working directory must be gone first: wait for the reap."""
        if proc.reported or self.workroot is not None:
            if self.workroot is not None and proc.status_fd >= 0:
                assert self._sel is not None
                with contextlib.suppress(KeyError, ValueError):
                    self._sel.unregister(proc.status_fd)
            return
        data = self._read_status(proc)
        if data:
            self._report(proc, None, data=data)
        else:
            self._close_status(proc)  # EOF without a report: the reap tells the rest

    def _report(self, proc: _Proc, wait_status: int | None, usage: Any = None, data: bytes = b"") -> None:
        """Tell the executor how the execution ended: the supervisor's report if it wrote one (read from
        the pipe only it holds), else the wait status of the supervisor itself (killed, crashed)."""
        if proc.reported:
            return
        proc.reported = True
        report = _parse_status(data)
        if report is not None:
            status = report["wait_status"]
            exit_code = os.waitstatus_to_exitcode(status) if status is not None else None
        else:
            exit_code = os.waitstatus_to_exitcode(wait_status) if wait_status is not None else None
            if proc.assigned and exit_code == 0 and proc.killed_for is None:
                exit_code = None  # the supervisor exited without a report: never call that a success
        msg: dict[str, Any] = {
            "op": "exit",
            "pid": proc.pid,
            "exit_code": exit_code,
            "killed_for": proc.killed_for,
            "hint": (report or {}).get("hint", ""),
            "cpu_s": (report or {}).get("cpu_s", 0.0),
            "max_rss_kb": (report or {}).get("max_rss_kb", 0),
        }
        if usage is not None and report is None:
            msg["cpu_s"], msg["max_rss_kb"] = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
        if proc.cgroup is not None:
            counted = proc.cgroup.usage()
            msg.update(cpu_s=counted.cpu_s, peak_bytes=counted.peak_bytes, oom_kills=counted.oom_kills)
        wire.send(self.sock, msg)

    def _close_status(self, proc: _Proc) -> None:
        if proc.status_fd < 0:
            return
        assert self._sel is not None
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(proc.status_fd)
        os.close(proc.status_fd)
        proc.status_fd = -1

    def _reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            proc = self.procs.get(pid)
            if proc is None:
                continue  # an orphan adopted by this subreaper, or a sweep helper
            if not proc.assigned:  # a spare died during set-up: do not respawn it in a tight loop
                self._retry_spare_at = time.monotonic() + _SPARE_RETRY_S
            data = b"" if proc.reported else self._read_status(proc)
            del self.procs[pid]
            self._cleanup(proc)
            self._report(proc, status, usage, data)

    def _cleanup(self, proc: _Proc) -> None:
        """After a child is gone: make sure nothing it started survives, then free its slot."""
        self._close_status(proc)
        if not self.layers.pid_namespace:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            if proc.uid is not None:
                isolation.sweep_uid(proc.uid)
            self._scan_orphans(force=True)
        if proc.cgroup is not None and proc.cgroup.procs():
            proc.cgroup.kill_all()
        if proc.workdir is not None:
            isolation.remove_tree(proc.workdir)
        self.free_slots.append(proc.slot)

    def _scan_orphans(self, force: bool = False) -> None:
        """Without pid namespaces, escaped grandchildren get re-parented to us (subreaper): kill them."""
        if self.layers.pid_namespace:
            return
        now = time.monotonic()
        if not force and now - self._last_orphan_scan < 1.0:
            return
        self._last_orphan_scan = now
        for pid in isolation.children_of(os.getpid()):
            if pid not in self.procs:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def _shutdown(self) -> None:
        for proc in list(self.procs.values()):
            self._kill(proc, "server shutdown")
        deadline = time.monotonic() + 5
        while self.procs and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            proc = self.procs.pop(pid, None)
            if proc is not None:
                self._cleanup(proc)
        if self.workroot is not None:
            isolation.remove_tree(self.workroot)
        if self.setup.cgroups is not None:
            self.setup.cgroups.remove()


def _parse_status(data: bytes) -> dict[str, Any] | None:
    """The supervisor's report, checked field by field (None if absent or not what it writes)."""
    try:
        report = json.loads(data)
        status = report["wait_status"]
        if status is not None and not (isinstance(status, int) and 0 <= status < 1 << 16):
            return None
        return {
            "wait_status": status,
            "hint": str(report.get("hint", ""))[:1],
            "cpu_s": float(report.get("cpu_s", 0.0)),
            "max_rss_kb": int(report.get("max_rss_kb", 0)),
        }
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def main(sock_fd: int, config_json: str) -> None:
    config = json.loads(config_json)
    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(config["parent_pid"]):
        sys.exit("r1ci sandbox: the executor exited before the fork server started")
    sock = socket.socket(fileno=sock_fd)
    server = ForkServer(sock, config)
    try:
        server.start()
    except Exception:
        traceback.print_exc()
        wire.send(sock, {"op": "failed", "error": traceback.format_exc(limit=3)})
        raise
    server.serve()
