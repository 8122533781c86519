"""Kernel isolation layers: probed once in the fork server, applied per child.

Layers (each optional; the sandbox keeps every one it can get and warns about the others):

- `network_namespace`: the fork server enters an empty network namespace once at startup, so every
  child inherits one with only a down loopback: `connect()` fails even to 127.0.0.1.
- `mount_namespace`: the fork server makes its whole mount tree read-only (recursively) once; each
  child then gets its own mount namespace with a fresh size-capped tmpfs on /tmp (its working
  directory) and /dev/shm, which vanish when the child's namespace dies. The caller's $HOME, and
  directories an unprivileged user could not traverse on the way to the interpreter (e.g. /root for
  a pyenv build), are covered by an empty tmpfs that exposes only the interpreter's directories.
- `pid_namespace`: each child is pid 1 of a new pid namespace, so when it exits or is killed the
  kernel kills every process it started (double forks and daemons included), and it cannot see or
  signal anything outside.
- `unprivileged_uid`: each child drops to its own uid (uid_base + slot), so root's exemptions (from
  RLIMIT_NPROC, file permissions, signalling anyone) no longer apply.

All of these need root (CAP_SYS_ADMIN / CAP_SETUID); without them the rlimits, the audit-hook guard
and the process-group/subreaper cleanup remain.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from r1ci.sandbox import linux

KERNEL_LAYERS: tuple[str, ...] = ("pid_namespace", "mount_namespace", "network_namespace", "unprivileged_uid")
ALWAYS_ON: tuple[str, ...] = ("rlimits", "audit_guard", "process_cleanup")
LAYER_HELP: dict[str, str] = {
    "pid_namespace": "kills every descendant with the snippet; hides and shields other processes",
    "mount_namespace": "read-only filesystem, private tmpfs working directory and /tmp",
    "network_namespace": "no network interface at all (not even loopback)",
    "unprivileged_uid": "runs as a per-slot uid, so process/file/signal permissions apply",
    "rlimits": "address space, CPU seconds, processes, file size, open files",
    "audit_guard": "in-process audit hook: no writes outside the workdir, no sockets",
    "process_cleanup": "wall-clock kill of the process group; subreaper/uid sweep of escaped children",
}
SANDBOX_ENV_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class Layers:
    """Which isolation layers the fork server could turn on, and why the others are off."""

    pid_namespace: bool = False
    mount_namespace: bool = False
    network_namespace: bool = False
    unprivileged_uid: bool = False
    missing: dict[str, str] = field(default_factory=dict)  # layer -> reason it is off

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Layers:
        return cls(**data)

    def active(self) -> list[str]:
        return [name for name in KERNEL_LAYERS if getattr(self, name)] + list(ALWAYS_ON)


# ---------------------------------------------------------------------------------------------- server


def setup_server(disabled: set[str], uid_base: int, hide: tuple[str, ...] = ()) -> tuple[Layers, int | None]:
    """Run once in the fork server before it serves: -> (layers, fd of its own pid namespace or None)."""
    layers = Layers()
    for name in KERNEL_LAYERS:
        if name in disabled:
            layers.missing[name] = "disabled by configuration"
    is_root = os.geteuid() == 0
    with contextlib.suppress(OSError):  # without it, cleanup relies on process groups alone
        linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)

    if "network_namespace" not in disabled:
        _try(layers, "network_namespace", lambda: linux.unshare(linux.CLONE_NEWNET), is_root)
    if "mount_namespace" not in disabled:
        _try(layers, "mount_namespace", lambda: _setup_server_mounts(hide), is_root)
    if "unprivileged_uid" not in disabled:
        _try(layers, "unprivileged_uid", lambda: _probe_in_child(lambda: _drop_privileges(uid_base)), is_root)
    pidns_fd = None
    if "pid_namespace" not in disabled:
        try:
            pidns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            prepare_pid_namespace(pidns_fd)
            try:
                _probe_in_child(_assert_pid_one)
            finally:
                restore_pid_namespace(pidns_fd)
            layers.pid_namespace = True
        except OSError as exc:
            layers.missing["pid_namespace"] = _reason(exc, is_root)
            if pidns_fd is not None:
                os.close(pidns_fd)
            pidns_fd = None
    return layers, pidns_fd


def _try(layers: Layers, name: str, fn: Any, is_root: bool) -> None:
    try:
        fn()
        setattr(layers, name, True)
    except OSError as exc:
        layers.missing[name] = _reason(exc, is_root)


def _reason(exc: OSError, is_root: bool) -> str:
    who = "" if is_root else "not running as root; "
    return f"{who}{exc.strerror or exc}"


def _probe_in_child(fn: Any) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            fn()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise PermissionError(1, "probe child could not enter the layer")


def _assert_pid_one() -> None:
    if os.getpid() != 1:
        raise OSError(0, "child is not pid 1 of a new pid namespace")


def prepare_pid_namespace(own_pidns_fd: int) -> None:
    """Make this process's next fork() land in a brand-new pid namespace.

    unshare(CLONE_NEWPID) only works while the namespace for children is still our own, so first
    reset it with setns() to the namespace we live in.
    """
    restore_pid_namespace(own_pidns_fd)
    linux.unshare(linux.CLONE_NEWPID)


def restore_pid_namespace(own_pidns_fd: int) -> None:
    """Later forks go back to our own pid namespace (a namespace whose pid 1 died refuses new processes)."""
    linux.setns(own_pidns_fd, linux.CLONE_NEWPID)


def _setup_server_mounts(hide: tuple[str, ...] = ()) -> None:
    linux.unshare(linux.CLONE_NEWNS)
    # Private propagation first: nothing we mount below may leak back into the host's namespace.
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    _cover_and_expose(hide)
    try:
        linux.mount_setattr_recursive("/", linux.MOUNT_ATTR_RDONLY | linux.MOUNT_ATTR_NOSUID)
    except OSError:
        _remount_each_readonly()


def interpreter_paths() -> list[str]:
    """Directories the child needs to read to import modules that were not preloaded."""
    import sys

    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
        *(p for p in sys.path if p),
    }
    paths = sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)})
    return [p for p in paths if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in paths)]


def blocked_ancestor(path: str) -> str | None:
    """The first directory on the way to `path` that users other than its owner cannot traverse."""
    current = Path("/")
    for part in Path(path).parts[1:]:
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return str(current)
        current = current / part
    return None


def _outermost(paths: set[str]) -> list[str]:
    return sorted(p for p in paths if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in paths))


def _cover_and_expose(hide: tuple[str, ...]) -> None:
    """Cover `hide` (e.g. the caller's $HOME) and every directory an unprivileged user could not traverse
    on the way to the interpreter with an empty tmpfs, then bind the interpreter's directories back."""
    needed = interpreter_paths()
    covers = {a for a in map(blocked_ancestor, needed) if a is not None and a != "/"}
    covers |= {os.path.realpath(h) for h in hide if os.path.isdir(h) and os.path.realpath(h) != "/"}
    for cover in _outermost(covers):
        inside = [p for p in needed if p.startswith(cover.rstrip("/") + "/")]
        # Hold each path open (O_PATH) so it can be bind-mounted back once the tmpfs hides its parent.
        held = [(path, os.open(path, os.O_PATH | os.O_CLOEXEC)) for path in inside]
        linux.mount("tmpfs", cover, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "mode=0755,size=1m")
        for path, fd in held:
            os.makedirs(path, mode=0o755, exist_ok=True)
            linux.mount(f"/proc/self/fd/{fd}", path, None, linux.MS_BIND | linux.MS_REC)
            os.close(fd)


def _remount_each_readonly() -> None:
    """Fallback for kernels without mount_setattr (< 5.12): remount every mount point read-only."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in points:
        try:
            linux.mount(
                None, point, None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | linux.MS_NOSUID
            )
        except OSError:
            if point == "/":
                raise


# ----------------------------------------------------------------------------------------------- child


def setup_child_mounts(uid: int, disk_mb: int, *, new_proc: bool) -> str:
    """In the child, as root: private mount (and IPC) namespace, fresh tmpfs workdir. -> the workdir."""
    linux.unshare(linux.CLONE_NEWNS | linux.CLONE_NEWIPC)
    flags = linux.MS_NOSUID | linux.MS_NODEV
    owner = f"uid={uid},gid={uid}"
    linux.mount("tmpfs", "/tmp", "tmpfs", flags, f"size={disk_mb}m,mode=0700,{owner}")
    linux.mount("tmpfs", "/dev/shm", "tmpfs", flags, f"size={disk_mb}m,mode=0700,{owner}")
    if new_proc:
        # A /proc for the new pid namespace: the snippet sees only its own processes.
        linux.mount("proc", "/proc", "proc", flags | linux.MS_NOEXEC)
    return "/tmp"


def resize_workdir(workdir: str, disk_mb: int) -> None:
    linux.mount(None, workdir, None, linux.MS_REMOUNT | linux.MS_NOSUID | linux.MS_NODEV, f"size={disk_mb}m")


def make_workdir(root: str, name: str, uid: int | None) -> str:
    """Without a mount namespace: a fresh 0700 directory under the server's workdir root."""
    path = os.path.join(root, name)
    os.mkdir(path, 0o700)
    if uid is not None:
        os.chown(path, uid, uid)
    return path


def remove_tree(path: str) -> None:
    """rmtree that also removes what the snippet made unwritable (chmod 000 directories)."""

    def fix(func: Any, p: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=fix)
    if os.path.exists(path):
        shutil.rmtree(path, ignore_errors=True)


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def drop_privileges(uid: int) -> None:
    """Irrevocably become `uid` with no capabilities and no way to regain any (no_new_privs)."""
    linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    _drop_privileges(uid)


def sweep_uid(uid: int) -> None:
    """Kill every process running as `uid` (used when there is no pid namespace to do it).

    A helper child becomes `uid` and calls kill(-1, SIGKILL): the kernel then signals exactly the
    processes that uid may signal, i.e. everything the snippet started, wherever it daemonised to.
    """
    pid = os.fork()
    if pid == 0:
        try:
            _drop_privileges(uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def children_of(ppid: int) -> list[int]:
    """Pids whose parent is `ppid` (from /proc; used to find orphans adopted by the subreaper)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        rest = data[data.rfind(b")") + 2 :].split()
        if len(rest) > 1 and int(rest[1]) == ppid:
            found.append(int(name))
    return found


def child_environment(workdir: str) -> dict[str, str]:
    """The whole environment a snippet sees: nothing inherited, so no secrets (API keys, tokens)."""
    import sys

    bindir = os.path.dirname(sys.executable)
    return {
        "PATH": f"{bindir}:{SANDBOX_ENV_PATH}",
        "HOME": workdir,
        "TMPDIR": workdir,
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
