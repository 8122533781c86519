"""The fork server: one long-lived, pre-warmed interpreter that forks one child per execution.

Started by `LocalExecutor` as `python -I -c ...` with a clean environment. It imports the heavy
modules once (numpy, sympy, ...), runs a short warm-up so their lazy imports and caches are paid
for, freezes the GC (children then do not dirty the parent's pages by scanning them), sets up the
kernel layers (`isolation.setup_server`) and serves the executor over a SOCK_SEQPACKET socket. It is
single-threaded on purpose: fork() from a threaded process is unsafe.

Children are forked ahead of need. Each "spare" sets itself up (namespaces, tmpfs workdir) and waits
on its own socket, which the server hands to the executor; the executor sends the request straight
to the spare and tells the server which spare it used ("assigned"). A request therefore costs one
hop to an already-forked child, and fork/mount costs stay off its latency.

The server owns every child: it forks them, kills them at their wall-clock deadline (safe from pid
reuse because only the parent reaps), reaps them and reports each exit. Output never passes through
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


@dataclass
class _Proc:
    """A forked child: a spare until the executor assigns it, then a running execution or session."""

    pid: int
    slot: int
    uid: int | None
    workdir: str | None
    serial: int
    assigned: bool = False
    killed_for: str | None = None


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
        self.pidns_fd: int | None = None
        self.layers = isolation.Layers()
        self._serials = itertools.count()
        self._last_orphan_scan = 0.0
        self._retry_spare_at = 0.0
        self._release: Any = None

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
        self.layers, self.pidns_fd = isolation.setup_server(
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
            },
        )

    # ------------------------------------------------------------------------------------------- loop

    def serve(self) -> None:
        sel = selectors.DefaultSelector()
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
                    elif not self._handle_requests():
                        return
                self._reap()
                self._expire()
                self._scan_orphans()
                self._replenish()
        except (BrokenPipeError, ConnectionResetError):
            return  # the executor went away mid-message: shut down quietly
        finally:
            self._shutdown()

    def _spares(self) -> int:
        return sum(1 for p in self.procs.values() if not p.assigned)

    def _next_timeout(self) -> float | None:
        waits = []
        if self._spares() < self.prefork and self.free_slots:
            waits.append(max(0.0, self._retry_spare_at - time.monotonic()))
        if self.deadlines:
            waits.append(max(0.0, self.deadlines[0][0] - time.monotonic()))
        if not self.layers.pid_namespace:
            waits.append(1.0)  # periodic orphan scan
        return min(waits) if waits else None

    def _handle_requests(self) -> bool:
        """Drain queued requests; False when the executor has gone away."""
        while True:
            try:
                got = wire.recv(self.sock, wait=False)
            except BlockingIOError:
                return True
            except ConnectionError:
                return False
            if got is None:
                return False
            msg, fds = got
            for fd in fds:
                os.close(fd)
            op = msg.get("op")
            if op == "assigned":
                self._assigned(int(msg["pid"]), msg.get("timeout_s"))
            elif op == "kill":
                proc = self.procs.get(int(msg["pid"]))
                if proc is not None:
                    self._kill(proc, str(msg.get("reason", "killed")))
            elif op == "shutdown":
                return False

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

    def _make_spare(self) -> None:
        """Fork a child that sets itself up, and offer its request socket to the executor."""
        slot = self.free_slots.pop()
        uid = self.uid_base + slot if self.layers.unprivileged_uid else None
        workdir = None
        ours, theirs = wire.socketpair()
        try:
            if self.workroot is not None:
                workdir = isolation.make_workdir(self.workroot, f"slot{slot}-{time.monotonic_ns()}", uid)
            if self.pidns_fd is not None:
                isolation.prepare_pid_namespace(self.pidns_fd)
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            self.free_slots.append(slot)
            if workdir:
                isolation.remove_tree(workdir)
            raise
        if pid == 0:
            ours.detach()
            child.spare_main(
                theirs.fileno(),
                layers=self.layers,
                uid=uid,
                workdir=workdir,
                disk_mb=self.disk_mb,
                release_server=self._release,
            )
        if self.pidns_fd is not None:
            isolation.restore_pid_namespace(self.pidns_fd)
        theirs.close()
        self.procs[pid] = _Proc(pid, slot, uid, workdir, next(self._serials))
        try:
            wire.send(self.sock, {"op": "spare", "pid": pid, "workdir": workdir}, [ours.fileno()])
        finally:
            ours.close()

    def _assigned(self, pid: int, timeout_s: float | None) -> None:
        proc = self.procs.get(pid)
        if proc is None or proc.assigned:
            return  # it died already; its exit report is on its way
        proc.assigned = True
        if timeout_s is not None:
            heapq.heappush(self.deadlines, (time.monotonic() + float(timeout_s), proc.serial, pid))

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

    def _expire(self) -> None:
        now = time.monotonic()
        while self.deadlines and self.deadlines[0][0] <= now:
            _, serial, pid = heapq.heappop(self.deadlines)
            proc = self.procs.get(pid)
            if proc is not None and proc.serial == serial:
                self._kill(proc, "timeout")

    def _reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            proc = self.procs.pop(pid, None)
            if proc is None:
                continue  # an orphan adopted by this subreaper, or a sweep helper
            if not proc.assigned:  # a spare died during set-up: do not respawn it in a tight loop
                self._retry_spare_at = time.monotonic() + _SPARE_RETRY_S
            self._cleanup(proc)
            wire.send(
                self.sock,
                {
                    "op": "exit",
                    "pid": pid,
                    "exit_code": os.waitstatus_to_exitcode(status),
                    "killed_for": proc.killed_for,
                    "cpu_s": usage.ru_utime + usage.ru_stime,
                    "max_rss_kb": usage.ru_maxrss,
                },
            )

    def _cleanup(self, proc: _Proc) -> None:
        """After a child is gone: make sure nothing it started survives, then free its slot."""
        if not self.layers.pid_namespace:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            if proc.uid is not None:
                isolation.sweep_uid(proc.uid)
            self._scan_orphans(force=True)
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
