"""A uid range of its own for every executor on the host.

Each sandbox slot runs under uid `base + slot`. RLIMIT_NPROC, kernel keyrings and signal permissions
all follow the uid, so two executors (two DDP ranks, two r1ci runs, a test suite next to a training
run) must never share one. `claim_range` draws the base at random from a large space, far above login
users, systemd's dynamic users (61184-65519) and typical /etc/subuid ranges, and claims it host-wide
with an flock on a file named after it: the kernel drops the lock when the process dies, so a crashed
executor never strands its range.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import tempfile
from dataclasses import dataclass

UID_FLOOR = 1_000_000_000
_BLOCK = 4096  # ranges are aligned blocks: two bases never overlap as long as slots <= _BLOCK
_BLOCKS = 2**19  # up to UID_FLOOR + 2**31: below 2**32 - 1 (the "no uid" value)
_LOCK_DIRS = ("/run/r1ci-sandbox", os.path.join(tempfile.gettempdir(), "r1ci-sandbox-uids"))


@dataclass
class UidClaim:
    base: int
    size: int
    lock_fd: int | None = None
    lock_file: str | None = None

    def contains(self, uid: int) -> bool:
        return self.base <= uid < self.base + self.size

    def release(self) -> None:
        if self.lock_fd is not None:
            if self.lock_file is not None:  # removed while still locked: no one else can hold it now
                with contextlib.suppress(OSError):
                    os.unlink(self.lock_file)
            with contextlib.suppress(OSError):
                os.close(self.lock_fd)
            self.lock_fd = None


def _lock(base: int) -> tuple[int, str] | None:
    """flock the file for `base` -> (fd, path), or None if another live process holds it."""
    for directory in _LOCK_DIRS:
        path = os.path.join(directory, f"{base}.lock")
        try:
            os.makedirs(directory, mode=0o755, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        if os.path.exists(path) and os.stat(path).st_ino == os.fstat(fd).st_ino:
            return fd, path
        os.close(fd)  # its holder removed it as we opened it: that base was just released, try again
        return _lock(base)
    return -1, ""  # nowhere to keep a lock: the random draw alone has to do


def claim_range(size: int, base: int | None = None, attempts: int = 64) -> UidClaim:
    """A uid range of `size` uids that no other live executor on this host holds."""
    if size > _BLOCK:
        raise ValueError(f"at most {_BLOCK} sandbox slots per executor, got {size}")
    if base is not None:
        got = _lock(base)
        if got is None:
            raise ValueError(f"uid_base {base} is in use by another executor on this host; omit uid_base")
        return _claim(base, size, got)
    for _ in range(attempts):
        candidate = UID_FLOOR + secrets.randbelow(_BLOCKS) * _BLOCK
        got = _lock(candidate)
        if got is not None:
            return _claim(candidate, size, got)
    raise RuntimeError("could not claim a free sandbox uid range")


def _claim(base: int, size: int, lock: tuple[int, str]) -> UidClaim:
    fd, path = lock
    return UidClaim(base, size, fd if fd >= 0 else None, path or None)
