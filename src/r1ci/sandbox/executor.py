"""The executor interface, the registry behind `get_executor`, and the module-level `execute` helpers.

Every backend (the local fork-server pool, our HTTP service, a SandboxFusion deployment) implements
`Executor.submit`; `run`, `run_many` and `arun` are built on it, so rollouts never care which one
they talk to:

    ex = get_executor("local")                               # fork-server pool on this machine
    ex = get_executor("http://host:8080")                    # `r1ci sandbox serve` elsewhere
    ex = get_executor("sandboxfusion:http://host:8080")      # an existing SandboxFusion deployment
"""

from __future__ import annotations

import asyncio
import atexit
import importlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypedDict

from typing_extensions import Unpack

from r1ci.sandbox.result import ExecutionResult


class RunOptions(TypedDict, total=False):
    """Per-call options of `Executor.submit/run/arun`; None (or absent) = the executor's default."""

    timeout_s: float | None
    """Wall-clock limit; the snippet is killed after it."""
    memory_mb: int | None
    """Address-space limit."""
    max_output_bytes: int | None
    """stdout/stderr are each truncated past this."""
    session_id: str | None
    """Run in this stateful session (variables persist across calls), created on first use."""
    stdin: str | None
    """Text fed to the snippet's standard input."""


class SandboxError(RuntimeError):
    """The sandbox itself failed (could not start, service unreachable) - not the snippet."""


class Executor(ABC):
    """Runs Python snippets in isolation. Thread-safe; use as a context manager or call close()."""

    @abstractmethod
    def submit(self, code: str, **options: Unpack[RunOptions]) -> Future[ExecutionResult]:
        """Start running `code`; the future resolves to its ExecutionResult (never to the snippet's exception)."""

    @abstractmethod
    def close(self) -> None:
        """Stop the backend; pending and running executions resolve as killed."""

    def close_session(self, session_id: str) -> None:  # noqa: B027 - optional for stateless backends
        """Forget a stateful session now instead of waiting for its idle expiry (no-op if unknown)."""

    def info(self) -> dict[str, Any]:
        """What this backend is and which isolation layers it runs with."""
        return {"backend": type(self).__name__}

    def run(self, code: str, **options: Unpack[RunOptions]) -> ExecutionResult:
        return self.submit(code, **options).result()

    def run_many(
        self,
        codes: Sequence[str],
        *,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
        max_output_bytes: int | None = None,
        progress: bool = False,
    ) -> list[ExecutionResult]:
        """Run all snippets concurrently (bounded by the backend's pool); results keep the input order."""
        if isinstance(codes, str):
            raise TypeError("run_many takes a list of code strings; for one snippet call run(code)")
        futures = [
            self.submit(c, timeout_s=timeout_s, memory_mb=memory_mb, max_output_bytes=max_output_bytes)
            for c in codes
        ]
        if progress and futures:
            _wait_with_progress(futures)
        return [f.result() for f in futures]

    async def arun(self, code: str, **options: Unpack[RunOptions]) -> ExecutionResult:
        return await asyncio.wrap_future(self.submit(code, **options))

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _wait_with_progress(futures: list[Future[ExecutionResult]]) -> None:
    from concurrent.futures import as_completed

    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("sandbox", total=len(futures))
        for _ in as_completed(futures):
            bar.advance(task)


def check_code(code: object, options: RunOptions | None = None) -> str:
    """Reject a non-string snippet, and option names that are not RunOptions (a typo must not pass silently)."""
    if not isinstance(code, str):
        raise TypeError(f"code must be a str of Python source, got {type(code).__name__}")
    unknown = set(options or {}) - set(RunOptions.__annotations__)
    if unknown:
        raise TypeError(
            f"unknown executor options {sorted(unknown)}; valid: {sorted(RunOptions.__annotations__)}"
        )
    return code


# ------------------------------------------------------------------------------------------- registry

# name -> (predicate on the spec string, "module:Class", spec -> constructor arguments). Classes are
# dotted paths imported on use, so this module imports no backend at all: no cycle with the backends
# (which import `Executor` from here), and the local pool never drags in httpx, nor the client the fork server.
_Backend = tuple[Callable[[str], bool], str, Callable[[str], dict[str, Any]]]
_BACKENDS: dict[str, _Backend] = {
    "local": (lambda s: s == "local", "r1ci.sandbox.local:LocalExecutor", lambda _s: {}),
    "sandboxfusion:URL": (
        lambda s: s.startswith("sandboxfusion:"),
        "r1ci.sandbox.client:HTTPExecutor",
        lambda s: {"url": s.removeprefix("sandboxfusion:"), "flavor": "sandboxfusion"},
    ),
    "http(s)://URL": (
        lambda s: s.startswith(("http://", "https://")),
        "r1ci.sandbox.client:HTTPExecutor",
        lambda s: {"url": s, "flavor": "r1ci"},
    ),
}


def register_backend(
    name: str,
    matches: Callable[[str], bool],
    cls: str,
    spec_args: Callable[[str], dict[str, Any]] = lambda _s: {},
) -> None:
    """Add a backend: `cls` is "module:Class", built as Class(**spec_args(spec), **options)."""
    _BACKENDS[name] = (matches, cls, spec_args)


def get_executor(spec: str = "local", **options: Any) -> Executor:
    """A new executor for `spec`: "local", "http(s)://HOST:PORT" or "sandboxfusion:http(s)://HOST:PORT"."""
    for matches, cls, spec_args in _BACKENDS.values():
        if matches(spec):
            module, _, name = cls.partition(":")
            return getattr(importlib.import_module(module), name)(**spec_args(spec), **options)
    raise ValueError(
        f"unknown sandbox executor {spec!r}; use one of: {', '.join(_BACKENDS)} "
        "(e.g. 'local', 'http://127.0.0.1:8080', 'sandboxfusion:http://host:8080')"
    )


# ------------------------------------------------------------------------------- default executor

_default: Executor | None = None
_default_lock = threading.Lock()


def default_executor() -> Executor:
    """The process-wide local pool behind `execute`/`execute_many` (started on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = get_executor("local")
        return _default


def close_default_executor() -> None:
    global _default
    with _default_lock:
        ex, _default = _default, None
    if ex is not None:
        ex.close()


def _forget_default_in_child() -> None:
    # A forked copy of this process shares the parent's pipes but not its reactor thread.
    global _default, _default_lock
    _default = None
    _default_lock = threading.Lock()


atexit.register(close_default_executor)
os.register_at_fork(after_in_child=_forget_default_in_child)


def execute(
    code: str,
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 1024,
    max_output_bytes: int = 65536,
    session_id: str | None = None,
) -> ExecutionResult:
    """Run one snippet in the default local sandbox pool."""
    return default_executor().run(
        code,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        max_output_bytes=max_output_bytes,
        session_id=session_id,
    )


def execute_many(
    codes: Sequence[str],
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 1024,
    max_output_bytes: int = 65536,
    progress: bool = False,
) -> list[ExecutionResult]:
    """Run many snippets concurrently in the default local pool; results keep the input order."""
    return default_executor().run_many(
        codes, timeout_s=timeout_s, memory_mb=memory_mb, max_output_bytes=max_output_bytes, progress=progress
    )
