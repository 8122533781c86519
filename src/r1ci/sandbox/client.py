"""`HTTPExecutor`: the same Executor interface over HTTP, against `r1ci sandbox serve` or SandboxFusion.

flavor="r1ci": our service; results round-trip exactly (the response's `r1ci` field), sessions work,
and the bearer token (`token=`, else $R1CI_SANDBOX_TOKEN) is sent with every request.
flavor="sandboxfusion": any SandboxFusion deployment; its response is mapped onto ExecutionResult
(TimeLimitExceeded -> "timeout", a MemoryError traceback -> "memory", a negative return code ->
"killed") and output is cut to `max_output_bytes` here, since SandboxFusion does not limit it. It gets
no token unless one is passed explicitly (ours must not leak to a third-party deployment).
Sessions need our service: SandboxFusion's /run_code is stateless.

Retries: only when the request never reached the server (connection refused or not established,
no free connection). A read timeout, a dropped connection after sending, or any HTTP error status is
final: the server may already have run the snippet, and a snippet must never run twice.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

import httpx
from typing_extensions import Unpack

from r1ci.sandbox.executor import Executor, RunOptions, SandboxError, check_code
from r1ci.sandbox.limits import SandboxLimits
from r1ci.sandbox.result import ExecutionResult, Status, truncation_marker
from r1ci.sandbox.service_limits import TOKEN_ENV  # the variable `r1ci sandbox serve` reads too

Flavor = Literal["r1ci", "sandboxfusion"]
# The request never left: safe to send again. Everything else in httpx.TransportError may have been
# received and run (ReadTimeout, RemoteProtocolError, WriteError, ...).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_STATUS_HINTS = {
    401: "the service wants a token: set R1CI_SANDBOX_TOKEN (or pass token=) to the server's token",
    404: "unknown endpoint or session",
    408: "the request body was sent too slowly",
    413: "the request is over the server's body limit (shorter code, fewer or smaller files)",
    429: "the service is busy (its queue is full); lower the client's concurrency or raise --max-queue",
}


class HTTPExecutor(Executor):
    """Runs snippets on a remote sandbox service; `max_connections` requests run concurrently."""

    def __init__(
        self,
        url: str,
        *,
        flavor: Flavor = "r1ci",
        limits: SandboxLimits | None = None,
        token: str | None = None,
        max_connections: int = 32,
        retries: int = 2,
        busy_retries: int = 6,
        request_margin_s: float = 60.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"sandbox URL must start with http:// or https://, got {url!r}")
        if flavor not in ("r1ci", "sandboxfusion"):
            raise ValueError(f"flavor must be 'r1ci' or 'sandboxfusion', got {flavor!r}")
        self.url = url.rstrip("/")
        self.flavor = flavor
        self.limits = limits or SandboxLimits()
        self.retries = retries
        self.busy_retries = busy_retries
        self.request_margin_s = request_margin_s
        if token is None and flavor == "r1ci":
            token = os.environ.get(TOKEN_ENV, "").strip() or None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # Idle connections are dropped before the server's keep-alive timeout (5 s by default) could
        # close one under a request being sent on it: that race is not retryable.
        self._client = httpx.Client(
            headers=headers,
            limits=httpx.Limits(max_connections=max_connections, keepalive_expiry=2.0),
        )
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
        # The server bounds its queue wait; the margin covers that wait plus the transfer.
        resp = self._request("POST", "/run_code", json=payload, timeout=limits.timeout_s + self.request_margin_s)
        return parse_response(_json(resp, self.url), limits.max_output_bytes)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, re-sent only if it never reached the server or the server refused it unrun.

        A 429 is an admission refusal (the service counts its queue before it runs anything), so it
        is waited out per `Retry-After` up to `busy_retries` times; every other HTTP error raises.
        """
        url = f"{self.url}{path}"
        last: Exception | None = None
        unsent = busy = 0
        while True:
            try:
                resp = self._client.request(method, url, **kwargs)
            except _NOT_SENT as exc:
                last, unsent = exc, unsent + 1
                if unsent > self.retries:
                    raise SandboxError(
                        f"sandbox service {url} unreachable after {unsent} attempts: {last}"
                    ) from exc
                time.sleep(0.2 * 2 ** (unsent - 1))
                continue
            except httpx.TransportError as exc:
                raise SandboxError(
                    f"sandbox service {url}: {type(exc).__name__}: {exc} (not retried: the server may "
                    "have run the code already)"
                ) from exc
            if resp.status_code == 429 and busy < self.busy_retries:
                busy += 1
                time.sleep(_retry_after_s(resp, default=0.5 * 2 ** (busy - 1)))
                continue
            if resp.status_code >= 400:
                raise SandboxError(_status_message(url, resp))
            return resp

    def close_session(self, session_id: str) -> None:
        if self.flavor != "r1ci":
            return
        try:
            self._request("POST", "/close_session", json={"session_id": session_id}, timeout=10)
        except SandboxError as exc:
            if "HTTP 404" not in str(exc):  # unknown session: closing is a no-op, as locally
                raise

    def info(self) -> dict[str, Any]:
        if self.flavor == "sandboxfusion":
            return {"backend": "sandboxfusion", "url": self.url}
        data = _json(self._request("GET", "/info", timeout=10), self.url)
        return {**data, "backend": f"r1ci service at {self.url}"}

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()


def _retry_after_s(resp: httpx.Response, default: float) -> float:
    """The server's Retry-After in seconds (bounded to 30 s so a bad header cannot park a worker)."""
    try:
        wait = float(resp.headers.get("retry-after", default))
    except ValueError:
        wait = default
    return min(max(wait, 0.05), 30.0)


def _status_message(url: str, resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail", resp.text)
    except ValueError:
        detail = resp.text
    hint = _STATUS_HINTS.get(resp.status_code, "")
    retry = resp.headers.get("retry-after")
    extra = f" (Retry-After: {retry}s)" if retry else ""
    return f"sandbox service {url}: HTTP {resp.status_code}: {str(detail)[:500]}{extra}" + (
        f"; {hint}" if hint else ""
    )


def _json(resp: httpx.Response, url: str) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError as exc:
        raise SandboxError(f"sandbox service {url} answered something other than JSON: {resp.text[:200]!r}") from exc
    if not isinstance(data, dict):
        raise SandboxError(f"sandbox service {url} answered {type(data).__name__}, not a JSON object")
    return data


def parse_response(data: dict[str, Any], max_output_bytes: int) -> ExecutionResult:
    """A /run_code response (ours or SandboxFusion's) -> ExecutionResult."""
    run = data.get("run_result") or {}
    if isinstance(data.get("r1ci"), dict):
        # Our service sends stdout/stderr once, in run_result (older versions also inside `r1ci`).
        return ExecutionResult.from_dict(
            {"stdout": run.get("stdout") or "", "stderr": run.get("stderr") or "", **data["r1ci"]}
        )
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
