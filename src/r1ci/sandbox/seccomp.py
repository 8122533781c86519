"""A seccomp filter for the snippet: the kernel refuses the syscalls no code-interpreter snippet needs
and that widen what it can reach: new namespaces (a user namespace would hand it a full capability set
there), mounts, keyrings, ptrace and cross-process memory access, bpf, perf events, io_uring (whose
operations bypass seccomp), userfaultfd, kernel modules, kexec, clock setting, ...

Written by hand as classic BPF and installed with prctl: pyseccomp (the PyPI wrapper of libseccomp)
has had no release since 2021 and needs libseccomp.so at run time, and the official libseccomp
bindings are not on PyPI. A deny-list keeps the filter short (about 60 instructions, one pass per
syscall); everything else is allowed, so numpy, sympy, threads and subprocesses work unchanged.
Refused calls fail with EPERM (`clone3` with ENOSYS, so glibc falls back to `clone`, whose flags the
filter can inspect). On an architecture without a table here the layer is off (`available()`).

With `notify_exit`, `exit_group` is reported to a listener (seccomp user notification) before the
kernel runs it: the slot keeper learns the runner's exit code from the syscall's own argument, which
the snippet cannot forge, milliseconds before the wait status (which comes only after the kernel has
torn down the process's ~150 MiB address space). The keeper then answers "continue" at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import struct
from typing import Any

from r1ci.sandbox import linux

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_BIT = 0x40000000

# name -> (x86_64, aarch64) syscall numbers
_DENIED: dict[str, tuple[int, int]] = {
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "pidfd_getfd": (438, 438),
    "kcmp": (312, 272),
    "unshare": (272, 97),
    "setns": (308, 268),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "keyctl": (250, 219),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "open_by_handle_at": (304, 265),
    "name_to_handle_at": (303, 264),
    "fanotify_init": (300, 262),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "reboot": (169, 142),
    "sethostname": (170, 161),
    "setdomainname": (171, 162),
    "acct": (163, 89),
    "quotactl_fd": (443, 443),
    "syslog": (103, 116),
    "personality": (135, 92),
}
_CLONE = (56, 220)
_CLONE3 = (435, 435)
_EXIT_GROUP = (231, 94)
_SECCOMP = (317, 277)
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
_NAMESPACE_FLAGS = (
    0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80
)

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_USER_NOTIF = 0x7FC00000
_SET_MODE_FILTER = 1
_FLAG_NEW_LISTENER = 1 << 3
_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif)
_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp)
_USER_NOTIF_FLAG_CONTINUE = 1
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16


def available() -> str | None:
    """None if the filter can be built for this machine, else why not."""
    machine = os.uname().machine
    return None if machine in _AUDIT_ARCH else f"no syscall table for {machine}"


def denied_syscalls() -> list[str]:
    return [*sorted(_DENIED), "clone/clone3 with namespace flags"]


def _ins(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


def build_filter(machine: str | None = None, notify_exit: bool = False) -> bytes:
    """The BPF program as bytes (struct sock_filter[]), for this or the given architecture."""
    machine = machine or os.uname().machine
    col = 0 if machine == "x86_64" else 1
    denied = [nrs[col] for nrs in _DENIED.values()]
    eperm = _RET_ERRNO | errno.EPERM
    prog = [
        _ins(_LD_W_ABS, _OFF_ARCH),
        _ins(_JEQ, _AUDIT_ARCH[machine], 1, 0),
        _ins(_RET, _RET_KILL_PROCESS),  # a foreign syscall ABI (e.g. 32-bit int 0x80): no table for it
        _ins(_LD_W_ABS, _OFF_NR),
    ]
    if machine == "x86_64":  # the x32 ABI numbers its syscalls from 0x40000000
        prog += [_ins(_JGE, _X32_BIT, 0, 1), _ins(_RET, eperm)]
    if notify_exit:
        prog += [_ins(_JEQ, _EXIT_GROUP[col], 0, 1), _ins(_RET, _RET_USER_NOTIF)]
    prog += [
        _ins(_JEQ, _CLONE[col], 0, 4),
        _ins(_LD_W_ABS, _OFF_ARG0),  # clone's flags (low 32 bits; little-endian)
        _ins(_JSET, _NAMESPACE_FLAGS, 0, 1),
        _ins(_RET, eperm),
        _ins(_RET, _RET_ALLOW),
        _ins(_JEQ, _CLONE3[col], 0, 1),
        _ins(_RET, _RET_ERRNO | errno.ENOSYS),  # its flags live in memory BPF cannot read
    ]
    n = len(denied)
    prog += [_ins(_JEQ, nr, n - i, 0) for i, nr in enumerate(denied)]
    prog += [_ins(_RET, _RET_ALLOW), _ins(_RET, eperm)]
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_PROGRAMS: dict[bool, bytes] = {}


def _program(notify_exit: bool) -> tuple[Any, _SockFprog]:
    code = _PROGRAMS.get(notify_exit)
    if code is None:
        code = _PROGRAMS[notify_exit] = build_filter(notify_exit=notify_exit)
    buf = ctypes.create_string_buffer(code, len(code))
    return buf, _SockFprog(len(code) // 8, ctypes.cast(buf, ctypes.c_void_p).value)


def prepare() -> None:
    """Build both programs now (in the fork server), so installing one costs a single syscall."""
    if available() is None:
        _program(False)
        _program(True)


def install() -> None:
    """Apply the filter to this process for good (needs no_new_privs or CAP_SYS_ADMIN)."""
    _buf, prog = _program(False)
    linux.prctl(linux.PR_SET_SECCOMP, linux.SECCOMP_MODE_FILTER, ctypes.c_void_p(ctypes.addressof(prog)))


def install_with_exit_listener() -> int:
    """Apply the filter with exit_group reported to a listener -> the listener's descriptor."""
    _buf, prog = _program(True)
    col = 0 if os.uname().machine == "x86_64" else 1
    fd = linux.syscall(_SECCOMP[col], _SET_MODE_FILTER, _FLAG_NEW_LISTENER, ctypes.addressof(prog))
    return int(fd)


class _Data(ctypes.Structure):
    _fields_ = [
        ("nr", ctypes.c_int),
        ("arch", ctypes.c_uint32),
        ("ip", ctypes.c_uint64),
        ("args", ctypes.c_uint64 * 6),
    ]


class _Notif(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_uint64),
        ("pid", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("data", _Data),
    ]


class _Resp(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_uint64),
        ("val", ctypes.c_int64),
        ("error", ctypes.c_int32),
        ("flags", ctypes.c_uint32),
    ]


def next_exit(listener: int) -> tuple[int, int]:
    """Receive one exit_group notification and let it proceed -> (thread id, exit code)."""
    notif = _Notif()
    fcntl.ioctl(listener, _NOTIF_RECV, notif)
    resp = _Resp(notif.id, 0, 0, _USER_NOTIF_FLAG_CONTINUE)
    with contextlib.suppress(OSError):  # ENOENT: the thread was killed meanwhile
        fcntl.ioctl(listener, _NOTIF_SEND, resp)
    return int(notif.pid), int(notif.data.args[0]) & 0xFF
