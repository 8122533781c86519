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
class _Exec:
    """One execution (or session): a spare until the executor assigns it. `eid` is its id on the wire."""

    eid: int
    slot: int
    workdir: str | None
    assigned: bool = False
    killed_for: str | None = None
    cpu_budget_s: float | None = None
    cpus: float = 1.0
    cpu_check_at: float = 0.0


@dataclass
class _Keeper:
    """The long-lived process of one slot (see `child`); it runs one execution at a time."""

    pid: int
    slot: int
    sock: socket.socket
    plan: child.ChildPlan
    cgroup: Any = None  # cgroups.Slot
    eid: int | None = None  # the execution it serves now


class ForkServer:
    def __init__(self, sock: socket.socket, config: dict[str, Any]) -> None:
        self.sock = sock
        self.config = config
        self.keepers: dict[int, _Keeper] = {}  # by pid: every unreaped keeper we forked
        self.by_slot: dict[int, _Keeper] = {}
        self.execs: dict[int, _Exec] = {}  # by eid: spares, running executions and sessions
        self.deadlines: list[tuple[float, int]] = []  # (monotonic deadline, eid)
        self.free_slots = list(range(int(config["slots"])))[::-1]
        self.uid_base = int(config["uid_base"])
        self.prefork = max(1, int(config.get("prefork", 2)))
        self.disk_mb = int(config.get("disk_mb", 64))
        self.workroot: str | None = None
        self.setup = isolation.ServerSetup(isolation.Layers())
        self._eids = itertools.count(1)
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

        seccomp.prepare()

        self.setup = isolation.setup_server(
            set(self.config["disabled_layers"]),
            self.uid_base,
            hide=tuple(self.config.get("hide", ())),
            workers=int(self.config.get("workers", 1)),
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
            for keeper in self.keepers.values():
                keeper.sock.detach()  # nor another slot's keeper socket
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
                        keeper = self.keepers.get(key.data)
                        if keeper is not None:
                            self._on_keeper(keeper)
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
        return sum(1 for e in self.execs.values() if not e.assigned)

    def _next_timeout(self) -> float:
        now = time.monotonic()
        waits = [_MAX_WAIT_S]
        if self._spares() < self.prefork and self.free_slots:
            waits.append(self._retry_spare_at - now)
        if self.deadlines:
            waits.append(self.deadlines[0][0] - now)
        waits += [e.cpu_check_at - now for e in self.execs.values() if e.cpu_budget_s is not None]
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
        execution = self.execs.get(int(msg.get("pid", -1)))
        if op == "assigned":
            if execution is not None:
                self._assigned(execution, msg)
        elif op == "kill":
            if execution is not None:
                self._kill(execution, str(msg.get("reason", "killed")))
        elif op == "freeze":
            keeper = self._keeper_of(execution)
            if keeper is not None and keeper.cgroup is not None and execution and not execution.killed_for:
                keeper.cgroup.freeze(bool(msg.get("frozen", True)))
        elif op == "shutdown":
            return False
        return True

    def _keeper_of(self, execution: _Exec | None) -> _Keeper | None:
        keeper = self.by_slot.get(execution.slot) if execution is not None else None
        return (
            keeper if keeper is not None and execution is not None and keeper.eid == execution.eid else None
        )

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
        plan = child.ChildPlan(
            self.layers,
            uid,
            None,
            self.disk_mb,
            root=self.setup.root,
            default_limits=self.config.get("limits", {}),
            expose=self.setup.expose,
        )
        cgroup = None
        if self.setup.cgroups is not None:
            cgroup = self.setup.cgroups.slot(slot)
            plan.cgroup_version = cgroup.version
            plan.cgroup_join = cgroup.join_paths()
            plan.cgroup_limits = cgroup.limit_paths()
            plan.cgroup_counters = cgroup.counter_paths()
        return plan, cgroup

    def _spawn_keeper(self, slot: int) -> _Keeper:
        plan, cgroup = self._plan(slot)
        ours, theirs = wire.socketpair()
        try:
            if self.setup.pidns_fd is not None:
                isolation.prepare_pid_namespace(self.setup.pidns_fd)
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            raise
        finally:
            if self.setup.pidns_fd is not None:
                with contextlib.suppress(OSError):
                    isolation.restore_pid_namespace(self.setup.pidns_fd)
        if pid == 0:
            ours.detach()
            child.keeper_main(theirs.fileno(), plan, release_server=self._release)
        theirs.close()
        keeper = _Keeper(pid, slot, ours, plan, cgroup)
        self.keepers[pid] = keeper
        self.by_slot[slot] = keeper
        assert self._sel is not None
        self._sel.register(ours, selectors.EVENT_READ, pid)
        return keeper

    def _make_spare(self) -> None:
        """Arm a slot's keeper (forking it first if the slot has none) and offer the runner's socket."""
        slot = self.free_slots.pop()
        workdir = None
        ours, theirs = wire.socketpair()
        try:
            keeper = self.by_slot.get(slot) or self._spawn_keeper(slot)
            if self.workroot is not None:
                uid = self.uid_base + slot if self.layers.unprivileged_uid else None
                workdir = isolation.make_workdir(self.workroot, f"slot{slot}-{time.monotonic_ns()}", uid)
            eid = next(self._eids)
            wire.send(keeper.sock, {"op": "arm", "eid": eid, "workdir": workdir}, [theirs.fileno()])
        except OSError:
            ours.close()
            self.free_slots.append(slot)
            if workdir:
                isolation.remove_tree(workdir)
            raise
        finally:
            theirs.close()
        keeper.eid = eid
        if keeper.cgroup is not None:
            keeper.cgroup.mark()
        self.execs[eid] = _Exec(eid, slot, workdir)
        try:
            wire.send(
                self.sock,
                {"op": "spare", "pid": eid, "keeper": keeper.pid, "workdir": workdir},
                [ours.fileno()],
            )
        finally:
            ours.close()

    def _assigned(self, execution: _Exec, msg: dict[str, Any]) -> None:
        if execution.assigned:
            return
        execution.assigned = True
        now = time.monotonic()
        if msg.get("timeout_s") is not None:
            timeout = clamp_seconds(msg["timeout_s"], MAX_TIMEOUT_S)
            heapq.heappush(self.deadlines, (now + timeout, execution.eid))
        keeper = self._keeper_of(execution)
        if msg.get("cpu_s") is not None and keeper is not None and keeper.cgroup is not None:
            execution.cpu_budget_s = clamp_seconds(msg["cpu_s"], MAX_TIMEOUT_S)
            execution.cpus = max(0.01, clamp_seconds(msg.get("cpus", 1.0), 1.0, maximum=1024))
            execution.cpu_check_at = now + execution.cpu_budget_s / execution.cpus

    # ------------------------------------------------------------------------------------ kill / reap

    def _kill(self, execution: _Exec, reason: str) -> None:
        if execution.killed_for is None:
            execution.killed_for = reason
        keeper = self._keeper_of(execution)
        if keeper is None:
            return  # it ended already; its report is on its way
        # pid 1 of a pid namespace: killing it makes the kernel kill the whole namespace. The slot
        # gets a new keeper when it is next needed.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(keeper.pid, signal.SIGKILL)
        if not self.layers.pid_namespace:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(keeper.pid, signal.SIGKILL)
        if keeper.cgroup is not None:
            keeper.cgroup.kill_all()  # also thaws a frozen session, which a v1 SIGKILL alone would not end

    def _expire(self) -> None:
        now = time.monotonic()
        while self.deadlines and self.deadlines[0][0] <= now:
            _, eid = heapq.heappop(self.deadlines)
            execution = self.execs.get(eid)
            if execution is not None:
                self._kill(execution, "timeout")

    def _check_cpu(self) -> None:
        """CPU time of the whole execution (every process it forked), from its cgroup."""
        now = time.monotonic()
        for execution in list(self.execs.values()):
            if execution.cpu_budget_s is None or now < execution.cpu_check_at or execution.killed_for:
                continue
            keeper = self._keeper_of(execution)
            if keeper is None:
                execution.cpu_budget_s = None
                continue
            left = execution.cpu_budget_s - keeper.cgroup.cpu_s()
            if left <= 0:
                self._kill(execution, "cpu")
                execution.cpu_budget_s = None
            else:  # it cannot burn more than `cpus` CPU-seconds per second: look again when it could be done
                execution.cpu_check_at = now + max(_CPU_CHECK_MIN_S, left / execution.cpus)

    def _on_keeper(self, keeper: _Keeper) -> None:
        """A keeper's report (parsed defensively), or EOF: it is exiting, the reap handles it."""
        while True:
            try:
                got = wire.recv(keeper.sock, wait=False)
            except BlockingIOError:
                return
            except (OSError, ValueError):
                got = None
            if got is None:
                assert self._sel is not None
                with contextlib.suppress(KeyError, ValueError):
                    self._sel.unregister(keeper.sock)
                return
            msg, fds = got
            for fd in fds:
                os.close(fd)
            execution = self.execs.get(keeper.eid) if keeper.eid is not None else None
            if execution is None:
                continue
            if "setup_error" in msg:
                print(str(msg["setup_error"])[:2000], file=sys.stderr)
                continue  # the keeper exits next; the reap reports the failure
            report = _parse_status(msg)
            # Without a pid namespace the keeper exits after one execution: the reap frees the slot.
            keeper.eid = None if self.layers.pid_namespace else -1
            self._finish(execution, report, None, free_slot=self.layers.pid_namespace)

    def _finish(
        self, execution: _Exec, report: dict[str, Any] | None, wait_status: int | None, *, free_slot: bool
    ) -> None:
        """Tell the executor how the execution ended (the keeper's report, else how the keeper died)."""
        self.execs.pop(execution.eid, None)
        keeper = self.by_slot.get(execution.slot)
        msg: dict[str, Any] = {"op": "exit", "pid": execution.eid, "killed_for": execution.killed_for}
        if report is not None:
            status = report["wait_status"]
            msg.update(report, exit_code=os.waitstatus_to_exitcode(status) if status is not None else None)
            msg.pop("wait_status")
        else:
            exit_code = os.waitstatus_to_exitcode(wait_status) if wait_status is not None else None
            if execution.assigned and exit_code == 0 and execution.killed_for is None:
                exit_code = None  # the keeper exited without a report: never call that a success
            msg["exit_code"] = exit_code
            if keeper is not None and keeper.cgroup is not None:
                counted = keeper.cgroup.usage()
                msg.update(cpu_s=counted.cpu_s, peak_bytes=counted.peak_bytes, oom_kills=counted.oom_kills)
        if execution.workdir is not None:
            isolation.remove_tree(execution.workdir)
        if free_slot:
            self.free_slots.append(execution.slot)
        wire.send(self.sock, msg)

    def _reap(self) -> None:
        while True:
            try:
                pid, status, _usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            keeper = self.keepers.pop(pid, None)
            if keeper is None:
                continue  # an orphan adopted by this subreaper, or a sweep helper
            self._on_keeper(keeper)  # a report it sent just before exiting
            if self.by_slot.get(keeper.slot) is keeper:
                del self.by_slot[keeper.slot]
            assert self._sel is not None
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(keeper.sock)
            keeper.sock.close()
            self._cleanup(keeper)
            execution = self.execs.get(keeper.eid) if keeper.eid is not None and keeper.eid > 0 else None
            if execution is not None:
                if not execution.assigned:  # died during set-up: do not respawn it in a tight loop
                    self._retry_spare_at = time.monotonic() + _SPARE_RETRY_S
                self._finish(execution, None, status, free_slot=True)
            elif keeper.eid == -1:
                self.free_slots.append(keeper.slot)

    def _cleanup(self, keeper: _Keeper) -> None:
        """After a keeper is gone: make sure nothing it started survives."""
        if not self.layers.pid_namespace:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(keeper.pid, signal.SIGKILL)
            if keeper.plan.uid is not None:
                isolation.sweep_uid(keeper.plan.uid)
            self._scan_orphans(force=True)
        if keeper.cgroup is not None and keeper.cgroup.procs():
            keeper.cgroup.kill_all()

    def _scan_orphans(self, force: bool = False) -> None:
        """Without pid namespaces, escaped grandchildren get re-parented to us (subreaper): kill them."""
        if self.layers.pid_namespace:
            return
        now = time.monotonic()
        if not force and now - self._last_orphan_scan < 1.0:
            return
        self._last_orphan_scan = now
        for pid in isolation.children_of(os.getpid()):
            if pid not in self.keepers:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def _shutdown(self) -> None:
        for keeper in list(self.keepers.values()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(keeper.pid, signal.SIGKILL)
            if keeper.cgroup is not None:
                keeper.cgroup.kill_all()
        deadline = time.monotonic() + 5
        while self.keepers and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            keeper = self.keepers.pop(pid, None)
            if keeper is not None:
                self._cleanup(keeper)
        for execution in self.execs.values():
            if execution.workdir is not None:
                isolation.remove_tree(execution.workdir)
        if self.workroot is not None:
            isolation.remove_tree(self.workroot)
        if self.setup.cgroups is not None:
            self.setup.cgroups.remove()


def _parse_status(report: dict[str, Any]) -> dict[str, Any] | None:
    """A keeper's report, checked field by field (None if it is not what a keeper writes)."""
    try:
        status = report["wait_status"]
        if status is not None and not (isinstance(status, int) and 0 <= status < 1 << 16):
            return None
        return {
            "wait_status": status,
            "hint": str(report.get("hint", ""))[:1],
            "cpu_s": float(report.get("cpu_s", 0.0)),
            "max_rss_kb": int(report.get("max_rss_kb", 0)),
            "peak_bytes": int(report.get("peak_bytes", 0)),
            "oom_kills": int(report.get("oom_kills", 0)),
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
