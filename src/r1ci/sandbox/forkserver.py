"""The fork server: one long-lived, pre-warmed interpreter that forks one child per execution.

Started by `LocalExecutor` as `python -c ...` with a clean environment. It imports the heavy modules
once (numpy, sympy, ...), runs a short warm-up so their lazy imports and caches are paid for,
freezes the GC (children then do not dirty the parent's pages by scanning them), sets up the kernel
layers (`isolation.setup_server`) and then serves requests from the executor over a SOCK_SEQPACKET
socket. It is single-threaded on purpose: fork() from a threaded process is unsafe.

It owns every child: it forks them ahead of need (`prefork` spares wait, already set up, for their
request, so fork and mount costs stay off the latency path), kills them at their wall-clock deadline (safe from pid reuse
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
class _Spare:
    pid: int
    sock: socket.socket  # our end; the request goes down it
    slot: int
    uid: int | None
    workdir: str | None


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
        self.spares: list[_Spare] = []
        self.spare_pids: dict[int, _Spare] = {}
        self.prefork = int(config.get("prefork", 2))
        self.disk_mb = int(config.get("disk_mb", 64))

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
            set(self.config["disabled_layers"]), self.uid_base
        )
        if not self.layers.mount_namespace:
            self.workroot = tempfile.mkdtemp(
                prefix=f"r1ci-sandbox-{os.getpid()}-", dir=self.config.get("tmpdir")
            )
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
                self._replenish()
        finally:
            self._shutdown()

    def _next_timeout(self) -> float | None:
        if len(self.spares) < self.prefork and self.free_slots:
            return 0.0  # make the next spare as soon as the queue is empty
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

    def _make_spare(self) -> _Spare:
        """Fork a child that sets itself up and waits for a request (raises OSError if it cannot)."""
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
        spare = _Spare(pid, ours, slot, uid, workdir)
        self.spare_pids[pid] = spare
        return spare

    def _replenish(self) -> None:
        # One per loop turn, so a burst of requests is never stuck behind a row of forks.
        if len(self.spares) < self.prefork and self.free_slots:
            with contextlib.suppress(OSError):  # e.g. EAGAIN: try again next turn
                self.spares.append(self._make_spare())

    def _spawn(self, msg: dict[str, Any], fds: list[int]) -> None:
        req_id = int(msg["id"])
        try:
            spare = self.spares.pop(0) if self.spares else self._make_spare()
        except IndexError:
            self._fail(req_id, fds, "no free sandbox slot (too many concurrent executions and sessions)")
            return
        except OSError as exc:
            self._fail(req_id, fds, f"could not start the child: {exc}")
            return
        del self.spare_pids[spare.pid]
        try:
            wire.send(spare.sock, msg, fds)
        except OSError:
            pass  # the spare died meanwhile: its exit is reported under this request's id
        finally:
            spare.sock.close()
            for fd in fds:
                os.close(fd)
        session = msg.get("mode") == "session"
        now = time.monotonic()
        self.children[spare.pid] = _Child(
            req_id, spare.pid, now, spare.slot, spare.uid, spare.workdir, session
        )
        self.by_id[req_id] = spare.pid
        if not session:
            heapq.heappush(self.deadlines, (now + float(msg["limits"]["timeout_s"]), spare.pid, req_id))

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
            spare = self.spare_pids.pop(pid, None)
            if spare is not None:  # a spare died before it was used (e.g. its set-up failed)
                self.spares.remove(spare)
                spare.sock.close()
                self._cleanup_slot(spare.pid, spare.uid, spare.workdir, spare.slot)
                continue
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
        self._cleanup_slot(c.pid, c.uid, c.workdir, c.slot)

    def _cleanup_slot(self, pid: int, uid: int | None, workdir: str | None, slot: int) -> None:
        """After a child is gone: make sure nothing it started survives, then free its slot."""
        if not self.layers.pid_namespace:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            if uid is not None:
                isolation.sweep_uid(uid)
            self._scan_orphans(force=True)
        if workdir is not None:
            isolation.remove_tree(workdir)
        self.free_slots.append(slot)

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
        for spare in self.spares:
            spare.sock.close()  # EOF: the spare exits on its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(spare.pid, signal.SIGKILL)
        for c in list(self.children.values()):
            self._kill(c, "server shutdown")
        deadline = time.monotonic() + 5
        while (self.children or self.spare_pids) and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            c = self.children.pop(pid, None)
            if c is not None:
                self._cleanup(c)
            spare = self.spare_pids.pop(pid, None)
            if spare is not None:
                self._cleanup_slot(spare.pid, spare.uid, spare.workdir, spare.slot)
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
