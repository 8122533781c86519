"""Messages between the executor, the fork server and session children.

One message = one SOCK_SEQPACKET datagram holding a JSON object, optionally carrying file descriptors
(SCM_RIGHTS). Datagram boundaries make framing free; code travels in a memfd, never in the datagram,
so message size stays small whatever the snippet's length.
"""

from __future__ import annotations

import array
import json
import os
import socket
from typing import Any

MAX_MESSAGE = 1 << 16
MAX_FDS = 8
_INT = array.array("i")


def socketpair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def send(sock: socket.socket, msg: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(msg, separators=(",", ":")).encode()
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"sandbox control message is {len(data)} bytes (limit {MAX_MESSAGE})")
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def recv(sock: socket.socket, *, wait: bool = True) -> tuple[dict[str, Any], list[int]] | None:
    """-> (message, fds) or None at EOF. With wait=False raises BlockingIOError when nothing is queued.

    Sockets stay blocking (so sends never fail half-way); only receiving is made non-blocking per call.
    """
    # Not socket.recv_fds: up to at least Python 3.12 it silently ignores its `flags` argument.
    flags = 0 if wait else socket.MSG_DONTWAIT
    data, ancdata, _flags, _addr = sock.recvmsg(
        MAX_MESSAGE, socket.CMSG_SPACE(MAX_FDS * _INT.itemsize), flags
    )
    fds = array.array("i")
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    fds = list(fds)
    if not data:
        for fd in fds:
            os.close(fd)
        return None
    return json.loads(data), fds


def code_memfd(text: str, name: str = "code") -> int:
    """An anonymous in-memory file holding `text`, positioned at offset 0 for the reader."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    data = text.encode("utf-8", errors="surrogatepass")
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def read_fd(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
