"""Process management of the fork server, seen from the executor: start it, hand-shake, stop it, reap it.

The executor's reactor thread calls these; the protocol spoken afterwards lives in `local.py` and
`forkserver.py`. The server imports what this process can import (same sys.path, r1ci's own source
first) while `-I` keeps PYTHON* variables and the user site out of it, and it starts with an
allow-listed environment, so no secret of the caller (an API key) is there for a child to leak.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import r1ci
from r1ci.sandbox import wire
from r1ci.sandbox.executor import SandboxError
from r1ci.sandbox.isolation import remove_tree


def server_environment() -> dict[str, str]:
    """The fork server's whole environment: nothing secret is inherited, so no child can leak it."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": "/",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    for name in ("LD_LIBRARY_PATH", "TZ"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


@dataclass
class ServerProcess:
    """One running fork server: its process, the executor's end of its socket, and its "ready" report."""

    proc: subprocess.Popen[bytes]
    sock: Any
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, config: dict[str, Any], startup_timeout_s: float) -> ServerProcess:
        """Spawn the server and wait for its "ready" report (SandboxError if it fails or is too slow)."""
        parent_sock, child_sock = wire.socketpair()
        src_dir = os.path.dirname(os.path.dirname(os.path.abspath(r1ci.__file__)))
        paths = [src_dir] + [p for p in sys.path if p and os.path.isdir(p) and p != src_dir]
        boot = (
            f"import sys; sys.path[:0] = [p for p in {paths!r} if p not in sys.path]; "
            f"from r1ci.sandbox.forkserver import main; main({child_sock.fileno()}, sys.argv[1])"
        )
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-c", boot, json.dumps(dict(config, parent_pid=os.getpid()))],
                pass_fds=[child_sock.fileno()],
                env=server_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                cwd="/",
            )
        finally:
            child_sock.close()
        server = cls(proc, parent_sock)
        parent_sock.settimeout(startup_timeout_s)
        try:
            got = wire.recv(parent_sock)
        except (TimeoutError, OSError, ValueError) as exc:
            server.stop()
            raise SandboxError(f"the fork server did not report ready: {exc}") from exc
        if got is None or got[0].get("op") != "ready":
            detail = got[0].get("error", "") if got else "it exited (see its traceback above)"
            server.stop()
            raise SandboxError(f"the fork server failed to start: {detail}")
        parent_sock.settimeout(None)
        server.info = got[0]
        return server

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask it to shut down (it kills every child it still has), then reap it."""
        with contextlib.suppress(OSError):
            wire.send(self.sock, {"op": "shutdown"})
        self.sock.close()
        self.reap(timeout_s)

    def reap(self, timeout_s: float) -> None:
        """Wait for the process; remove what it could not clean up itself because it was killed."""
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        root = self.info.get("workroot")
        if root and os.path.isdir(root):
            time.sleep(0.05)  # its spares die with it (PR_SET_PDEATHSIG); let them go first
            remove_tree(root)
        cgroups = self.info.get("cgroup_dirs") or []
        if cgroups:
            from r1ci.sandbox.cgroups import remove_executor_cgroups

            remove_executor_cgroups(cgroups)
