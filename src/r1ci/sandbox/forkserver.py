"""The fork server: one long-lived, pre-warmed interpreter that forks one child per execution.

Started by `LocalExecutor` as `python -c ...` with a clean environment. It imports the heavy modules
once (numpy, sympy, ...), runs a short warm-up so their lazy imports and caches are paid for,
freezes the GC (children then do not dirty the parent's pages by scanning them), sets up the kernel
layers (`isolation.setup_server`) and then serves requests from the executor over a SOCK_SEQPACKET
socket. It is single-threaded on purpose: fork() from a threaded process is unsafe.

It owns every child: it forks them, kills them at their wall-clock deadline (safe from pid reuse
because only the parent reaps), reaps them with their rusage and reports the exit. Output never passes
through it: the executor's pipes are handed straight to the child.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import importlib
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


@dataclass
class _Child:
    id: int
    pid: int
    started: float
    slot: int
    uid: int | None
    workdir: str | None
    session: bool
    killed_for: str | None = None


class ForkServer:
    def __init__(self, sock: socket.socket, config: dict[str, Any]) -> None:
        self.sock = sock
        self.config = config
        self.children: dict[int, _Child] = {}  # pid -> child
        self.by_id: dict[int, int] = {}  # request id -> pid
        self.deadlines: list[tuple[float, int, int]] = []  # (monotonic deadline, pid, id)
        self.free_slots = list(range(int(config["slots"])))[::-1]
        self.uid_base = int(config["uid_base"])
        self.workroot: str | None = None
        self.pidns_fd: int | None = None
        self.layers = isolation.Layers()
        self._last_orphan_scan = 0.0

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
        self.layers, self.pidns_fd = isolation.setup_server(set(self.config["disabled_layers"]), self.uid_base)
        if not self.layers.mount_namespace:
            self.workroot = tempfile.mkdtemp(prefix=f"r1ci-sandbox-{os.getpid()}-", dir=self.config.get("tmpdir"))
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
        self._release = lambda: (self.sock.detach(), sel.close())
        try:
            while True:
                timeout = self._next_timeout()
                for key, _ in sel.select(timeout):
                    if key.data == "sig":
                        with contextlib.suppress(BlockingIOError):
                            os.read(wake_r, 4096)
                    elif not self._handle_requests():
                        return
                self._reap()
                self._expire()
                self._scan_orphans()
        finally:
            self._shutdown()

    def _next_timeout(self) -> float | None:
        waits = []
        if self.deadlines:
            waits.append(max(0.0, self.deadlines[0][0] - time.monotonic()))
        if self._needs_orphan_scan():
            waits.append(1.0)
        return min(waits) if waits else None

    def _handle_requests(self) -> bool:
        """Drain queued requests; False when the executor has gone away."""
        self.sock.setblocking(False)
        try:
            while True:
                try:
                    got = wire.recv(self.sock)
                except BlockingIOError:
                    return True
                except ConnectionError:
                    return False
                if got is None:
                    return False
                msg, fds = got
                op = msg.get("op")
                if op == "run":
                    self._spawn(msg, fds)
                elif op == "kill":
                    self._kill_id(int(msg["id"]), str(msg.get("reason", "killed")))
                elif op == "shutdown":
                    return False
                else:
                    for fd in fds:
                        os.close(fd)
        finally:
            self.sock.setblocking(True)

    # ------------------------------------------------------------------------------------------ spawn

    def _spawn(self, msg: dict[str, Any], fds: list[int]) -> None:
        req_id = int(msg["id"])
        if not self.free_slots:
            self._fail(req_id, fds, "no free sandbox slot (too many concurrent executions and sessions)")
            return
        slot = self.free_slots.pop()
        uid = self.uid_base + slot if self.layers.unprivileged_uid else None
        workdir = None
        try:
            if self.workroot is not None:
                workdir = isolation.make_workdir(self.workroot, f"{req_id}", uid)
            if self.pidns_fd is not None:
                isolation.prepare_pid_namespace(self.pidns_fd)
            pid = os.fork()
        except OSError as exc:
            self.free_slots.append(slot)
            if workdir:
                isolation.remove_tree(workdir)
            self._fail(req_id, fds, f"could not start the child: {exc}")
            return
        if pid == 0:
            child.main(msg, fds, layers=self.layers, uid=uid, workdir=workdir, release_server=self._release)
        for fd in fds:
            os.close(fd)
        session = msg.get("mode") == "session"
        self.children[pid] = _Child(req_id, pid, time.monotonic(), slot, uid, workdir, session)
        self.by_id[req_id] = pid
        if not session:
            heapq.heappush(self.deadlines, (time.monotonic() + float(msg["limits"]["timeout_s"]), pid, req_id))

    def _fail(self, req_id: int, fds: list[int], message: str) -> None:
        for fd in fds:
            os.close(fd)
        wire.send(self.sock, {"op": "exit", "id": req_id, "error": message})

    # ------------------------------------------------------------------------------------ kill / reap

    def _kill_id(self, req_id: int, reason: str) -> None:
        pid = self.by_id.get(req_id)
        if pid is not None:
            self._kill(self.children[pid], reason)

    def _kill(self, c: _Child, reason: str) -> None:
        if c.killed_for is None:
            c.killed_for = reason
        # pid 1 of a pid namespace: killing it makes the kernel kill the whole namespace.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(c.pid, signal.SIGKILL)
        if not self.layers.pid_namespace:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(c.pid, signal.SIGKILL)

    def _expire(self) -> None:
        now = time.monotonic()
        while self.deadlines and self.deadlines[0][0] <= now:
            _, pid, req_id = heapq.heappop(self.deadlines)
            c = self.children.get(pid)
            if c is not None and c.id == req_id:
                self._kill(c, "timeout")

    def _reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            c = self.children.pop(pid, None)
            if c is None:
                continue  # an orphan adopted by this subreaper, or a sweep helper
            self.by_id.pop(c.id, None)
            self._cleanup(c)
            wire.send(
                self.sock,
                {
                    "op": "exit",
                    "id": c.id,
                    "exit_code": os.waitstatus_to_exitcode(status),
                    "killed_for": c.killed_for,
                    "wall_s": time.monotonic() - c.started,
                    "cpu_s": usage.ru_utime + usage.ru_stime,
                    "max_rss_kb": usage.ru_maxrss,
                },
            )

    def _cleanup(self, c: _Child) -> None:
        """After the child is gone: make sure nothing it started survives, then free its slot."""
        if not self.layers.pid_namespace:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(c.pid, signal.SIGKILL)
            if c.uid is not None:
                isolation.sweep_uid(c.uid)
            self._scan_orphans(force=True)
        if c.workdir is not None:
            isolation.remove_tree(c.workdir)
        self.free_slots.append(c.slot)

    def _needs_orphan_scan(self) -> bool:
        return not self.layers.pid_namespace

    def _scan_orphans(self, force: bool = False) -> None:
        """Without pid namespaces, escaped grandchildren get re-parented to us (subreaper): kill them."""
        if not self._needs_orphan_scan():
            return
        now = time.monotonic()
        if not force and now - self._last_orphan_scan < 1.0:
            return
        self._last_orphan_scan = now
        for pid in isolation.children_of(os.getpid()):
            if pid not in self.children:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def _shutdown(self) -> None:
        for c in list(self.children.values()):
            self._kill(c, "server shutdown")
        deadline = time.monotonic() + 5
        while self.children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            c = self.children.pop(pid, None)
            if c is not None:
                self._cleanup(c)
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
