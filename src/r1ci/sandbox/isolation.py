"""Kernel isolation layers: probed once in the fork server, applied per child.

Layers (each optional; the sandbox keeps every one it can get and warns about the others):

- `pid_namespace`: each execution gets a new pid namespace whose pid 1 is a small supervisor (ours)
  and whose pid 2 runs the snippet; when the supervisor exits or is killed the kernel kills every
  process the snippet started (double forks and daemons included), and nothing outside is visible.
- `mount_namespace`: the fork server makes its whole mount tree read-only (recursively) once; each
  child gets its own mount namespace with a fresh size-capped tmpfs on /tmp (its working directory)
  and /dev/shm, which vanish with it. An interpreter or venv under /tmp or /dev/shm (a checkout cloned
  into /tmp) is bound back over them at its real path, read-only (`expose_runtime_paths`).
- `minimal_root`: each child pivots into a tree that holds only the interpreter, its stdlib and
  site-packages and the system libraries (/usr, read-only), a minimal /dev (null, zero, full, random,
  urandom, a private devpts), a private /proc and its tmpfs /tmp. Not there: reference data, homes,
  checkouts, /sys (host network interfaces), the host's mount table.
- `network_namespace`: every execution has its own empty network namespace (no interface, not even
  loopback): `connect()` fails even to 127.0.0.1, and abstract unix sockets of one execution are
  invisible to every other.
- `ipc_namespace`: private SysV IPC with small limits (shm segments count in the memory cgroup too).
- `unprivileged_uid`: each child drops to its own uid (uid_base + slot; uid_base drawn per executor),
  so root's exemptions no longer apply and no two executions, nor two executors, share an
  RLIMIT_NPROC count or a keyring.
- `cgroup`: a per-slot cgroup (see `r1ci.sandbox.cgroups`) caps memory, processes and CPU of the whole
  execution and reports its peak memory and CPU time.
- `seccomp`: a syscall filter (see `r1ci.sandbox.seccomp`): no new namespaces, mounts, keyrings,
  ptrace, bpf, perf events, io_uring, ...

All of these need root (CAP_SYS_ADMIN / CAP_SETUID) except seccomp; without them the rlimits, the
audit-hook guard and the process-group/subreaper cleanup remain.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from r1ci.sandbox import linux

KERNEL_LAYERS: tuple[str, ...] = (
    "pid_namespace",
    "mount_namespace",
    "minimal_root",
    "network_namespace",
    "ipc_namespace",
    "unprivileged_uid",
    "cgroup",
    "seccomp",
)
ALWAYS_ON: tuple[str, ...] = ("rlimits", "audit_guard", "process_cleanup")
LAYER_HELP: dict[str, str] = {
    "pid_namespace": "kills every descendant with the snippet; hides and shields other processes",
    "mount_namespace": "read-only filesystem, private tmpfs working directory and /tmp",
    "minimal_root": "only interpreter, stdlib, site-packages and /usr visible; no data, homes, /sys",
    "network_namespace": "own empty network namespace per execution (no loopback, no shared abstract sockets)",
    "ipc_namespace": "private SysV IPC per execution with small shm limits",
    "cgroup": "memory (incl. shm/tmpfs/memfd), processes, CPU quota and total CPU of all processes",
    "seccomp": "syscall filter: no new namespaces, mounts, keyrings, ptrace, bpf, perf, io_uring",
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
    minimal_root: bool = False
    network_namespace: bool = False
    ipc_namespace: bool = False
    unprivileged_uid: bool = False
    cgroup: bool = False
    seccomp: bool = False
    missing: dict[str, str] = field(default_factory=dict)  # layer -> reason it is off

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Layers:
        return cls(**data)

    def active(self) -> list[str]:
        return [name for name in KERNEL_LAYERS if getattr(self, name)] + list(ALWAYS_ON)


# ---------------------------------------------------------------------------------------------- server


@dataclass
class ServerSetup:
    """What `setup_server` turned on: the layers, the fork server's pid namespace, the cgroup tree and
    the minimal root the children pivot into."""

    layers: Layers
    pidns_fd: int | None = None
    cgroups: Any = None  # r1ci.sandbox.cgroups.CgroupTree
    root: str | None = None
    expose: tuple[str, ...] = ()  # runtime paths under a per-execution mount point (bound back each time)


def setup_server(
    disabled: set[str], uid_base: int, hide: tuple[str, ...] = (), workers: int = 1
) -> ServerSetup:
    """Run once in the fork server before it serves."""
    from r1ci.sandbox import cgroups, seccomp

    layers = Layers()
    setup = ServerSetup(layers)
    for name in KERNEL_LAYERS:
        if name in disabled:
            layers.missing[name] = "disabled by configuration"
    is_root = os.geteuid() == 0
    with contextlib.suppress(OSError):  # without it, cleanup relies on process groups alone
        linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)

    if "cgroup" not in disabled:  # before the mounts turn read-only
        setup.cgroups, why = cgroups.probe(weight=workers)
        layers.cgroup = setup.cgroups is not None
        if why:
            layers.missing["cgroup"] = why
    if "network_namespace" not in disabled:

        def netns() -> None:
            linux.unshare(linux.CLONE_NEWNET)  # the server's own, and one per child on top
            _probe_in_child(lambda: linux.unshare(linux.CLONE_NEWNET))

        _try(layers, "network_namespace", netns, is_root)
    if "ipc_namespace" not in disabled:
        _try(
            layers,
            "ipc_namespace",
            lambda: _probe_in_child(lambda: linux.unshare(linux.CLONE_NEWIPC)),
            is_root,
        )
    if "mount_namespace" not in disabled:

        def mounts() -> None:
            setup.expose = execution_exposed_paths()  # before anything is covered
            _setup_server_mounts(hide)

        _try(layers, "mount_namespace", mounts, is_root)
    if "minimal_root" not in disabled:
        if not layers.mount_namespace:
            layers.missing["minimal_root"] = "needs the mount_namespace layer"
        else:
            try:
                setup.root = build_minimal_root()
                layers.minimal_root = True
            except OSError as exc:
                layers.missing["minimal_root"] = _reason(exc, is_root, "could not build the minimal root: ")
    if "unprivileged_uid" not in disabled:
        _try(layers, "unprivileged_uid", lambda: _probe_in_child(lambda: _drop_privileges(uid_base)), is_root)
    if "seccomp" not in disabled:
        why_not = seccomp.available()
        if why_not:
            layers.missing["seccomp"] = why_not
        else:

            def probe_seccomp() -> None:
                linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
                seccomp.install()

            _try(layers, "seccomp", lambda: _probe_in_child(probe_seccomp), True)
    if "pid_namespace" not in disabled:
        pidns_fd = None
        try:
            pidns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            prepare_pid_namespace(pidns_fd)
            try:
                _probe_in_child(_assert_pid_one)
            finally:
                restore_pid_namespace(pidns_fd)
            layers.pid_namespace = True
            setup.pidns_fd = pidns_fd
        except OSError as exc:
            layers.missing["pid_namespace"] = _reason(exc, is_root)
            if pidns_fd is not None:
                os.close(pidns_fd)
    return setup


def _try(layers: Layers, name: str, fn: Any, is_root: bool) -> None:
    try:
        fn()
        setattr(layers, name, True)
    except OSError as exc:
        layers.missing[name] = _reason(exc, is_root)


def _reason(exc: OSError, is_root: bool, what: str = "") -> str:
    who = "" if is_root else "not running as root; "
    text = exc.strerror or str(exc)
    if exc.filename:
        text += f": {exc.filename}"
    return f"{who}{what}{text}"


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
        # The server manages its cgroups through these; the children never see them (minimal root).
        for point in _cgroup_mounts():
            with contextlib.suppress(OSError):
                linux.mount_setattr_recursive(point, 0, linux.MOUNT_ATTR_RDONLY, recursive=False)
    except OSError:
        _remount_each_readonly()


def _cgroup_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [
            line.split()[4] for line in f if line.partition(" - ")[2].split()[:1] in (["cgroup"], ["cgroup2"])
        ]


ROOT_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
DEVICES = ("null", "zero", "full", "random", "urandom")
_PASSWD = "root:x:0:0:root:/root:/bin/sh\nsandbox:x:65534:65534:sandbox:/tmp:/bin/sh\n"
_GROUP = "root:x:0:\nsandbox:x:65534:\n"


def build_minimal_root() -> str:
    """In the server's private mount namespace: the tree every child pivots into -> its path.

    A tmpfs holding read-only binds of /usr (system libraries), the interpreter's prefixes and
    site-packages, a few /etc files, device nodes and empty mount points for the per-child /tmp,
    /dev/shm, /dev/pts and /proc. r1ci's own source tree is not bound: the children run on what the
    fork server already imported. Runtime paths under /tmp or /dev/shm are bound at their real path
    too, below those (empty) mount points: each execution binds them back over its fresh tmpfs
    (`expose_runtime_paths`).

    The tree lives on a tmpfs that covers the server's own /tmp; what the server itself imports from
    under /tmp (a venv or checkout there) is bound back onto it. On failure that tmpfs is detached
    again, so the server keeps the view it had.
    """
    # What to bind, decided (and held open) before the private tmpfs below covers the server's /tmp.
    binds = [d for d in ROOT_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    binds += [p for p in runtime_paths() if not _below_any(p, binds)]
    # Strictly below /tmp: a script run from /tmp puts /tmp itself on sys.path, which stays covered.
    server_own = _outermost({p for p in (*interpreter_paths(), *runtime_paths()) if p.startswith("/tmp/")})
    held: list[tuple[str, int]] = []
    server_held: list[tuple[str, int]] = []
    covered = False
    try:
        held += [(path, os.open(path, os.O_PATH | os.O_CLOEXEC)) for path in _outermost(set(binds))]
        server_held += [(path, os.open(path, os.O_PATH | os.O_CLOEXEC)) for path in server_own]
        linux.mount("tmpfs", "/tmp", "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "mode=0755,size=1m")
        covered = True
        for path, fd in server_held:
            os.makedirs(path, mode=0o755, exist_ok=True)
            linux.mount(f"/proc/self/fd/{fd}", path, None, linux.MS_BIND | linux.MS_REC)
        root = "/tmp/r1ci-root"
        os.mkdir(root, 0o755)
        linux.mount("tmpfs", root, "tmpfs", linux.MS_NOSUID, "mode=0755,size=1m")
        _fill_minimal_root(root, held)
    except BaseException:
        if covered:
            with contextlib.suppress(OSError):
                linux.umount2("/tmp", linux.MNT_DETACH)
        raise
    finally:
        for _, fd in held + server_held:
            os.close(fd)
    return root


def _fill_minimal_root(root: str, held: list[tuple[str, int]]) -> None:
    for d in ROOT_DIRS:
        if os.path.islink(d):
            os.symlink(os.readlink(d), root + d)
    for path, fd in held:
        os.makedirs(root + path, exist_ok=True)
        linux.mount(f"/proc/self/fd/{fd}", root + path, None, linux.MS_BIND | linux.MS_REC)
    etc = root + "/etc"
    os.mkdir(etc, 0o755)
    for name, text in (("passwd", _PASSWD), ("group", _GROUP), ("hosts", "127.0.0.1 localhost\n")):
        with open(os.path.join(etc, name), "w") as f:
            f.write(text)
    for name in ("ld.so.cache", "localtime"):
        source = os.path.realpath(f"/etc/{name}")
        if os.path.isfile(source):
            open(os.path.join(etc, name), "w").close()
            linux.mount(source, os.path.join(etc, name), None, linux.MS_BIND)
    dev = root + "/dev"
    for sub in ("", "/pts", "/shm"):  # /dev/shm may already hold a runtime path bound above
        os.makedirs(dev + sub, 0o755, exist_ok=True)
    for name in DEVICES:
        open(f"{dev}/{name}", "w").close()
        linux.mount(f"/dev/{name}", f"{dev}/{name}", None, linux.MS_BIND)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ):
        os.symlink(target, f"{dev}/{name}")
    for sub in ("/proc", "/tmp"):  # /tmp may already hold a runtime path bound above
        os.makedirs(root + sub, 0o755, exist_ok=True)
    linux.mount_setattr_recursive(root, linux.MOUNT_ATTR_RDONLY | linux.MOUNT_ATTR_NOSUID)


def runtime_paths() -> list[str]:
    """The interpreter's prefixes and its site-packages directories: what a snippet may import from.

    Other sys.path entries (the caller's script directory, a source checkout on the path, r1ci's own
    tree) are left out: the fork server imported what the children need before they pivot.
    """
    import sys

    prefixes = {
        os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    }
    keep = set(prefixes)
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if (
            real
            and os.path.isdir(real)
            and (
                os.path.basename(real) in ("site-packages", "dist-packages")
                or _below_any(real, list(prefixes))
            )
        ):
            keep.add(real)
    return _outermost(keep)


def execution_exposed_paths() -> tuple[str, ...]:
    """The runtime paths that lie under a per-execution mount point (/tmp, /dev/shm): a venv created in
    /tmp. Each execution's fresh tmpfs would hide them, so `expose_runtime_paths` binds them back.

    An interpreter at one of those mount points itself cannot be kept apart from the execution's
    private /tmp: OSError, and the mount_namespace layer is off (which says why)."""
    paths = tuple(p for p in runtime_paths() if _per_execution_point(p) is not None)
    for path in paths:
        if path in _PER_EXECUTION_MOUNTS:
            raise OSError(
                errno.EINVAL,
                f"the interpreter lives at {path} itself, which each execution replaces with a fresh tmpfs",
            )
    return paths


def _per_execution_point(path: str) -> str | None:
    return next((point for point in _PER_EXECUTION_MOUNTS if _below_any(path, [point])), None)


def _below_any(path: str, dirs: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


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


def setup_keeper_mounts(*, new_proc: bool, root: str | None) -> None:
    """Once per slot keeper, as root: its own mount namespace, /proc of its pid namespace, the pivot."""
    linux.unshare(linux.CLONE_NEWNS)
    base = root or ""
    if new_proc:
        # A /proc for the new pid namespace: the snippet sees only its own processes.
        linux.mount("proc", base + "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
    if root is not None:
        os.chdir(root)
        linux.pivot_root(".", ".")  # the old root ends up stacked on "/": detach it
        linux.umount2(".", linux.MNT_DETACH)
        os.chdir("/")


_PER_EXECUTION_MOUNTS = ("/tmp", "/dev/shm", "/dev/pts")
_keeper_mounted = False  # in a keeper: an execution has mounted its own tmpfs etc. on those points


def fresh_execution_mounts(
    uid: int, disk_mb: int, *, private_pts: bool, unshare_flags: int, expose: tuple[str, ...] = ()
) -> str:
    """Per execution, in the keeper: new mount (and IPC, network) namespaces holding a fresh tmpfs
    /tmp (the working directory) and /dev/shm and a new devpts instance. -> the workdir.

    The previous execution's mounts are detached in the new namespace; the old namespace, which held
    them, goes away with the last process of that execution. What the first execution finds mounted
    there is not ours (without the minimal root: the host's own /tmp or /dev/shm, if they are mounts):
    it stays, covered, so that `expose` paths on it can still be bound. `expose` (runtime paths under
    /tmp or /dev/shm, see `execution_exposed_paths`) are bound back read-only on the fresh tmpfs.
    """
    global _keeper_mounted
    linux.unshare(linux.CLONE_NEWNS | unshare_flags)
    if _keeper_mounted:
        for point in _PER_EXECUTION_MOUNTS:
            with contextlib.suppress(OSError):  # EINVAL: nothing mounted there
                linux.umount2(point, linux.MNT_DETACH)
    _keeper_mounted = True
    # Held open now: the fresh tmpfs below hides them (in the minimal root they sit, bound at their real
    # path, under its empty /tmp; without it they are the host's, read-only in the server's namespace).
    held: list[tuple[str, int]] = []
    try:
        held += [(path, os.open(path, os.O_PATH | os.O_CLOEXEC)) for path in expose]
        flags = linux.MS_NOSUID | linux.MS_NODEV
        owner = f"uid={uid},gid={uid}"
        linux.mount("tmpfs", "/tmp", "tmpfs", flags, f"size={disk_mb}m,mode=0700,{owner}")
        linux.mount("tmpfs", "/dev/shm", "tmpfs", flags, f"size={disk_mb}m,mode=0700,{owner}")
        expose_runtime_paths(held)
    finally:
        for _, fd in held:
            os.close(fd)
    # A private devpts: ptys the snippet opens are its own, numbered from 0, gone with it.
    linux.mount(
        "devpts",
        "/dev/pts",
        "devpts",
        linux.MS_NOSUID | linux.MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620,max=16",
    )
    if not private_pts:  # the host's /dev/ptmx is a device node of the host's instance: cover it
        with contextlib.suppress(OSError):
            linux.umount2("/dev/ptmx", linux.MNT_DETACH)
        linux.mount("/dev/pts/ptmx", "/dev/ptmx", None, linux.MS_BIND)
    return "/tmp"


def expose_runtime_paths(held: list[tuple[str, int]]) -> None:
    """Bind each (path, O_PATH descriptor) back at `path`, read-only, over the fresh tmpfs now covering it.

    The first directory below the mount point (/tmp/r1ci for /tmp/r1ci/.venv) becomes a mount of its
    own: a small tmpfs holding the chain of directories down to the binds, or the bind itself. The
    snippet owns the fresh tmpfs, so it could rename or remove a plain directory there and put a tree
    of its own in its place; a mount point cannot be renamed or removed (EBUSY), and the snippet may
    not unmount it (no capabilities; seccomp refuses the mount calls). Everything below is read-only.
    """
    tops: dict[str, list[tuple[str, int]]] = {}
    for path, fd in held:
        point = _per_execution_point(path)
        if point is None:
            raise OSError(errno.EINVAL, f"{path} is not under a per-execution mount point")
        top = point + "/" + path[len(point) + 1 :].split("/")[0]
        tops.setdefault(top, []).append((path, fd))
    for top, binds in sorted(tops.items()):
        os.mkdir(top, 0o755)  # root's: the snippet may not write into it
        if all(path != top for path, _ in binds):
            linux.mount("tmpfs", top, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "mode=0755,size=4k")
        for path, fd in binds:
            os.makedirs(path, 0o755, exist_ok=True)
            linux.mount(f"/proc/self/fd/{fd}", path, None, linux.MS_BIND | linux.MS_REC)
        _readonly_tree(top)


def _readonly_tree(top: str) -> None:
    """`top` and every mount below it read-only, nosuid and nodev."""
    try:
        linux.mount_setattr_recursive(
            top, linux.MOUNT_ATTR_RDONLY | linux.MOUNT_ATTR_NOSUID | linux.MOUNT_ATTR_NODEV
        )
    except OSError:  # kernels without mount_setattr (< 5.12): remount each mount below `top`
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        for point in points:
            if _below_any(point, [top]):
                linux.mount(
                    None,
                    point,
                    None,
                    linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV,
                )


def limit_ipc(proc: str, disk_mb: int) -> None:
    """Small SysV limits in the child's own IPC namespace (its segments also count in its memory cgroup)."""
    page = os.sysconf("SC_PAGE_SIZE")
    for name, value in (
        ("shmmax", disk_mb << 20),
        ("shmall", (disk_mb << 20) // page),
        ("shmmni", 64),
        ("msgmnb", 1 << 16),
        ("msgmni", 16),
    ):
        with contextlib.suppress(OSError), open(f"{proc}/sys/kernel/{name}", "w") as f:
            f.write(str(value))


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


def proc_stats() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, the fields of /proc/<pid>/stat after the command name) for every process still there."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        yield int(name), data[data.rfind(b")") + 2 :].split()


def children_of(ppid: int) -> list[int]:
    """Pids whose parent is `ppid` (from /proc; used to find orphans adopted by the subreaper)."""
    return [pid for pid, rest in proc_stats() if len(rest) > 1 and int(rest[1]) == ppid]


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
