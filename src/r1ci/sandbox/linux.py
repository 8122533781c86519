"""Thin ctypes wrappers over the Linux syscalls the sandbox needs and Python 3.10/3.11 lacks.

`os.unshare`/`os.setns` only arrived in Python 3.12, `mount`/`mount_setattr`/`prctl` are not in the
standard library at all. Each wrapper raises `OSError` with the errno, like the `os` module does.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
_AT_FDCWD = -100
_AT_RECURSIVE = 0x8000
_SYS_MOUNT_SETATTR = 442  # same number on x86_64 and aarch64 (unified syscall table since 5.x)

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
MOUNT_ATTR_NODEV = 0x4


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def syscall(number: int, *args: int) -> int:
    """A raw syscall with integer arguments -> its result (OSError on -1)."""
    ret = int(_libc.syscall(number, *(ctypes.c_long(a) for a in args)))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"syscall {number}: {os.strerror(err)}")
    return ret


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()

    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def mount_setattr_recursive(path: str, attr_set: int, attr_clr: int = 0, *, recursive: bool = True) -> None:
    """Set (or clear) mount attributes, e.g. read-only, on `path` and every mount below it (Linux >= 5.12)."""
    attr = ctypes.create_string_buffer(struct.pack("QQQQ", attr_set, attr_clr, 0, 0))
    flags = _AT_RECURSIVE if recursive else 0
    ret = _libc.syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, path.encode(), flags, attr, 32)
    _check(int(ret), f"mount_setattr {path}")


MNT_DETACH = 2
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine)


def pivot_root(new_root: str, put_old: str) -> None:
    if _SYS_PIVOT_ROOT is None:
        raise OSError(38, f"pivot_root: unknown syscall number on {os.uname().machine}")
    _check(int(_libc.syscall(_SYS_PIVOT_ROOT, new_root.encode(), put_old.encode())), "pivot_root")


def umount2(target: str, flags: int) -> None:
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def prctl(option: int, arg: int, arg3: int | ctypes.c_void_p = 0) -> None:
    third = arg3 if isinstance(arg3, ctypes.c_void_p) else ctypes.c_ulong(arg3)
    _check(_libc.prctl(option, ctypes.c_ulong(arg), third, 0, 0), f"prctl({option})")


_SYS_CLOSE_RANGE = 436


def close_fds_from(low: int) -> None:
    """Close every descriptor >= low (close_range(2); falls back to walking /proc/self/fd).

    `os.closerange(low, big)` may loop over every number up to `big` on builds without close_range.
    """
    if _libc.syscall(_SYS_CLOSE_RANGE, ctypes.c_uint(low), ctypes.c_uint(0xFFFFFFFF), 0) == 0:
        return
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= low:
            with contextlib.suppress(OSError):
                os.close(fd)
