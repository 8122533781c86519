"""The in-process guard: a `sys.addaudithook` policy installed in every child before the snippet runs.

It is the layer that exists everywhere (no privileges needed) and it turns accidents into clear Python
errors: writing outside the working directory, opening a network socket, and — only where the kernel
cannot contain processes (no pid namespace) — forking or signalling other processes. It is a tripwire,
not a wall: code using ctypes calls libc without raising audit events. The kernel layers
(namespaces, unprivileged uid, rlimits) are what hold against that; see `r1ci.sandbox` for the list.
Audit hooks cannot be removed once added, so the snippet cannot switch the guard off from Python.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Callable
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_WRITE_MODE_CHARS = frozenset("wax+")
_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/full", "/dev/stdout", "/dev/stderr", "/dev/tty"})
_FD_DIRS = ("/dev/fd/", "/proc/self/fd/")
_PROC_SECRETS = re.compile(r"^/proc/(\d+)/(environ|mem|maps|auxv)$")

# event -> positions of the path arguments that the event would create, modify or delete
_PATH_EVENTS: dict[str, tuple[int, ...]] = {
    "os.mkdir": (0,),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.rename": (0, 1),
    "os.link": (1,),
    "os.symlink": (1,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.rmtree": (0,),
}
_NAME_LOOKUPS = frozenset(
    {
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
        "socket.sethostname",
    }
)
_SOCKET_ADDR_EVENTS = frozenset({"socket.connect", "socket.bind", "socket.sendto"})
_PROCESS_EVENTS = frozenset(
    {
        "os.fork",
        "os.forkpty",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "subprocess.Popen",
        "pty.spawn",
    }
)


class SandboxViolation(PermissionError):
    """Raised inside the snippet when the guard refuses an operation."""


SandboxViolation.__module__ = "builtins"  # tracebacks then read "SandboxViolation: ..."


def _to_str(path: Any) -> str | None:
    if isinstance(path, int):
        return None  # an already-open descriptor: allowed, its opening was checked
    path = os.fspath(path)
    return os.fsdecode(path) if isinstance(path, bytes) else path


def make_hook(
    workdir: str, *, deny_processes: bool, extra_writable: tuple[str, ...] = ()
) -> Callable[[str, tuple[Any, ...]], None]:
    """Build the audit hook (separate from `install` so tests can exercise the policy in-process)."""
    roots = tuple(os.path.realpath(p) for p in (workdir, *extra_writable))
    root_prefixes = tuple(r.rstrip("/") + "/" for r in roots)
    own_pid = os.getpid()
    watched = frozenset({"open", "socket.__new__", *_PATH_EVENTS, *_NAME_LOOKUPS, *_SOCKET_ADDR_EVENTS})
    if deny_processes:
        watched = watched | _PROCESS_EVENTS | {"os.kill", "os.killpg"}

    def absolute(path: str) -> str:
        if os.path.isabs(path):
            return os.path.normpath(path)
        try:
            return os.path.normpath(os.path.join(os.getcwd(), path))
        except OSError:  # the snippet removed its own cwd: resolve against the workdir instead
            return os.path.normpath(os.path.join(roots[0], path))

    def writable(path: str) -> bool:
        full = absolute(path)
        if full in _DEVICES or full.startswith(_FD_DIRS):
            return True
        real = os.path.realpath(full)
        return real in roots or real.startswith(root_prefixes)

    def deny(what: str, why: str) -> None:
        raise SandboxViolation(f"r1ci sandbox: {what} is not allowed ({why})")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in watched:
            return
        if event == "open":
            path, mode, flags = args
            target = _to_str(path)
            if target is None:
                return
            wants_write = bool((flags or 0) & _WRITE_FLAGS) or bool(mode and _WRITE_MODE_CHARS & set(mode))
            if wants_write and not writable(target):
                deny(f"writing {target!r}", "only the working directory is writable")
            if deny_processes:
                m = _PROC_SECRETS.match(absolute(target))
                if m and int(m.group(1)) != os.getpid():
                    deny(f"reading {target!r}", "another process's memory or environment")
        elif event in _PATH_EVENTS:
            for i in _PATH_EVENTS[event]:
                target = _to_str(args[i]) if i < len(args) else None
                if target is not None and not writable(target):
                    deny(f"{event} on {target!r}", "only the working directory is writable")
        elif event == "socket.__new__":
            family = args[1]
            if family not in (socket.AF_UNIX, -1):
                deny(f"opening a network socket (family {family})", "the sandbox has no network")
        elif event in _SOCKET_ADDR_EVENTS:
            sock, address = args[0], args[1]
            if getattr(sock, "family", None) != socket.AF_UNIX:
                deny(event, "the sandbox has no network")
            if isinstance(address, (str, bytes)) and not str(address).startswith(("\0", "\x00")):
                target = _to_str(address)
                if target and not writable(target):
                    deny(f"{event} to {target!r}", "only sockets inside the working directory")
        elif event in _NAME_LOOKUPS:
            deny(event, "the sandbox has no network")
        elif event in ("os.kill", "os.killpg"):
            pid = args[0]
            if pid not in (0, own_pid, os.getpid()):
                deny(f"signalling pid {pid}", "processes outside the snippet are off limits")
        elif event in _PROCESS_EVENTS:
            deny(event, "no pid namespace here to contain new processes")

    return hook


def install(workdir: str, *, deny_processes: bool, extra_writable: tuple[str, ...] = ()) -> None:
    sys.addaudithook(make_hook(workdir, deny_processes=deny_processes, extra_writable=extra_writable))
