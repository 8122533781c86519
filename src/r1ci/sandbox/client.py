"""`HTTPExecutor`: the same Executor interface over HTTP, against `r1ci sandbox serve` or SandboxFusion.

flavor="r1ci": our service; results round-trip exactly (the response's `r1ci` field), sessions work.
flavor="sandboxfusion": any SandboxFusion deployment; its response is mapped onto ExecutionResult
(TimeLimitExceeded -> "timeout", a MemoryError traceback -> "memory", a negative return code ->
"killed") and output is cut to `max_output_bytes` here, since SandboxFusion does not limit it.
Sessions need our service: SandboxFusion's /run_code is stateless.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

import httpx
from typing_extensions import Unpack

from r1ci.sandbox.executor import Executor, RunOptions, SandboxError, check_code
from r1ci.sandbox.limits import SandboxLimits
from r1ci.sandbox.result import ExecutionResult, Status, truncation_marker

Flavor = Literal["r1ci", "sandboxfusion"]


class HTTPExecutor(Executor):
    """Runs snippets on a remote sandbox service; `max_connections` requests run concurrently."""

    def __init__(
        self,
        url: str,
        *,
        flavor: Flavor = "r1ci",
        limits: SandboxLimits | None = None,
        max_connections: int = 32,
        retries: int = 2,
        request_margin_s: float = 30.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"sandbox URL must start with http:// or https://, got {url!r}")
        if flavor not in ("r1ci", "sandboxfusion"):
            raise ValueError(f"flavor must be 'r1ci' or 'sandboxfusion', got {flavor!r}")
        self.url = url.rstrip("/")
        self.flavor = flavor
        self.limits = limits or SandboxLimits()
        self.retries = retries
        self.request_margin_s = request_margin_s
        self._client = httpx.Client(limits=httpx.Limits(max_connections=max_connections))
        self._pool = ThreadPoolExecutor(max_workers=max_connections, thread_name_prefix="r1ci-sandbox-http")

    def submit(self, code: str, **options: Unpack[RunOptions]) -> Future[ExecutionResult]:
        check_code(code, options)
        session_id, stdin = options.get("session_id"), options.get("stdin")
        if session_id is not None and self.flavor == "sandboxfusion":
            raise ValueError(
                "sessions need the r1ci service (`r1ci sandbox serve`); SandboxFusion's /run_code is stateless"
            )
        limits = self.limits.override(options.get("timeout_s"), options.get("memory_mb"), options.get("max_output_bytes"))
        payload: dict[str, Any] = {
            "code": code,
            "language": "python",
            "run_timeout": limits.timeout_s,
            "memory_limit_MB": limits.memory_mb,
        }
        if stdin is not None:
            payload["stdin"] = stdin
        if self.flavor == "r1ci":
            payload["max_output_bytes"] = limits.max_output_bytes
            if session_id is not None:
                payload["session_id"] = session_id
        return self._pool.submit(self._post, payload, limits)

    def _post(self, payload: dict[str, Any], limits: SandboxLimits) -> ExecutionResult:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                resp = self._client.post(
                    f"{self.url}/run_code", json=payload, timeout=limits.timeout_s + self.request_margin_s
                )
                resp.raise_for_status()
                return parse_response(resp.json(), limits.max_output_bytes)
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                last = exc
                time.sleep(0.2 * 2**attempt)
        raise SandboxError(f"sandbox service {self.url} failed after {self.retries + 1} attempts: {last}")

    def close_session(self, session_id: str) -> None:
        if self.flavor == "r1ci":
            self._client.post(f"{self.url}/close_session", json={"session_id": session_id}, timeout=10)

    def info(self) -> dict[str, Any]:
        if self.flavor == "sandboxfusion":
            return {"backend": "sandboxfusion", "url": self.url}
        data = self._client.get(f"{self.url}/health", timeout=10).json()
        return {**data, "backend": f"r1ci service at {self.url}"}

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()


def parse_response(data: dict[str, Any], max_output_bytes: int) -> ExecutionResult:
    """A /run_code response (ours or SandboxFusion's) -> ExecutionResult."""
    if isinstance(data.get("r1ci"), dict):
        return ExecutionResult.from_dict(data["r1ci"])
    run = data.get("run_result") or {}
    if data.get("status") == "SandboxError" and not run:
        return ExecutionResult(stderr=f"sandbox error: {data.get('message', '')}\n", status="error")
    stdout, cut_out = _cut(run.get("stdout") or "", max_output_bytes)
    stderr, cut_err = _cut(run.get("stderr") or "", max_output_bytes)
    exit_code = run.get("return_code")
    timed_out = run.get("status") == "TimeLimitExceeded"
    memory = not timed_out and _died_of_memory_error(run.get("stderr") or "")
    status: Status
    if timed_out:
        status = "timeout"
    elif memory:
        status = "memory"
    elif run.get("status") == "Error" or exit_code is None or exit_code < 0:
        status = "killed" if exit_code is not None and exit_code < 0 else "error"
    else:
        status = "ok" if exit_code == 0 else "error"
    return ExecutionResult(
        stdout=stdout,
        stderr=stderr,
        exit_code=exit_code,
        timed_out=timed_out,
        memory_exceeded=memory,
        truncated=cut_out or cut_err,
        duration_s=float(run.get("execution_time") or 0.0),
        status=status,
    )


def _cut(text: str, limit: int) -> tuple[str, bool]:
    data = text.encode("utf-8", errors="surrogateescape")
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", errors="replace") + truncation_marker(limit), True


def _died_of_memory_error(stderr: str) -> bool:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return bool(lines) and lines[-1].startswith(("MemoryError", "numpy.core._exceptions._ArrayMemoryError"))
