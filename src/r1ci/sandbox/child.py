"""What runs inside a forked child: lock it down, then run the snippet like `python -c` would.

Order matters: everything that needs root (namespaces, mounts, rlimits above the current ones)
happens first, then the uid drop (which also clears every capability), then the audit guard, then
the snippet. The child never returns into the fork server's loop: every path ends in os._exit.

Children are forked ahead of need ("spares", see `spare_main`). With its request, a one-shot child
gets fds [code, stdout, stderr, meta(, stdin)]; a session child gets [control]
and then receive [code, stdout, stderr(, stdin)] per turn over the control socket, keeping their
globals between turns. `meta` carries one JSON line back: did the snippet die of MemoryError.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import fcntl
import io
import json
import linecache
import math
import os
import resource
import signal
import socket
import sys
import threading
import traceback
import types
from collections.abc import Callable
from typing import Any, NoReturn

from r1ci.sandbox import guard, isolation, linux, wire
from r1ci.sandbox.rlimits import apply_rlimits, current_address_space

FILENAME = "<code>"
SETUP_FAILED = 70  # like EX_SOFTWARE: the sandbox, not the snippet, failed
_HIGH_FD = 100


def spare_main(
    spare_fd: int,
    *,
    layers: isolation.Layers,
    uid: int | None,
    workdir: str | None,
    disk_mb: int,
    release_server: Callable[[], None],
) -> NoReturn:
    """Entry point of every forked child. Never returns.

    The child is forked *before* a request exists (a "spare"): it does the request-independent set-up
    as root (own session, namespaces, tmpfs workdir) and then blocks on `spare_fd` until the fork
    server hands it a request. Forking and mounting are thus off the latency path of an execution.
    """
    code = SETUP_FAILED
    try:
        workdir = _prepare_spare(
            spare_fd, layers=layers, uid=uid, workdir=workdir, disk_mb=disk_mb, release=release_server
        )
        base_address_space = current_address_space()
        extra = ("/dev/shm",) if layers.mount_namespace else ()
        hook = guard.make_hook(workdir, deny_processes=not layers.pid_namespace, extra_writable=extra)
        spare = socket.socket(fileno=3)
        got = wire.recv(spare)
        spare.detach()  # fd 3 is reused below; the object must not close it when collected
        if got is None:  # the server shut down without needing this spare
            code = 0
        else:
            msg, fds = got
            code = _serve_request(
                msg,
                fds,
                layers=layers,
                uid=uid,
                workdir=workdir,
                disk_mb=disk_mb,
                base_address_space=base_address_space,
                hook=hook,
            )
    except BaseException as exc:  # the sandbox's own failure: say so where the executor will look
        _report_setup_failure(f"r1ci sandbox: child setup failed: {type(exc).__name__}: {exc}")
    finally:
        os._exit(code)


def _report_setup_failure(text: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, (text + "\n").encode())
    with contextlib.suppress(OSError, ValueError):  # a session's stderr is not wired yet: use its socket
        ctrl = socket.socket(fileno=3)
        try:
            if ctrl.type == socket.SOCK_SEQPACKET:
                ctrl.send(json.dumps({"setup_error": text}).encode())
        finally:
            ctrl.detach()


def _prepare_spare(
    spare_fd: int,
    *,
    layers: isolation.Layers,
    uid: int | None,
    workdir: str | None,
    disk_mb: int,
    release: Callable[[], None],
) -> str:
    _reset_signals()
    release()
    os.setsid()
    atexit._clear()  # the fork server's exit handlers are not the snippet's
    with contextlib.suppress(OSError):
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)  # a spare dies with its server
    os.dup2(spare_fd, 3)
    # stderr stays the server's until a request arrives: set-up failures then reach the caller's terminal.
    _install_stdio(None, 2, None)
    linux.close_fds_from(4)
    if layers.mount_namespace:
        workdir = isolation.setup_child_mounts(uid or 0, disk_mb, new_proc=layers.pid_namespace)
    assert workdir is not None
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(isolation.child_environment(workdir))
    sys.dont_write_bytecode = True
    sys.argv = ["-c"]
    sys.path.insert(0, "")
    # Dry run of the request path: the pages it touches get copied now, not while a caller waits.
    run_snippet("pass", {"__builtins__": builtins})
    json.loads('{"warm": [1, 2.0, "x", true, null]}')
    return workdir


def _serve_request(
    msg: dict[str, Any],
    fds: list[int],
    *,
    layers: isolation.Layers,
    uid: int | None,
    workdir: str,
    disk_mb: int,
    base_address_space: int,
    hook: Callable[[str, tuple[Any, ...]], None],
) -> int:
    spare_cpu = _cpu_seconds(resource.getrusage(resource.RUSAGE_SELF))
    session = msg["mode"] == "session"
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, _HIGH_FD) for fd in fds]
    code_text = ""
    if session:
        os.dup2(high[0], 3)  # the control socket replaces the spare socket
    else:
        code_text = wire.read_fd(high[0]).decode("utf-8", errors="surrogateescape")
        _install_stdio(high[1], high[2], high[4] if len(high) > 4 else None)
        os.dup2(high[3], 3)  # meta pipe
    linux.close_fds_from(4)

    limits = msg["limits"]
    if layers.mount_namespace and int(limits["disk_mb"]) != disk_mb:
        isolation.resize_workdir(workdir, int(limits["disk_mb"]))
    # RLIMIT_CPU is cumulative per process: a session re-arms its soft limit at each turn instead.
    apply_rlimits(
        limits, limit_processes=uid is not None, base_address_space=base_address_space, limit_cpu=not session
    )
    if uid is not None:
        isolation.drop_privileges(uid)
    with contextlib.suppress(OSError):  # again: the uid change cleared it
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    sys.addaudithook(hook)
    namespace = _fresh_main_namespace()
    if session:
        return _session_loop(socket.socket(fileno=3), namespace, limits, pid_one=layers.pid_namespace)
    outcome = run_snippet(code_text, namespace)
    exit_code = _finish(outcome["exit_code"])
    if layers.pid_namespace:
        _kill_leftovers()  # so the report below is final: nothing of the snippet outlives it
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.close(fd)
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {
        **outcome,
        "exit_code": exit_code,
        # With a pid namespace the executor may answer now, before this process finishes exiting.
        "final": layers.pid_namespace,
        "cpu_s": _cpu_seconds(own) - spare_cpu + _cpu_seconds(kids),
        "max_rss_kb": max(own.ru_maxrss, kids.ru_maxrss),
    }
    _write_meta(3, report)
    return exit_code


def _cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _reset_signals() -> None:
    signal.set_wakeup_fd(-1)
    for sig in (
        signal.SIGCHLD,
        signal.SIGTERM,
        signal.SIGHUP,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGALRM,
    ):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as in any Python process: BrokenPipeError instead
    # Writes past RLIMIT_FSIZE then fail with EFBIG ("File too large") instead of killing silently.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _install_stdio(out_fd: int | None, err_fd: int | None, in_fd: int | None) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(in_fd if in_fd is not None else devnull, 0)
    os.dup2(out_fd if out_fd is not None else devnull, 1)
    os.dup2(err_fd if err_fd is not None else devnull, 2)
    os.close(devnull)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8", errors="replace"
    )
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8", errors="backslashreplace"
    )
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )


def _fresh_main_namespace() -> dict[str, Any]:
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module  # so pickling user-defined functions/classes finds them
    return module.__dict__


class CPUTimeLimitExceeded(BaseException):
    """Raised in the snippet at RLIMIT_CPU's soft limit (a BaseException: `except Exception` won't eat it)."""


CPUTimeLimitExceeded.__module__ = "builtins"  # tracebacks then read "CPUTimeLimitExceeded: ..."


def _on_sigxcpu(_signum: int, _frame: Any) -> None:
    # The kernel's default for SIGXCPU is to kill, but not when the child is pid 1 of its namespace
    # (init ignores default-action signals). Raising lets the snippet end with a clear traceback; if
    # it is stuck in C code, the hard limit one second later kills it outright.
    raise CPUTimeLimitExceeded("CPU time limit exceeded")


def run_snippet(code: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """exec the snippet in `namespace` -> {"exit_code" as `python -c` gives it, "memory_error", "cpu_exceeded"}."""
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    outcome = {"exit_code": 0, "memory_error": False, "cpu_exceeded": False}
    try:
        exec(compile(code, FILENAME, "exec", dont_inherit=True), namespace)
    except SystemExit as exc:
        outcome["exit_code"] = _system_exit_code(exc)
    except BaseException as exc:
        _print_exception(exc)
        outcome.update(
            exit_code=1,
            memory_error=isinstance(exc, MemoryError),
            cpu_exceeded=isinstance(exc, CPUTimeLimitExceeded),
        )
    return outcome


def _system_exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    with contextlib.suppress(Exception):
        print(exc.code, file=sys.stderr)
    return 1


def _print_exception(exc: BaseException) -> None:
    """The traceback without the sandbox's own frames, so it reads like the snippet ran on its own."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != FILENAME:
        tb = tb.tb_next
    with contextlib.suppress(Exception):
        report = traceback.TracebackException(type(exc), exc, tb, compact=True)
        # The guard and the SIGXCPU handler raise from the sandbox's own code: those frames are noise.
        ours = (guard.__file__, __file__)
        report.stack = traceback.StackSummary.from_list([f for f in report.stack if f.filename not in ours])
        sys.stderr.write("".join(report.format()))


def _finish(exit_code: int) -> int:
    """Interpreter shutdown as `python -c` does it: join threads, run atexit, flush the streams."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    except BaseException:
        pass
    # The snippet may have replaced sys.stdout: flush that and the real streams underneath.
    for stream in dict.fromkeys((sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            if exit_code == 0:
                exit_code = 120  # what CPython returns when flushing stdout fails at exit
    return exit_code


def _write_meta(fd: int, data: dict[str, Any]) -> None:
    try:
        os.write(fd, json.dumps(data).encode())
        os.close(fd)
    except OSError:
        pass


def _session_loop(
    ctrl: socket.socket, namespace: dict[str, Any], limits: dict[str, Any], *, pid_one: bool
) -> int:
    """Serve turns until the executor closes the control socket; the globals persist between turns."""
    while True:
        try:
            got = wire.recv(ctrl)
        except OSError:
            return 0
        if got is None:
            return 0
        msg, fds = got
        code = wire.read_fd(fds[0]).decode("utf-8", errors="surrogateescape")
        os.close(fds[0])
        _install_stdio(fds[1], fds[2], fds[3] if len(fds) > 3 else None)
        for fd in fds[1:]:
            os.close(fd)
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu_budget = math.ceil(used.ru_utime + used.ru_stime) + int(msg.get("cpu_s", limits["cpu_s"]))
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        if hard != resource.RLIM_INFINITY:
            cpu_budget = min(cpu_budget, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_budget, hard))
        outcome = run_snippet(code, namespace)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        _install_stdio(None, None, None)  # closes this turn's pipes: the executor sees EOF
        if pid_one:
            _kill_leftovers()
        ctrl.send(json.dumps(outcome).encode())


def _kill_leftovers() -> None:
    """As pid 1 of the namespace, kill(-1) reaches every other process in it: all the snippet started."""
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGKILL)
    while True:  # reap them (and any orphan re-parented to us): they are all dying
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
