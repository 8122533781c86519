"""`LocalExecutor`: the fork-server pool on this machine.

One reactor thread owns everything asynchronous: it starts the fork server, sends it requests, reads
every child's stdout/stderr pipe through one selector (bounded buffers: a flood is drained and
discarded, then killed), matches the server's exit reports to jobs, runs session turns and expires
idle sessions. Callers only touch a queue and futures, so `run`, `run_many`, `arun` and the HTTP
service can all share one executor from any thread or event loop.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import selectors
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from typing_extensions import Unpack

from r1ci.sandbox import uids, wire
from r1ci.sandbox.executor import Executor, RunOptions, SandboxError, check_code
from r1ci.sandbox.forkserver import DEFAULT_PRELOAD
from r1ci.sandbox.isolation import KERNEL_LAYERS, LAYER_HELP, Layers
from r1ci.sandbox.jobs import Job, Session, error_result, killed_result, result_of
from r1ci.sandbox.limits import DEFAULT_MAXIMA, SandboxLimits
from r1ci.sandbox.result import BoundedBuffer, ExecutionResult
from r1ci.sandbox.server_process import ServerProcess, server_environment  # noqa: F401 - re-exported

log = logging.getLogger("r1ci.sandbox")

_EXIT_GRACE_S = 1.0  # wait this long for pipes to close after the child is reaped
_MAX_SPARE_DEATHS = 5  # unused spares dying in a row before a waiting job is failed instead
_BACKSTOP_S = 10.0  # if the fork server never reports a child, give up this long after its deadline
_warned_layers: set[str] = set()


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class LocalExecutor(Executor):
    """A pool of sandboxed executions forked from one pre-warmed server process.

    `workers` bounds concurrently running snippets (default: the CPUs this process may use).
    `limits` are the defaults that per-call arguments override. `disable_layers` turns kernel layers
    off on purpose (e.g. to test the fallbacks); unavailable ones are reported by `info()` and warned
    about once. Sessions (`session_id=...`) keep one child alive across calls and expire after
    `session_idle_s` without use; at most `max_sessions` live at once (least recently used evicted).
    `prefork` children are kept forked and set up ahead of need (default: min(workers, 8), at least 2).
    `hide_paths` are covered by an empty tmpfs in the children (default: the caller's $HOME), except
    for the interpreter's own directories (only where the minimal_root layer is off; with it, nothing
    but the interpreter is visible anyway). `max_limits` caps every per-call limit (default:
    `DEFAULT_MAXIMA`, widened to admit `limits`). `uid_base` is drawn at random and claimed host-wide
    unless given, so two executors (two DDP ranks, two r1ci runs) never share a uid.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        limits: SandboxLimits | None = None,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        warmup: bool = True,
        disable_layers: Sequence[str] = (),
        uid_base: int | None = None,
        max_limits: SandboxLimits | None = None,
        max_sessions: int = 64,
        session_idle_s: float = 600.0,
        startup_timeout_s: float = 120.0,
        prefork: int | None = None,
        hide_paths: Sequence[str] | None = None,
    ) -> None:
        if sys.platform != "linux":
            raise SandboxError(
                f"the local sandbox needs Linux (fork, namespaces, rlimits); this is {sys.platform}"
            )
        unknown = set(disable_layers) - set(KERNEL_LAYERS)
        if unknown:
            raise ValueError(
                f"unknown layers {sorted(unknown)} in disable_layers; choose from {KERNEL_LAYERS}"
            )
        self.workers = workers if workers is not None else default_workers()
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        self.limits = limits or SandboxLimits()
        # Per-call limits are clamped to these; the executor's own defaults always fit.
        self.max_limits = (max_limits or DEFAULT_MAXIMA).widen(self.limits)
        slots = 2 * self.workers + max_sessions + 16
        self._uid_claim = uids.claim_range(slots, uid_base)
        self.uid_base = self._uid_claim.base
        self.max_sessions = max_sessions
        self.session_idle_s = session_idle_s
        self._startup_timeout_s = startup_timeout_s
        self._config = {
            "preload": list(preload),
            "warmup": warmup,
            "disabled_layers": sorted(disable_layers),
            "uid_base": self.uid_base,
            "hide": list(hide_paths) if hide_paths is not None else [os.path.expanduser("~")],
            "prefork": prefork if prefork is not None else min(16, max(4, 2 * self.workers)),
            "disk_mb": self.limits.disk_mb,
            "limits": self.limits.to_wire(),
            "slots": slots,
            "workers": self.workers,
        }
        self._owner_pid = os.getpid()
        # Guards all reactor state. Callers take it too, so `submit` can hand a job to an idle spare
        # itself instead of waking the reactor thread first (one thread switch less per execution).
        self._lock = threading.RLock()
        self._pending: deque[Job] = deque()
        self._commands: deque[tuple[str, Any]] = deque()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._closing = False
        self._startup_error: BaseException | None = None
        self._server_info: dict[str, Any] = {}
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # reactor-thread state
        self._sel: selectors.BaseSelector | None = None
        self._server: ServerProcess | None = None
        self._sock: socket.socket | None = None
        self._running: dict[int, Job] = {}  # one-shots whose child has not been reaped yet, by job id
        self._sessions: dict[str, Session] = {}
        self._by_pid: dict[int, Job | Session] = {}  # child pid -> what it runs
        self._spares: deque[tuple[int, socket.socket]] = deque()  # children offered by the server
        self._spare_dirs: dict[int, str | None] = {}  # spare id -> its workdir (no mount namespace)
        self._spare_keepers: dict[int, int] = {}  # spare id -> pid of the slot keeper holding it
        self._busy = 0  # one-shots + session turns occupying a worker
        self._spare_deaths = 0  # spares that died unused, in a row

    # -------------------------------------------------------------------------------------- public

    def submit(self, code: str, **options: Unpack[RunOptions]) -> Future[ExecutionResult]:
        check_code(code, options)
        session_id, stdin = options.get("session_id"), options.get("stdin")
        if os.getpid() != self._owner_pid:
            raise SandboxError(
                "this LocalExecutor belongs to the process that created it; create a new one here"
            )
        limits = self.limits.override(
            options.get("timeout_s"), options.get("memory_mb"), options.get("max_output_bytes")
        ).clamp(self.max_limits)
        future: Future[ExecutionResult] = Future()
        job = Job(
            id=next(self._ids),
            code=code,
            limits=limits,
            stdin=stdin,
            session_id=session_id,
            future=future,
            out=BoundedBuffer(limits.max_output_bytes),
            err=BoundedBuffer(limits.max_output_bytes),
        )
        with self._lock:
            if self._closing:
                raise SandboxError("this executor is closed")
            self._pending.append(job)
            self._start_thread()
            if self._ready.is_set() and threading.current_thread() is not self._thread:
                self._admit()
        if not job.started or job.session_id is not None:
            self._wake()  # the reactor must admit it later, or re-time its select for a session turn
        return future

    def close_session(self, session_id: str) -> None:
        with self._lock:
            if self._thread is None or self._closing:
                return
            self._commands.append(("close_session", session_id))
        self._wake()

    def wait_ready(self) -> None:
        """Start the fork server if needed and block until it serves (raises SandboxError if it cannot)."""
        with self._lock:
            if self._closing:
                raise SandboxError("this executor is closed")
            self._start_thread()
        if not self._ready.wait(self._startup_timeout_s + 5):
            raise SandboxError(f"the fork server did not start within {self._startup_timeout_s}s")
        if self._startup_error is not None:
            raise SandboxError(
                f"the fork server failed to start: {self._startup_error}"
            ) from self._startup_error

    @property
    def layers(self) -> Layers:
        self.wait_ready()
        return Layers.from_dict(self._server_info["layers"])

    def info(self) -> dict[str, Any]:
        self.wait_ready()
        layers = Layers.from_dict(self._server_info["layers"])
        return {
            "backend": "local fork server",
            "workers": self.workers,
            "server_pid": self._server_info["pid"],
            "euid": self._server_info["euid"],
            "python": self._server_info["python"],
            "preloaded": self._server_info["preloaded"],
            "warnings": self._server_info["warnings"],
            "layers": {name: getattr(layers, name) for name in KERNEL_LAYERS}
            | {"rlimits": True, "audit_guard": True, "process_cleanup": True},
            "missing": layers.missing,
            "limits": self.limits.model_dump(),
            "max_limits": self.max_limits.model_dump(),
            "uid_range": [self.uid_range.start, self.uid_range.stop - 1],
            "cgroup_version": self._server_info.get("cgroup_version"),
            "cgroup_dirs": self._server_info.get("cgroup_dirs") or [],
        }

    def server_pid(self) -> int:
        self.wait_ready()
        return int(self._server_info["pid"])

    def workroot(self) -> str | None:
        """Where working directories live when there is no mount namespace (None: private tmpfs each)."""
        self.wait_ready()
        return self._server_info.get("workroot")

    def spare_pids(self) -> list[int]:
        """Pids of the slot keepers holding a spare (a runner forked ahead of need; leak checks)."""
        keepers = self._spare_keepers.copy()  # copy(): atomic against the reactor thread
        return [keepers.get(eid, 0) for eid, _ in self._spares.copy()]

    @property
    def uid_lock_file(self) -> str | None:
        """The host-wide lock that reserves this executor's uid range (removed on close)."""
        return self._uid_claim.lock_file

    @property
    def uid_range(self) -> range:
        """The uids this executor's children run under (claimed for it alone on this host)."""
        return range(self.uid_base, self.uid_base + self._uid_claim.size)

    def cgroup_dirs(self) -> list[str]:
        """This executor's cgroup directories (one per v1 controller; empty without the cgroup layer)."""
        self.wait_ready()
        return list(self._server_info.get("cgroup_dirs") or [])

    def spare_workdirs(self) -> list[str]:
        return [d for d in self._spare_dirs.copy().values() if d]

    def close(self) -> None:
        with self._lock:
            if self._closing:
                thread = self._thread
            else:
                self._closing = True
                thread = self._thread
        self._wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1
        self._uid_claim.release()

    # ------------------------------------------------------------------------------- reactor set-up

    def _start_thread(self) -> None:
        # The reactor thread also spawns the fork server: the server's PR_SET_PDEATHSIG fires when the
        # *thread* that forked it exits, so that thread must live exactly as long as the executor.
        if self._thread is None:
            self._thread = threading.Thread(target=self._reactor, name="r1ci-sandbox-reactor", daemon=True)
            self._thread.start()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def _spawn_server(self) -> None:
        self._server = ServerProcess.start(self._config, self._startup_timeout_s)
        self._server_info = self._server.info
        self._sock = self._server.sock
        assert self._sel is not None
        self._sel.register(self._sock, selectors.EVENT_READ, ("server", None))
        _warn_missing_layers(Layers.from_dict(self._server_info["layers"]), self._server_info["warnings"])

    def _stop_server(self) -> None:
        if self._server is not None:
            assert self._sel is not None
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(self._server.sock)
            self._server.stop()
        self._server = None
        self._sock = None

    # ------------------------------------------------------------------------------------ the loop

    def _reactor(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        try:
            self._spawn_server()
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            self._fail_pending(exc)
            self._closing = True
            self._sel.close()
            return
        self._ready.set()
        try:
            while not self._closing:
                with self._lock:
                    self._admit()
                    timeout = self._next_timeout()
                events = self._sel.select(timeout)
                with self._lock:
                    for key, _ in events:
                        self._dispatch(key)
                    self._run_commands()
                    self._timers()
        except BaseException as exc:  # never leave callers waiting forever
            log.exception("r1ci sandbox reactor crashed")
            self._startup_error = exc
        finally:
            with self._lock:
                self._shut_down()

    def _dispatch(self, key: selectors.SelectorKey) -> None:
        """Handle one ready descriptor. Whatever goes wrong fails the job it belongs to, never the loop."""
        kind, obj = key.data
        try:
            if kind == "wake":
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
            elif kind == "server":
                self._on_server()
            elif kind == "pipe":
                self._on_pipe(key.fd, obj)
            elif kind == "ctrl":
                self._on_ctrl(obj)
        except Exception as exc:
            log.exception("r1ci sandbox: error handling %s event; failing only its job", kind)
            job = obj if isinstance(obj, Job) else obj.busy if isinstance(obj, Session) else None
            if job is not None:
                self._kill_job(job, "sandbox error")
                self._force_finish(job, f"r1ci sandbox: internal error on this execution: {exc}")

    def _shut_down(self) -> None:
        assert self._sel is not None
        self._closing = True
        self._stop_server()  # the server kills every child it still has
        for job in list(self._running.values()):
            self._force_finish(job, "r1ci sandbox: executor closed before the snippet finished")
        self._fail_sessions("executor closed before the snippet finished")
        self._fail_pending(SandboxError("executor closed"))
        self._drop_spares()
        self._sel.close()

    def _next_timeout(self) -> float:
        now = time.monotonic()
        wait = 1.0  # session idle expiry resolution
        for job in self._active_jobs():
            if not job.future.done():
                wait = min(wait, job.deadline + (0 if job.session_id else _BACKSTOP_S) - now)
            if job.grace_until is not None:
                wait = min(wait, job.grace_until - now)
        return max(0.0, wait)

    def _active_jobs(self) -> list[Job]:
        return list(self._running.values()) + [s.busy for s in self._sessions.values() if s.busy is not None]

    def _fail_pending(self, exc: BaseException) -> None:
        with self._lock:
            pending, self._pending = list(self._pending), deque()
        for job in pending:
            if not job.future.done():
                job.future.set_exception(SandboxError(str(exc)))

    def _run_commands(self) -> None:
        while self._commands:
            cmd, arg = self._commands.popleft()
            if cmd == "close_session":
                session = self._sessions.get(arg)
                if session is not None and session.busy is None and not session.queue:
                    self._end_session(session, "closed")

    # ---------------------------------------------------------------------------------- admission

    def _admit(self) -> None:
        while self._busy < self.workers and self._sock is not None:
            job = self._next_startable()
            if job is None:
                return
            if job.session_id is None:
                self._start_oneshot(job)
            else:
                self._start_turn(job)

    def _next_startable(self) -> Job | None:
        # Queued turns of idle sessions first (they were submitted earlier), then new submissions.
        for session in self._sessions.values():
            if session.busy is None and session.queue:
                return session.queue.popleft()
        with self._lock:
            while self._pending:
                job = self._pending[0]
                session = self._sessions.get(job.session_id) if job.session_id else None
                if session is not None and session.busy is not None:
                    self._pending.popleft()
                    session.queue.append(job)  # one turn at a time per session
                    continue
                if session is None and not self._spares:
                    return None  # needs a fresh child: wait for the server to offer one
                return self._pending.popleft()
        return None

    def _take_spare(self, limits: SandboxLimits | None) -> tuple[int, socket.socket]:
        """Claim an offered child and tell the server, which then times it (wall clock and, from the
        cgroup, CPU of all its processes; not for sessions, timed per turn here) and forks a replacement."""
        assert self._sock is not None
        pid, spare = self._spares.popleft()
        self._spare_dirs.pop(pid, None)
        self._spare_keepers.pop(pid, None)
        msg: dict[str, Any] = {"op": "assigned", "pid": pid}
        if limits is not None:
            msg.update(timeout_s=limits.timeout_s, cpu_s=limits.to_wire()["cpu_s"], cpus=limits.cpus)
        with contextlib.suppress(OSError):
            wire.send(self._sock, msg)
        return pid, spare

    def _drop_spares(self) -> None:
        while self._spares:
            self._spares.popleft()[1].close()
        self._spare_dirs.clear()
        self._spare_keepers.clear()

    def _open_pipes(self, job: Job, names: tuple[str, ...]) -> list[int]:
        """-> write ends for the child; read ends are registered on the selector."""
        assert self._sel is not None
        writers = []
        for name in names:
            r, w = os.pipe2(os.O_CLOEXEC)
            os.set_blocking(r, False)
            job.fds[r] = name
            self._sel.register(r, selectors.EVENT_READ, ("pipe", job))
            writers.append(w)
        return writers

    def _send_code(self, sock: socket.socket, job: Job, msg: dict[str, Any], names: tuple[str, ...]) -> None:
        fds = [wire.code_memfd(job.code), *self._open_pipes(job, names)]
        if job.stdin is not None:
            fds.append(wire.code_memfd(job.stdin, "stdin"))
        job.started = time.monotonic()
        job.deadline = job.started + job.limits.timeout_s
        try:
            wire.send(sock, msg, fds)
        except OSError:
            pass  # the child died meanwhile; its exit report finishes this job
        finally:
            for fd in fds:
                os.close(fd)

    def _start_oneshot(self, job: Job) -> None:
        pid, spare = self._take_spare(job.limits)
        job.pid = pid
        self._running[job.id] = job
        self._by_pid[pid] = job
        self._busy += 1
        msg = {"mode": "oneshot", "limits": job.limits.to_wire()}
        try:
            self._send_code(spare, job, msg, ("out", "err"))
        except OSError as exc:  # e.g. out of file descriptors in this process
            self._kill_pid(pid, "could not start")
            self._retire(job)
            job.future.set_result(error_result(f"could not start the snippet: {exc}"))
        finally:
            spare.close()

    # ------------------------------------------------------------------------------------ sessions

    def _start_turn(self, job: Job) -> None:
        assert job.session_id is not None
        session = self._sessions.get(job.session_id)
        if session is None:
            session = self._new_session(job)
            if session is None:
                return
        session.busy = job
        session.turns += 1
        session.last_used = time.monotonic()
        self._busy += 1
        if session.turns > 1:
            self._freeze(session, False)
        self._send_code(session.ctrl, job, {"cpu_s": job.limits.to_wire()["cpu_s"]}, ("out", "err"))

    def _new_session(self, job: Job) -> Session | None:
        assert self._sel is not None and job.session_id is not None
        if len(self._sessions) >= self.max_sessions:
            idle = [s for s in self._sessions.values() if s.busy is None and not s.queue]
            if not idle:
                job.future.set_result(
                    error_result(f"too many busy sessions (max_sessions={self.max_sessions})")
                )
                return None
            self._end_session(min(idle, key=lambda s: s.last_used), "evicted")
        pid, spare = self._take_spare(None)
        ours, theirs = wire.socketpair()
        try:
            wire.send(spare, {"mode": "session", "limits": job.limits.to_wire()}, [theirs.fileno()])
        except OSError:
            pass  # the spare died; its exit report ends the session
        finally:
            theirs.close()
            spare.close()
        session = Session(job.session_id, pid, ours, time.monotonic())
        self._sessions[job.session_id] = session
        self._by_pid[pid] = session
        self._sel.register(ours, selectors.EVENT_READ, ("ctrl", session))
        return session

    def _on_ctrl(self, session: Session) -> None:
        try:
            data = session.ctrl.recv(wire.MAX_MESSAGE, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the child is gone; the server's exit report finishes any running turn
            assert self._sel is not None
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(session.ctrl)
            return
        job = session.busy
        if job is None:
            return
        try:
            report = json.loads(data)
            if isinstance(report, dict) and "setup_error" in report:
                job.exit = {"error": str(report["setup_error"]).removeprefix("r1ci sandbox: ")}
                self._end_session(session, "setup failed")
                self._maybe_finish(job)
                return
            report = {
                "exit_code": int(report["exit_code"]),
                "memory_error": bool(report.get("memory_error")),
                "cpu_exceeded": bool(report.get("cpu_exceeded")),
            }
        except (ValueError, TypeError, KeyError):
            self._kill_pid(session.pid, "garbled session report")  # the snippet wrote to the control socket
            return
        job.turn = report
        # The report comes from the session's own process, which the snippet shares: stop everything
        # in it now, so a thread it left running (or a forged report) cannot run past the turn.
        self._freeze(session, True)
        self._maybe_finish(job)

    def _freeze(self, session: Session, frozen: bool) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                wire.send(self._sock, {"op": "freeze", "pid": session.pid, "frozen": frozen})

    def _end_session(self, session: Session, reason: str) -> None:
        """Forget the session and make its child exit (closing the control socket is its signal)."""
        assert self._sel is not None
        if self._sessions.get(session.sid) is session:
            del self._sessions[session.sid]
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(session.ctrl)
        session.ctrl.close()
        self._kill_pid(session.pid, reason)
        with self._lock:
            self._pending.extendleft(reversed(session.queue))  # they restart on a fresh session
        session.queue.clear()

    def _fail_sessions(self, reason: str) -> None:
        for session in list(self._sessions.values()):
            if session.busy is not None:
                self._force_finish(session.busy, f"r1ci sandbox: {reason}")
            self._end_session(session, reason)

    # --------------------------------------------------------------------------------------- events

    def _on_server(self) -> None:
        assert self._sock is not None
        while True:
            try:
                got = wire.recv(self._sock, wait=False)
            except BlockingIOError:
                return
            except OSError:
                got = None
            if got is None:
                self._server_died()
                return
            msg, fds = got
            try:
                op = msg.get("op")
                if op == "spare" and fds:
                    self._spare_keepers[int(msg["pid"])] = int(msg.get("keeper", 0))
                    self._spares.append((int(msg["pid"]), socket.socket(fileno=fds[0])))
                    self._spare_dirs[int(msg["pid"])] = msg.get("workdir")
                    fds = fds[1:]
                if op == "exit":
                    self._on_exit(msg)
                elif op == "spare_failed":
                    self._spare_failed(str(msg.get("error")))
            except (KeyError, TypeError, ValueError, AttributeError):
                log.exception("r1ci sandbox: ignored a malformed fork-server message %r", msg)
            finally:
                for fd in fds:
                    os.close(fd)

    def _on_exit(self, msg: dict[str, Any]) -> None:
        pid = int(msg["pid"])
        owner = self._by_pid.pop(pid, None)
        if owner is None:  # an offered spare died unused (e.g. its set-up failed)
            for i, (spare_pid, sock) in enumerate(self._spares):
                if spare_pid == pid:
                    del self._spares[i]
                    self._spare_dirs.pop(pid, None)
                    self._spare_keepers.pop(pid, None)
                    sock.close()
                    break
            self._spare_deaths += 1
            if self._spare_deaths >= _MAX_SPARE_DEATHS:
                self._spare_deaths = 0
                self._spare_failed("sandbox children keep dying during set-up (their error is on stderr)")
            return
        self._spare_deaths = 0
        if isinstance(owner, Session):
            if self._sessions.get(owner.sid) is owner:
                self._end_session(owner, "exited")
            job = owner.busy
            if job is not None and not job.future.done():
                job.exit = msg
                job.turn = None
                self._maybe_finish(job)
            return
        owner.exit = msg
        if self._running.pop(owner.id, None) is not None:
            self._busy -= 1
        self._maybe_finish(owner)

    def _spare_failed(self, error: str) -> None:
        log.warning("r1ci sandbox: %s", error)
        if self._spares:
            return
        with self._lock:
            job = self._pending.popleft() if self._pending else None
        if job is not None and not job.future.done():
            job.future.set_result(error_result(error))

    def _server_died(self) -> None:
        log.error("r1ci sandbox: the fork server died; restarting it")
        assert self._sel is not None and self._sock is not None
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(self._sock)
        self._sock.close()
        self._sock = None
        if self._server is not None:
            self._server.reap(timeout_s=5)
            self._server = None
        self._drop_spares()
        for job in list(self._running.values()):
            self._force_finish(job, "r1ci sandbox: the fork server died during this execution")
        self._fail_sessions("the fork server died")
        self._by_pid.clear()
        if not self._closing:
            try:
                self._spawn_server()
            except BaseException as exc:
                self._startup_error = exc
                self._closing = True

    def _on_pipe(self, fd: int, job: Job) -> None:
        name = job.fds.get(fd)
        if name is None:
            return
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_fd(job, fd)
            self._maybe_finish(job)
            return
        (job.out if name == "out" else job.err).write(data)
        if job.out.dropped + job.err.dropped > job.limits.kill_output_bytes and not job.flood_killed:
            job.flood_killed = True
            self._kill_job(job, "output")

    def _kill_job(self, job: Job, reason: str) -> None:
        if job.session_id is not None:
            session = self._sessions.get(job.session_id)
            if session is not None and session.busy is job:
                self._kill_pid(session.pid, reason)
        elif job.pid is not None and job.exit is None:
            self._kill_pid(job.pid, reason)

    def _kill_pid(self, pid: int, reason: str) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                wire.send(self._sock, {"op": "kill", "pid": pid, "reason": reason})

    def _timers(self) -> None:
        now = time.monotonic()
        for job in self._active_jobs():
            if job.future.done():
                if job.exit is None and now >= job.deadline + _BACKSTOP_S:
                    self._retire(job)  # answered early; the server never reported its exit
            elif job.grace_until is not None and now >= job.grace_until:
                self._finish(job)  # a leftover process kept the pipes open: stop waiting for it
            elif job.session_id is not None and job.exit is None and job.turn is None and now >= job.deadline:
                self._kill_job(job, "timeout")  # session turns are timed here; one-shots by the server
                job.deadline = now + _BACKSTOP_S
            elif job.session_id is None and job.exit is None and now >= job.deadline + _BACKSTOP_S:
                self._kill_job(job, "timeout")
                self._force_finish(job, "r1ci sandbox: the fork server never reported this child")
        for session in list(self._sessions.values()):
            if session.busy is None and not session.queue and now - session.last_used > self.session_idle_s:
                self._end_session(session, "idle")

    # ------------------------------------------------------------------------------------- finishing

    def _close_fd(self, job: Job, fd: int) -> None:
        assert self._sel is not None
        job.fds.pop(fd, None)
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(fd)
        with contextlib.suppress(OSError):
            os.close(fd)

    def _maybe_finish(self, job: Job) -> None:
        if job.future.done():
            return
        if job.exit is None and job.turn is None:
            return
        if not job.fds:
            self._finish(job)
        elif job.grace_until is None:
            job.grace_until = time.monotonic() + _EXIT_GRACE_S

    def _retire(self, job: Job) -> None:
        """The job no longer occupies a worker: its process is gone (or given up on)."""
        for fd in list(job.fds):
            self._close_fd(job, fd)
        if job.session_id is None:
            if self._running.pop(job.id, None) is not None:
                self._busy -= 1
                if job.pid is not None:
                    self._by_pid.pop(job.pid, None)
            return
        session = self._sessions.get(job.session_id)
        if session is not None and session.busy is job:
            session.busy = None
            session.last_used = time.monotonic()
            self._busy -= 1
        elif job.started and not job.retired:
            self._busy -= 1  # its session already ended (died, killed or timed out)
        job.retired = True

    def _finish(self, job: Job) -> None:
        if job.future.done():
            return
        for fd in list(job.fds):
            self._close_fd(job, fd)
        if job.session_id is not None or job.exit is not None:
            self._retire(job)
        if job.exit is not None and "error" in job.exit:
            job.future.set_result(error_result(job.exit["error"]))
            return
        job.future.set_result(result_of(job))

    def _force_finish(self, job: Job | None, note: str) -> None:
        if job is None:
            return
        self._retire(job)
        if job.future.done():
            return
        job.future.set_result(killed_result(job, note))


def _warn_missing_layers(layers: Layers, warnings: list[str]) -> None:
    """Warn once per process and layer, loudly: a missing layer weakens what the sandbox promises."""
    for name, reason in layers.missing.items():
        if name in _warned_layers:
            continue
        _warned_layers.add(name)
        log.warning(
            "r1ci sandbox: isolation layer %r is OFF (%s). Still enforced: rlimits, the audit guard, "
            "process cleanup and the other layers; lost: %s.",
            name,
            reason,
            LAYER_HELP[name],
        )
    for text in warnings:
        if text not in _warned_layers:
            _warned_layers.add(text)
            log.warning("r1ci sandbox: %s", text)
