"""What runs inside the sandbox's processes: the slot keeper, and the runner that executes a snippet.

Every pool slot has a *keeper*, forked once by the fork server: pid 1 of its own pid namespace, inside
the slot's cgroup, pivoted into the minimal root. It stays root and the snippet can neither signal,
trace nor write to it. For each execution the keeper enters fresh mount, IPC and network namespaces
(new tmpfs /tmp and /dev/shm, a new devpts), resets the slot's cgroup counters and forks the *runner*
(pid 2, 3, ...), which waits for the request, applies the per-request limits, drops to the slot's uid,
installs seccomp and the audit guard and runs the snippet. When the runner ends, the keeper takes its
wait status from the kernel, kills whatever the snippet left behind, reads the cgroup's counters and
reports to the fork server over a socket only the keeper holds. The runner's one channel to it is a
one-byte hint ("died of MemoryError / CPUTimeLimitExceeded") that can only relabel a failure.

Keeping the keeper between executions is what makes the layers cheap: entering a cgroup (an RCU grace
period for the whole machine in v1), creating a pid namespace and pivoting happen once per slot.
Without a pid namespace (no way to kill everything the snippet started) a keeper serves one
execution and exits, and the fork server's process-group/uid sweep cleans up.

Order in the runner matters: everything that needs root (rlimits, cgroup limits) happens first, then
the uid drop (which also clears every capability), then seccomp and the audit guard, then the snippet.
No process returns into the fork server's loop: every path ends in os._exit.

A one-shot runner gets fds [code, stdout, stderr(, stdin)] with its request; a session runner gets
[control] and then [code, stdout, stderr(, stdin)] per turn over the control socket, keeping its
globals between turns (the executor freezes its cgroup between turns).
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
import random
import resource
import signal
import socket
import sys
import threading
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from r1ci.sandbox import guard, isolation, linux, wire
from r1ci.sandbox.rlimits import apply_rlimits, current_address_space

FILENAME = "<code>"
SETUP_FAILED = 70  # like EX_SOFTWARE: the sandbox, not the snippet, failed
_HIGH_FD = 100
CMD_FD = REQUEST_FD = 3  # the keeper's socket to the server; in the runner, the request socket
HINT_FD = 4
NOTIF_FD = 5  # the runner hands its seccomp exit listener to the keeper through this socket
_LIMIT_FDS, _COUNTER_FDS = 50, 80  # where the keeper keeps the cgroup files it opened
HINT_MEMORY, HINT_CPU = b"M", b"C"


@dataclass
class ChildPlan:
    """What the fork server decided for one slot before forking its keeper (plain data: crosses fork())."""

    layers: isolation.Layers
    uid: int | None
    workdir: str | None
    disk_mb: int
    root: str | None = None
    cgroup_version: int = 0
    cgroup_join: list[str] = field(default_factory=list)
    cgroup_limits: dict[str, str] = field(default_factory=dict)
    cgroup_counters: dict[str, str] = field(default_factory=dict)
    default_limits: dict[str, Any] = field(default_factory=dict)  # the executor's, applied ahead of requests
    expose: tuple[str, ...] = ()  # runtime paths under /tmp or /dev/shm, bound back per execution


def keeper_main(cmd_fd: int, plan: ChildPlan, release_server: Callable[[], None]) -> NoReturn:
    """Entry point of a slot's keeper. Serves "arm" commands until the server closes its socket."""
    code = SETUP_FAILED
    try:
        counters, limit_fds = _prepare_keeper(cmd_fd, plan, release_server)
        cmd = socket.socket(fileno=CMD_FD)
        while True:
            got = wire.recv(cmd)
            if got is None:
                code = 0
                break
            msg, fds = got
            _run_one(cmd, msg, fds, plan, counters, limit_fds)
            if not plan.layers.pid_namespace:
                code = 0  # nothing could kill what the snippet left: let the server sweep this slot
                break
    except BaseException as exc:  # the sandbox's own failure: say so where the executor will look
        _report_setup_failure(f"r1ci sandbox: child setup failed: {type(exc).__name__}: {exc}")
    finally:
        os._exit(code)


def _prepare_keeper(cmd_fd: int, plan: ChildPlan, release: Callable[[], None]) -> tuple[Any, dict[str, int]]:
    """Once per slot, as root: cgroup, session, descriptors, mount namespace and minimal root."""
    _reset_signals()
    release()
    for path in plan.cgroup_join:  # first: everything from here on is charged to the slot
        with open(path, "w") as f:
            f.write("0")
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
        f.write("-1000")  # the OOM killer picks the snippet's processes, never the keeper
    os.setsid()
    atexit._clear()  # the fork server's exit handlers are not the snippet's
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the keeper's select through the wakeup fd
    with contextlib.suppress(OSError):
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)  # a keeper dies with its server
    os.dup2(cmd_fd, CMD_FD)
    # stderr stays the server's until a request arrives: set-up failures then reach the caller's terminal.
    _install_stdio(None, 2, None)
    linux.close_fds_from(CMD_FD + 1)
    counters = None
    limit_fds: dict[str, int] = {}
    if plan.cgroup_version:
        from r1ci.sandbox.cgroups import Counters

        counters = Counters(plan.cgroup_counters, plan.cgroup_version)
        counters.fds = {key: _move_high(fd, _COUNTER_FDS) for key, fd in counters.fds.items()}
        for key, path in plan.cgroup_limits.items():  # opened now: /sys is not in the minimal root
            with contextlib.suppress(OSError):
                limit_fds[key] = _move_high(os.open(path, os.O_RDWR | os.O_CLOEXEC), _LIMIT_FDS)
    if plan.layers.mount_namespace:
        isolation.setup_keeper_mounts(new_proc=plan.layers.pid_namespace, root=plan.root)
    sys.dont_write_bytecode = True
    sys.argv = ["-c"]
    sys.path.insert(0, "")
    return counters, limit_fds


def _move_high(fd: int, low: int) -> int:
    """Renumber `fd` to >= low, clear of the fixed low descriptors the runner sets up."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)
    os.close(fd)
    return new


def _run_one(
    cmd: socket.socket,
    msg: dict[str, Any],
    fds: list[int],
    plan: ChildPlan,
    counters: Any,
    limit_fds: dict[str, int],
) -> None:
    """One execution: fresh namespaces, fork the runner, wait for it, clean up, report to the server."""
    layers = plan.layers
    if layers.mount_namespace:
        flags = (linux.CLONE_NEWIPC if layers.ipc_namespace else 0) | (
            linux.CLONE_NEWNET if layers.network_namespace else 0
        )
        workdir = isolation.fresh_execution_mounts(
            plan.uid or 0,
            plan.disk_mb,
            private_pts=plan.root is not None,
            unshare_flags=flags,
            expose=plan.expose,
        )
        if flags & linux.CLONE_NEWIPC and layers.pid_namespace:
            isolation.limit_ipc("/proc", plan.disk_mb)
    else:
        workdir = str(msg["workdir"])
    plan.workdir = workdir
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(isolation.child_environment(workdir))
    if counters is not None:
        counters.reset()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    hint_r, hint_w = os.pipe()
    notif_k, notif_r = wire.socketpair() if layers.seccomp else (None, None)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    runner = os.fork()
    if runner == 0:
        code = SETUP_FAILED
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            ends = [
                fds[0],
                hint_w,
                notif_r.fileno() if notif_r is not None else os.open(os.devnull, os.O_RDONLY),
            ]
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 20) for fd in ends]  # clear of 3-5 before placing them
            for target, fd in zip((REQUEST_FD, HINT_FD, NOTIF_FD), high, strict=True):
                os.dup2(fd, target)  # fd 3 replaces the keeper's socket: the runner never holds it
            os.closerange(NOTIF_FD + 1, _LIMIT_FDS)
            for fd in counters.fds.values() if counters is not None else ():
                os.close(fd)
            code = _runner_main(plan, limit_fds)
        except BaseException as exc:
            _report_setup_failure(f"r1ci sandbox: child setup failed: {type(exc).__name__}: {exc}")
        finally:
            os._exit(code)
    os.close(hint_w)
    for fd in fds:
        os.close(fd)
    if notif_r is not None:
        notif_r.close()
    status, early = _wait_runner(runner, wake_r, notif_k)
    signal.set_wakeup_fd(-1)
    os.close(wake_r)
    os.close(wake_w)

    def report(wait_status: int | None) -> None:
        os.set_blocking(hint_r, False)
        try:
            hint = os.read(hint_r, 1)
        except OSError:
            hint = b""
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        data: dict[str, Any] = {
            "op": "done",
            "wait_status": wait_status,
            "hint": hint.decode("ascii", "replace"),
            "cpu_s": _cpu_seconds(after) - _cpu_seconds(before),
            "max_rss_kb": after.ru_maxrss,
        }
        if counters is not None:
            data.update(counters.read())
        wire.send(cmd, data)

    if early is not None:
        # The runner is past exit_group(code): report now, while the kernel still tears it down.
        if layers.pid_namespace:
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)
        report(early << 8)
        status = _reap_runner(runner)
    if layers.pid_namespace:
        _kill_leftovers()
    if early is None:
        report(status)
    os.close(hint_r)


def _wait_runner(runner: int, wake_r: int, notif: socket.socket | None) -> tuple[int | None, int | None]:
    """Until the runner calls exit_group (-> (None, its code)) or is reaped (-> (wait status, None)).

    Orphans of the snippet are reaped on the way (as pid 1 they are ours). The exit listener, once the
    runner hands it over, also sees exit_group calls of the snippet's children: they are let through.
    """
    import select

    listener: int | None = None
    try:
        while True:
            watch = [wake_r] + ([listener] if listener is not None else [notif.fileno()] if notif else [])
            try:
                ready, _, _ = select.select(watch, [], [])
            except InterruptedError:
                continue
            if notif is not None and listener is None and notif.fileno() in ready:
                try:
                    _, got, _, _ = socket.recv_fds(notif, 16, 1)
                except OSError:
                    got = []
                if got:
                    listener = got[0]
                else:  # the runner closed it without a listener (seccomp could not give one)
                    notif.close()
                    notif = None
            if listener is not None and listener in ready:
                from r1ci.sandbox import seccomp

                try:
                    tid, code = seccomp.next_exit(listener)
                except OSError:  # every filtered process is gone: only the wait status is left
                    os.close(listener)
                    listener = None
                    notif = None
                    continue
                if _tgid(tid) == runner:
                    return None, code
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 4096)
            while True:
                try:
                    pid, wstatus = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    return None, None
                if pid == 0:
                    break
                if pid == runner:
                    return wstatus, None
    finally:
        if listener is not None:
            os.close(listener)
        if notif is not None:
            notif.close()


def _reap_runner(runner: int) -> int | None:
    while True:
        try:
            pid, wstatus = os.waitpid(-1, 0)
        except ChildProcessError:
            return None
        except InterruptedError:
            continue
        if pid == runner:
            return wstatus


def _tgid(tid: int) -> int:
    try:
        with open(f"/proc/{tid}/status") as f:
            for line in f:
                if line.startswith("Tgid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return -1


def _report_setup_failure(text: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, (text + "\n").encode())
    with contextlib.suppress(OSError, ValueError):  # to the server (keeper) or a session's executor (runner)
        ctrl = socket.socket(fileno=CMD_FD)
        try:
            if ctrl.type == socket.SOCK_SEQPACKET:
                ctrl.send(json.dumps({"setup_error": text}).encode())
        finally:
            ctrl.detach()


def _runner_main(plan: ChildPlan, limit_fds: dict[str, int]) -> int:
    """The runner: wait for the request, then run it. -> the exit code (as `python -c` would give it)."""
    with contextlib.suppress(OSError):
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with its keeper
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
        f.write("0")
    # Dry run of the request path: the pages it touches get copied now, not while a caller waits.
    run_snippet("pass", {"__builtins__": builtins})
    json.loads('{"warm": [1, 2.0, "x", true, null]}')
    layers = plan.layers
    assert plan.workdir is not None
    base_address_space = current_address_space()
    extra = ("/dev/shm",) if layers.mount_namespace else ()
    hook = guard.make_hook(plan.workdir, deny_processes=not layers.pid_namespace, extra_writable=extra)
    # Everything that does not depend on the request happens before it, off its latency path: the
    # executor's default cgroup limits (rewritten only if a request differs), the uid drop (the cgroup
    # files stay writable through the descriptors opened as root), and the seccomp filter (which the
    # kernel compiles). Nothing the runner does from here on needs root or a filtered syscall.
    written = (
        _write_cgroup_limits(limit_fds, plan.default_limits, plan.cgroup_version)
        if plan.default_limits
        else None
    )
    if plan.uid is not None:
        isolation.drop_privileges(plan.uid)  # also sets no_new_privs
        with contextlib.suppress(OSError):  # again: the uid change cleared it
            linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    if layers.seccomp:
        from r1ci.sandbox import seccomp

        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
        _install_seccomp(seccomp)
    with contextlib.suppress(OSError):
        os.close(NOTIF_FD)
    spare = socket.socket(fileno=REQUEST_FD)
    got = wire.recv(spare)
    spare.detach()  # fd 3 is reused below; the object must not close it when collected
    if got is None:  # the server shut down without needing this spare
        return 0
    msg, fds = got
    return _serve_request(
        msg, fds, plan, limit_fds, base_address_space=base_address_space, hook=hook, written=written
    )


def _write_cgroup_limits(
    limit_fds: dict[str, int], limits: dict[str, Any], version: int
) -> tuple[Any, ...] | None:
    """Write the execution's cgroup limits -> what was written (None without the cgroup layer)."""
    if not limit_fds:
        return None
    from r1ci.sandbox.cgroups import write_limits

    key = (int(limits["memory_bytes"]), int(limits["nproc"]), float(limits.get("cpus", 1.0)))
    write_limits(limit_fds, memory_bytes=key[0], pids=key[1], cpus=key[2], version=version)
    return key


def _serve_request(
    msg: dict[str, Any],
    fds: list[int],
    plan: ChildPlan,
    limit_fds: dict[str, int],
    *,
    base_address_space: int,
    hook: Callable[[str, tuple[Any, ...]], None],
    written: tuple[Any, ...] | None = None,
) -> int:
    layers, uid = plan.layers, plan.uid
    session = msg["mode"] == "session"
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, _HIGH_FD) for fd in fds]
    code_text = ""
    if session:
        os.dup2(high[0], REQUEST_FD)  # the control socket replaces the spare socket
    else:
        code_text = wire.read_fd(high[0]).decode("utf-8", errors="surrogateescape")
        _install_stdio(high[1], high[2], high[3] if len(high) > 3 else None)
        os.close(REQUEST_FD)
    hint_fd = HINT_FD

    limits = msg["limits"]
    wanted = (int(limits["memory_bytes"]), int(limits["nproc"]), float(limits.get("cpus", 1.0)))
    if limit_fds and wanted != written:
        _write_cgroup_limits(limit_fds, limits, plan.cgroup_version)
    # Nothing but stdio (and a session's control socket) and the hint pipe stays open for the snippet,
    # the cgroup files included.
    linux.close_fds_from(HINT_FD + 1)
    # RLIMIT_CPU is cumulative per process: a session re-arms its soft limit at each turn instead.
    apply_rlimits(
        limits, limit_processes=uid is not None, base_address_space=base_address_space, limit_cpu=not session
    )
    _fresh_seeds()

    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    sys.addaudithook(hook)
    namespace = _fresh_main_namespace()
    if session:
        return _session_loop(
            socket.socket(fileno=REQUEST_FD), namespace, limits, hint_fd, pid_ns=layers.pid_namespace
        )
    outcome = run_snippet(code_text, namespace)
    exit_code = _finish(outcome["exit_code"])
    _write_hint(hint_fd, outcome)
    for fd in (0, 1, 2):  # EOF for the executor now, not after the kernel has torn this process down
        with contextlib.suppress(OSError):
            os.close(fd)
    return exit_code


def _install_seccomp(seccomp: Any) -> None:
    """The filter, with exit_group reported to the keeper if the kernel can (else the plain one)."""
    try:
        listener = seccomp.install_with_exit_listener()
    except OSError:
        seccomp.install()
        return
    with contextlib.suppress(OSError):
        socket.send_fds(socket.socket(fileno=os.dup(NOTIF_FD)), [b"l"], [listener])
    os.close(listener)


def _write_hint(fd: int, outcome: dict[str, Any]) -> None:
    hint = HINT_MEMORY if outcome.get("memory_error") else HINT_CPU if outcome.get("cpu_exceeded") else b""
    with contextlib.suppress(OSError):
        if hint:
            os.write(fd, hint)


def _fresh_seeds() -> None:
    """Every execution draws new seeds: a forked copy would otherwise repeat the server's RNG streams."""
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        with contextlib.suppress(Exception):
            numpy.random.seed(int.from_bytes(os.urandom(4), "little"))


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


def _session_loop(
    ctrl: socket.socket, namespace: dict[str, Any], limits: dict[str, Any], hint_fd: int, *, pid_ns: bool
) -> int:
    """Serve turns until the executor closes the control socket; the globals persist between turns.

    The end-of-turn report comes from this process, which the snippet shares: the executor therefore
    freezes the session's cgroup as soon as a turn reports, so nothing of it runs past its turn.
    """
    os.close(hint_fd)
    while True:
        try:
            got = wire.recv(ctrl)
        except (OSError, ValueError):
            return 0
        if got is None:
            return 0
        msg, fds = got
        if len(fds) < 3:
            for fd in fds:
                os.close(fd)
            continue
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
        if pid_ns:
            _kill_leftovers()  # processes a turn started end with it (threads are frozen instead)
        ctrl.send(json.dumps(outcome).encode())


def _kill_leftovers() -> None:
    """kill(-1) reaches every process of the namespace but the caller and pid 1: all the snippet started."""
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGKILL)
    while True:  # reap them (and any orphan re-parented to us): they are all dying
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
