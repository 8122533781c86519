"""Containment, part 2: one group of attacks per class the red team got through, each run from inside a
snippet and checked from outside (the executor's cgroup counters, host files, a second executor).

1. memory outside the address-space limit   4. the host filesystem
2. CPU time multiplied by forking            5. executions reaching each other
3. a supervisor that trusts the snippet      6. kernel surface
Sessions (frozen between turns) close the file.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import require_layer

from r1ci.sandbox import LocalExecutor, SandboxLimits
from r1ci.sandbox.bench import leak_check, wait_quiet

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MiB = 1 << 20


@pytest.fixture(scope="module")
def tight() -> Iterator[LocalExecutor]:
    """One worker, one spare: the executor's cgroup then holds little besides the attack."""
    ex = LocalExecutor(
        workers=2,
        prefork=2,
        limits=SandboxLimits(timeout_s=20, cpu_time_s=1, memory_mb=128, max_processes=32),
    )
    ex.wait_ready()
    yield ex
    assert not any(wait_quiet(ex).values())
    ex.close()


def _memory_root(ex: LocalExecutor) -> str:
    require_layer(ex, "cgroup")
    dirs = ex.cgroup_dirs()
    memory = [d for d in dirs if "/memory/" in d] or dirs  # v1: the memory hierarchy; v2: the one tree
    return memory[0]


def _read_int(path: str) -> int:
    with open(path) as f:
        return int(f.read().split()[0])


def _peak_file(root: str) -> str:
    v1 = os.path.join(root, "memory.max_usage_in_bytes")
    return v1 if os.path.exists(v1) else os.path.join(root, "memory.peak")


# ------------------------------------------------------------------------------------- 1. memory

HOLD_600 = {
    "sysv_shm": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.shmat.restype = ctypes.c_void_p\nheld = 0\n"
        "for _ in range(10):\n"
        "    sid = libc.shmget(0, 60 << 20, 0o1600)\n"  # IPC_PRIVATE | IPC_CREAT | 0600
        "    if sid < 0:\n        break\n"
        "    addr = libc.shmat(sid, None, 0)\n"
        "    if addr in (None, ctypes.c_void_p(-1).value):\n        break\n"
        "    ctypes.memset(addr, 1, 60 << 20)\n    held += 60\n"
        "print('held', held)\n"
    ),
    "memfd": (
        "import os\nfds = []\nfor _ in range(40):\n"
        "    fd = os.memfd_create('x')\n    os.write(fd, b'x' * (15 << 20))\n    fds.append(fd)\n"
        "print('held', 15 * len(fds))\n"
    ),
    "forked_children": (
        "import os, time\nkids = []\nfor _ in range(6):\n    pid = os.fork()\n"
        "    if pid == 0:\n        b = bytearray(100 << 20)\n        time.sleep(3)\n        os._exit(0)\n"
        "    kids.append(pid)\n"
        "codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in kids]\nprint('held', codes)\n"
    ),
    "tmpfs_files": (
        "import os\nn = 0\nfor d in ('/tmp', '/dev/shm'):\n    for i in range(30):\n"
        "        try:\n            with open(os.path.join(d, f'fill{i}'), 'wb') as f:\n"
        "                f.write(b'x' * (15 << 20))\n            n += 15\n"
        "        except OSError:\n            break\n"
        "b = bytearray(100 << 20)\nprint('held', n + 100)\n"
    ),
}


@pytest.mark.parametrize("attack", list(HOLD_600), ids=list(HOLD_600))
def test_memory_of_every_kind_counts_against_the_limit(tight: LocalExecutor, attack: str) -> None:
    root = _memory_root(tight)
    peak = _peak_file(root)
    if peak.endswith("max_usage_in_bytes"):
        with open(peak, "w") as f:
            f.write("0")
    limit_mb = 128
    r = tight.run(HOLD_600[attack], memory_mb=limit_mb, max_output_bytes=4096)
    # Inside: the attack did not get its 600 MiB (killed by the cgroup, or refused).
    held = [int(w) for w in r.stdout.replace("[", " ").split() if w.isdigit()][:1]
    if r.ok:  # refused along the way (IPC limits, tmpfs size): what it did hold fits the limit
        assert held and held[0] <= limit_mb, r.stdout
    else:
        assert r.status in ("memory", "error", "killed"), (r.status, r.stdout, r.stderr)
    if r.status == "memory":
        assert r.memory_exceeded and "memory" in r.stderr
    # the cgroup's peak, reported in the result: its limit is the warm child's own usage (interpreter,
    # numpy and sympy pages: 60-70 MiB here, 192.03 MiB peak seen once) plus memory_mb
    assert r.max_rss_mb < limit_mb + 96
    # Outside: the executor's cgroup (every slot, spares included) never held anything like 600 MiB.
    if peak.endswith("max_usage_in_bytes"):
        assert _read_int(peak) < (limit_mb + 200) * MiB


# ---------------------------------------------------------------------------------------- 2. CPU


def test_re_forking_cpu_burners_share_one_cpu_budget(tight: LocalExecutor) -> None:
    require_layer(tight, "cgroup")
    code = (
        "import os\nwhile True:\n    pid = os.fork()\n    if pid == 0:\n        while True:\n            pass\n"
        "    try:\n        os.waitpid(pid, 0)\n    except ChildProcessError:\n        pass\n"
    )
    cpu_dirs = [d for d in tight.cgroup_dirs() if "/cpuacct/" in d]
    before = _read_int(os.path.join(cpu_dirs[0], "cpuacct.usage")) if cpu_dirs else None
    start = time.monotonic()
    r = tight.run(code, timeout_s=15)  # cpu_time_s=1 for the whole execution
    assert r.status == "timeout" and r.timed_out
    assert "CPU-time limit" in r.stderr
    assert r.cpu_s < 2.5 and time.monotonic() - start < 8
    if before is not None:  # outside: the executor's cgroup counted about one CPU second for it
        assert (_read_int(os.path.join(cpu_dirs[0], "cpuacct.usage")) - before) / 1e9 < 3.0


# --------------------------------------------------------------------------------- 3. supervisor

FORGE = (
    "import os\n"
    "for fd in range(3, 64):\n"
    '    for blob in (b\'\\xff\\xfe{not json\', b\'{"wait_status": 0, "hint": ""}\', '
    "b'{\"exit_code\": 0, \"final\": true}', b'\\x00' * 2048):\n"
    "        try:\n            os.write(fd, blob)\n        except OSError:\n            pass\n"
)


def test_forged_and_malformed_reports_change_nothing(tight: LocalExecutor) -> None:
    server = tight.server_pid()
    r = tight.run(FORGE + "raise SystemExit(3)")
    assert r.status == "error" and r.exit_code == 3  # the kernel's wait status, not the forged "ok"
    r = tight.run(FORGE + "raise ValueError('boom')")
    assert r.status == "error" and r.exit_code == 1 and "ValueError" in r.stderr
    sid = f"forge-{uuid.uuid4().hex}"
    tight.run("x = 1", session_id=sid)
    tight.run(FORGE, session_id=sid)  # garbage on the session's control socket ends that session only
    tight.close_session(sid)
    # The reactor and the fork server survived: every later execution works.
    assert tight.server_pid() == server
    assert [tight.run(f"print({i})").stdout for i in range(3)] == ["0\n", "1\n", "2\n"]


@pytest.mark.parametrize(
    ("code", "exit_code", "name"),
    [
        ("import os, signal\nprint('bye', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)", -9, "SIGKILL"),
        ("import ctypes\nctypes.string_at(0)", -11, "SIGSEGV"),
        ("import os\nos.abort()", -6, "SIGABRT"),
    ],
    ids=["self-sigkill", "segfault", "abort"],
)
def test_deaths_by_signal_are_reported_as_such(
    tight: LocalExecutor, code: str, exit_code: int, name: str
) -> None:
    r = tight.run(code)
    assert r.status == "killed" and r.exit_code == exit_code and not r.ok
    assert name in r.stderr


def test_huge_timeouts_are_clamped_not_fatal(tight: LocalExecutor) -> None:
    server = tight.server_pid()
    for timeout in (1e12, 30 * 24 * 3600.0):
        r = tight.run("print('fine')", timeout_s=timeout)
        assert r.ok and r.stdout == "fine\n"
    assert tight.server_pid() == server  # the fork server did not die of an overflow
    assert (
        tight.limits.override(timeout_s=1e12).clamp(tight.max_limits).timeout_s == tight.max_limits.timeout_s
    )


# --------------------------------------------------------------------------------- 4. filesystem


def test_host_filesystem_is_not_visible(tight: LocalExecutor) -> None:
    require_layer(tight, "minimal_root")
    data_dir = os.environ.get("R1CI_DATA_DIR", "/work/shared/data")
    home_mark = Path(os.path.expanduser("~")) / f".r1ci-home-mark-{uuid.uuid4().hex}"
    home_mark.write_text("host secret")
    probes = [
        str(PROJECT_ROOT / "tests"),
        str(PROJECT_ROOT / "src"),
        data_dir,
        str(home_mark),
        "/sys/class/net",
    ]
    code = (
        "import os\n"
        f"print([os.path.exists(p) for p in {probes!r}])\n"
        "print(open('/proc/self/mountinfo').read())\n"
        "print(sorted(os.listdir('/')))\n"
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        f"fd = libc.open({str(PROJECT_ROOT / 'pyproject.toml').encode()!r}, 0)\nprint('raw', fd, ctypes.get_errno())\n"
    )
    try:
        r = tight.run(code, max_output_bytes=1 << 16)
    finally:
        home_mark.unlink()
    assert r.ok, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == str([False] * len(probes))
    mountinfo = "\n".join(lines[1:-2])
    for host_path in (data_dir, str(PROJECT_ROOT / "src"), "/sys", "/home"):
        assert f" {host_path}" not in mountinfo
    assert not set(eval(lines[-2])) & {"sys", "home", "var", "run", "boot", "mnt", "srv", "media"}
    assert lines[-1] == f"raw -1 {errno.ENOENT}"
    # Interpreter and libraries are still there: a lazily imported stdlib/site-packages module works.
    r = tight.run("import xml.dom.minidom, sqlite3, numpy.polynomial\nprint('imports ok')")
    assert r.ok and r.stdout == "imports ok\n", r.stderr


def test_private_dev_and_ipc(tight: LocalExecutor) -> None:
    require_layer(tight, "minimal_root")
    code = (
        "import os\nprint(sorted(os.listdir('/dev')))\nprint(os.listdir('/dev/pts'))\n"
        "m, s = os.openpty()\nprint(os.ttyname(s))\n"
        "print(open('/proc/sys/kernel/shmmni').read().strip())\n"
    )
    host_ptys = set(os.listdir("/dev/pts"))
    r = tight.run(code)
    assert r.ok, r.stderr
    devs, pts, tty, shmmni = r.stdout.splitlines()
    assert set(eval(devs)) <= {
        "null",
        "zero",
        "full",
        "random",
        "urandom",
        "pts",
        "shm",
        "fd",
        "stdin",
        "stdout",
        "stderr",
        "ptmx",
    }
    assert eval(pts) == ["ptmx"] and tty == "/dev/pts/0"  # its own devpts instance, numbered from 0
    assert int(shmmni) <= 64
    assert set(os.listdir("/dev/pts")) == host_ptys


# ---------------------------------------------------------------------------------- 5. isolation


def test_abstract_sockets_do_not_cross_executions(tight: LocalExecutor) -> None:
    require_layer(tight, "network_namespace")
    name = f"r1ci-abstract-{uuid.uuid4().hex}"
    server = tight.submit(
        "import socket, time\ns = socket.socket(socket.AF_UNIX)\n"
        f"s.bind('\\0{name}')\ns.listen()\nprint('listening', flush=True)\ntime.sleep(3)\n"
    )
    time.sleep(1.0)  # the listener is up (it runs concurrently: workers=2)
    client = tight.run(
        "import socket\ns = socket.socket(socket.AF_UNIX)\n"
        f"try:\n    s.connect('\\0{name}')\n    print('connected')\nexcept OSError as exc:\n    print(exc.errno)\n"
    )
    assert server.result().stdout == "listening\n"
    assert client.stdout.strip() == str(errno.ECONNREFUSED)
    # Nor does one reach the host's: bind here, connect from inside.
    host = socket.socket(socket.AF_UNIX)
    host.bind(f"\0{name}-host")
    host.listen()
    try:
        r = tight.run(
            f"import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('\\0{name}-host')\n"
            "    print('connected')\nexcept OSError as exc:\n    print(exc.errno)\n"
        )
        assert r.stdout.strip() == str(errno.ECONNREFUSED)
    finally:
        host.close()


def test_keyrings_are_refused(tight: LocalExecutor) -> None:
    require_layer(tight, "seccomp")
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "r = libc.syscall(248, b'user', b'r1ci-key', b'secret', 6, -3)\n"  # add_key -> user keyring
        "print(r, ctypes.get_errno())\n"
        "r = libc.syscall(250, 0, -3, 0)\nprint(r, ctypes.get_errno())\n"  # keyctl(GET_KEYRING_ID)
    )
    if os.uname().machine != "x86_64":
        pytest.skip("syscall numbers in this snippet are x86_64's")
    r = tight.run(code)
    assert r.stdout.split() == ["-1", str(errno.EPERM), "-1", str(errno.EPERM)]


def test_two_executors_never_share_uids_or_process_limits(tight: LocalExecutor) -> None:
    require_layer(tight, "unprivileged_uid")
    with pytest.raises(ValueError, match="in use by another executor"):
        LocalExecutor(workers=1, uid_base=tight.uid_base)
    with LocalExecutor(workers=1, limits=SandboxLimits(max_processes=8)) as other:
        assert not set(tight.uid_range) & set(other.uid_range)
        # `tight` fills its process limit and holds it; `other` must still fork freely.
        hog = tight.submit(
            "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(6)\n"
            "            os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint('forked', n, flush=True)\ntime.sleep(4)\n",
            timeout_s=10,
        )
        time.sleep(1.5)
        r = other.run(
            "import os\nfor _ in range(4):\n    if os.fork() == 0:\n        os._exit(0)\n    os.wait()\nprint('ok')"
        )
        assert r.ok and r.stdout == "ok\n", r.stderr
        assert hog.result().stdout.startswith("forked")
        assert other.uid_base != tight.uid_base


def test_fresh_random_and_numpy_seeds(tight: LocalExecutor) -> None:
    code = "import random, numpy\nprint(random.random(), numpy.random.rand(), numpy.random.randint(1 << 30))"
    outs = tight.run_many([code] * 6)
    assert all(r.ok for r in outs)
    assert len({r.stdout for r in outs}) == 6


# ------------------------------------------------------------------------------ 6. kernel surface


def test_kernel_surface_is_filtered(tight: LocalExecutor) -> None:
    require_layer(tight, "seccomp")
    code = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nout = []\n"
        "def call(name, *args):\n    r = getattr(libc, name)(*args)\n    out.append((name, r, ctypes.get_errno()))\n"
        "call('unshare', 0x10000000)\n"  # CLONE_NEWUSER
        "call('unshare', 0x40000000)\n"  # CLONE_NEWNET
        "call('ptrace', 0, 0, 0, 0)\n"  # PTRACE_TRACEME
        "call('mount', b'none', b'/tmp', b'tmpfs', 0, None)\n"
        "call('chroot', b'/tmp')\n"
        "print(out)\n"
    )
    r = tight.run(code)
    assert r.ok, r.stderr
    results = eval(r.stdout)
    assert [(name, rc) for name, rc, _ in results] == [(n, -1) for n, _, _ in results]
    assert {e for _, _, e in results} == {errno.EPERM}
    # Threads and subprocesses, which use clone/clone3 without namespace flags, still work.
    r = tight.run(
        "import subprocess, sys, threading\nt = threading.Thread(target=print, args=('thread',))\nt.start(); t.join()\n"
        "print(subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True).stdout.strip())"
    )
    assert r.stdout == "thread\n42\n", r.stderr


def test_host_unix_socket_unreachable_with_raw_connect(tight: LocalExecutor) -> None:
    path = f"/run/r1ci-test-{uuid.uuid4().hex[:12]}.sock"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen()
    srv.settimeout(0.5)
    try:
        code = (
            "import ctypes, socket, struct\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "fd = libc.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)\n"
            f"addr = struct.pack('H108s', socket.AF_UNIX, {path.encode()!r})\n"
            "print(libc.connect(fd, addr, len(addr)), ctypes.get_errno())\n"
        )
        r = tight.run(code)
        assert r.stdout.split()[0] == "-1", r.stdout
        with pytest.raises(TimeoutError):
            srv.accept()
    finally:
        srv.close()
        os.unlink(path)


# ------------------------------------------------------------------------------------- sessions


def test_idle_session_is_frozen_and_threads_do_not_outlive_turns(tight: LocalExecutor) -> None:
    require_layer(tight, "cgroup")
    sid = f"frozen-{uuid.uuid4().hex}"
    first = tight.run(
        "import threading, time\nticks = []\n"
        "def spin():\n    while True:\n        ticks.append(time.monotonic())\n        time.sleep(0.01)\n"
        "threading.Thread(target=spin, daemon=True).start()\ntime.sleep(0.2)\nprint(len(ticks) > 5)\n",
        session_id=sid,
    )
    assert first.stdout == "True\n", first.stderr
    time.sleep(1.5)  # idle: the thread must not run now
    second = tight.run(
        "import time\ntime.sleep(0.1)\ngaps = [b - a for a, b in zip(ticks, ticks[1:])]\nprint(max(gaps) > 1.2)",
        session_id=sid,
    )
    assert second.stdout == "True\n", second.stderr  # a gap as long as the idle time: it was frozen
    # A turn that outlives its wall clock (a forged end-of-turn report cannot help it) is killed.
    forged = tight.run(
        "import json, os, time\nos.write(3, json.dumps({'exit_code': 0, 'memory_error': False, 'cpu_exceeded': False}).encode())\n"
        "time.sleep(30)",
        session_id=sid,
        timeout_s=2,
    )
    assert forged.duration_s < 8
    tight.close_session(sid)
    assert tight.run("print('alive')").stdout == "alive\n"


def test_concurrent_attacks_leave_the_pool_serving(tight: LocalExecutor) -> None:
    """Everything above at once, from several threads: the executor keeps answering."""
    codes = [
        FORGE + "print('x')",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "print('plain')",
    ] * 3
    results: list[str] = []

    def go(code: str) -> None:
        results.append(tight.run(code).status)

    threads = [threading.Thread(target=go, args=(c,)) for c in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(["ok", "killed", "ok"] * 3)


def test_leak_check_counts_only_this_executor(tight: LocalExecutor) -> None:
    """Processes, cgroups, mounts, descriptors, files: none left, and another executor's work (here a
    long snippet of `tight`, running all along) is not mistaken for a leak."""
    other = tight.submit("import time\ntime.sleep(8)\nprint('other done')", timeout_s=20)
    report = leak_check(150, workers=2)
    assert report.clean, report
    assert report.failures == 0 and report.after_close == []
    assert other.result().stdout == "other done\n"
