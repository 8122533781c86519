"""The code-interpreter sandbox: the only place model-written code runs.

    from r1ci.sandbox import execute, execute_many, get_executor
    r = execute("print(2**100)", timeout_s=10, memory_mb=1024, max_output_bytes=65536)
    r.status, r.stdout        # "ok", "1267650600228229401496703205376\\n"
    results = execute_many(codes)                      # concurrent across a pool, order kept
    ex = get_executor("local" | "http://HOST:PORT" | "sandboxfusion:http://HOST:PORT")

How it runs: a fork server (a long-lived interpreter that imported numpy, sympy, math, itertools,
collections, re, fractions, ... once) forks one child per execution ahead of need; the child locks
itself down, runs the snippet like `python -c`, and reports. A pool of `workers` (default: the CPUs
available) runs snippets concurrently; `arun` serves asyncio, `r1ci sandbox serve` serves HTTP with
SandboxFusion's `/run_code` API. `session_id=...` keeps one child (and its variables) alive across
calls of one trajectory, until it idles out.

What is covered (each has a test in tests/sandbox/test_hostile.py):
- Wall-clock timeout: the child and everything it started are killed (status "timeout").
- CPU time (RLIMIT_CPU), address space (RLIMIT_AS: MemoryError -> status "memory"), number of
  processes (RLIMIT_NPROC under a per-execution uid: fork bombs are contained), file size
  (RLIMIT_FSIZE), open files (RLIMIT_NOFILE), core dumps off.
- Output: each stream keeps `max_output_bytes` and is cut with a marker; the parent drains and
  discards the rest (memory stays bounded) and kills a snippet that floods past `kill_output_bytes`.
- No network: the children live in an empty network namespace (no interface, not even loopback),
  and the in-process guard refuses sockets and name lookups.
- Files: the whole filesystem is mounted read-only for the child; its working directory (and /tmp,
  /dev/shm) is a fresh size-capped tmpfs that vanishes with it. The project, the host's /tmp and
  $HOME stay untouched; $HOME of the caller is not even visible.
- No inherited secrets: the fork server starts with an allow-listed environment, so e.g. an
  OPENAI_API_KEY of the caller is not there to leak.
- No leftovers: each child is pid 1 of its own pid namespace, so when it ends the kernel kills every
  process it started, daemonised and double-forked ones included. Zombies are reaped, tmpfs freed.
- Privileges: the child drops to its own unprivileged uid (root's exemptions from rlimits,
  permissions and signalling do not apply), with no_new_privs and no capabilities.
- The caller survives anything the snippet does: os.kill of its parent, sys.exit, os._exit,
  segfaults (ctypes), closing stdout, killing its fork server (which is restarted).

What is not covered:
- Kernel layers need root (CAP_SYS_ADMIN, CAP_SETUID). Without them (`r1ci sandbox info` shows
  which are off, and the sandbox warns once) rlimits, the audit-hook guard and process-group /
  subreaper cleanup remain, and the guard then also refuses fork/exec/kill. That guard is a
  tripwire, not a wall: code using ctypes calls libc without raising audit events.
- No seccomp syscall filter, no cgroup memory/CPU accounting (memory is address space, not RSS),
  and the kernel itself is shared: this is not a VM. Kernel exploits are out of scope.
- Children of one executor share one network namespace (abstract unix sockets between concurrent
  snippets are possible) and can read world-readable files of the host (read-only).
- Sessions re-arm CPU time per turn but keep one address-space limit for their whole life.
"""

import importlib
from typing import Any

# Exports resolve lazily (PEP 562): the fork server imports r1ci.sandbox.forkserver, and must not pay
# for (or depend on) pydantic, rich or httpx, which only the caller's side uses.
_EXPORTS = {
    "ExecutionResult": "r1ci.sandbox.result",
    "Executor": "r1ci.sandbox.executor",
    "LocalExecutor": "r1ci.sandbox.local",
    "SandboxError": "r1ci.sandbox.executor",
    "SandboxLimits": "r1ci.sandbox.limits",
    "close_default_executor": "r1ci.sandbox.executor",
    "default_executor": "r1ci.sandbox.executor",
    "execute": "r1ci.sandbox.executor",
    "execute_many": "r1ci.sandbox.executor",
    "get_executor": "r1ci.sandbox.executor",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'r1ci.sandbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
