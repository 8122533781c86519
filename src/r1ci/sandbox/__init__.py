"""The code-interpreter sandbox: the only place model-written code runs.

    from r1ci.sandbox import execute, execute_many, get_executor
    r = execute("print(2**100)", timeout_s=10, memory_mb=1024, max_output_bytes=65536)
    r.status, r.stdout        # "ok", "1267650600228229401496703205376\\n"
    results = execute_many(codes)                      # concurrent across a pool, order kept
    ex = get_executor("local" | "http://HOST:PORT" | "sandboxfusion:http://HOST:PORT")

How it runs: a fork server (a long-lived interpreter that imported numpy, sympy, math, itertools,
collections, re, fractions, ... once) keeps one *keeper* process per pool slot, and each keeper forks a
*runner* per execution ahead of need; the runner locks itself down, waits for its request, runs the
snippet like `python -c`, and the keeper reports how it ended. A pool of `workers` (default: the CPUs
available) runs snippets concurrently; `arun` serves asyncio, `r1ci sandbox serve` serves HTTP with
SandboxFusion's `/run_code` API. `session_id=...` keeps one runner (and its variables) alive across
calls of one trajectory, frozen between calls, until it idles out.

What is covered (tests in tests/sandbox/test_hostile.py and test_containment.py, each attacking from
inside and checking from outside):
- Memory: a per-execution cgroup caps everything the execution's processes hold (heap, forked
  children, SysV shm, memfd, tmpfs files in /tmp and /dev/shm) at what the warm child holds plus
  `memory_mb`; the cgroup OOM kill is reported as status "memory", and `max_rss_mb` is the cgroup's peak.
  RLIMIT_AS still turns a single huge allocation into a clean MemoryError.
- CPU: the whole execution (every process it forks) gets `cpu_time_s` of CPU, counted by the cgroup
  (status "timeout"), and a CPU quota (`cpus`); RLIMIT_CPU per process on top.
- Wall clock: the keeper is pid 1 of the execution's pid namespace; killing it at the deadline makes the
  kernel kill every process the snippet started (daemons and double forks included). No leftovers:
  10,000 executions leave no process, cgroup, mount, file or descriptor (`r1ci sandbox bench --leak-check`).
- A supervisor that trusts nothing the snippet writes: exit code and signal come from the kernel (the
  argument of the runner's own exit_group, seen through a seccomp user notification, or its wait
  status), CPU and memory from cgroup counters, all reported by the keeper over a socket the snippet
  never holds. SIGKILL, SIGSEGV and abort are reported as deaths by those signals. Every message is
  parsed defensively: a malformed one fails only its own job, never the executor. Per-call limits and
  timeouts are clamped to the executor's maxima.
- A minimal filesystem: each execution sees only /usr, the interpreter's prefix and site-packages (all
  read-only), a minimal /dev (null, zero, full, random, urandom, its own devpts), its own /proc, and a
  fresh size-capped tmpfs /tmp (its working directory) and /dev/shm. No reference data, homes,
  checkouts, /sys or host mount table; private SysV IPC with small limits.
- Isolation between executions: each has its own network namespace (no interface, not even loopback,
  and no abstract unix sockets shared with another execution or the host), IPC and mount namespace;
  slots run under uids drawn at random per executor and claimed host-wide, so two executors (DDP ranks,
  two runs) never share a uid, an RLIMIT_NPROC count or a keyring; `random` and numpy are reseeded.
- Kernel surface: a seccomp filter refuses new namespaces (no user namespaces), mount, keyrings, ptrace
  and cross-process memory access, bpf, perf_event_open, io_uring, userfaultfd, module and kexec
  calls, ...; no_new_privs, no capabilities.
- Output is capped per stream (`max_output_bytes`, marker), a flood past `kill_output_bytes` is killed;
  no inherited secrets (allow-listed environment); the caller survives anything the snippet does.

What is not covered:
- The kernel is shared: this is not a VM or gVisor, and kernel exploits are out of scope.
- Kernel layers need root (or, for the cgroup layer, a delegated cgroup v2 subtree). Without them
  (`r1ci sandbox info` shows each layer and why it is off; the sandbox warns once) the rlimits, the
  audit-hook guard and process-group/subreaper cleanup remain: a tripwire, not a wall (ctypes calls
  libc without audit events).
- A session's end-of-turn report comes from the session's own process, so a snippet can forge its own
  turn's exit code; the session is frozen as soon as a turn reports, so nothing runs past its turn.
- Timing side channels, and CPU caches and memory bandwidth shared with other executions, remain.
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
