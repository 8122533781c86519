"""What `r1ci sandbox serve` allows a client: the typed service config, its caps on every client-supplied
limit, the bearer tokens, and admission control (a bounded wait for a free worker, then 429).

A client may ask for less than the server's maxima, never for more: `grant` clamps each request to
`ServiceConfig`'s caps and says which fields it clamped, so the response can report the limits that
really applied.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import os
import time
from dataclasses import dataclass, field

from pydantic import Field, field_validator

from r1ci.config import StrictModel
from r1ci.sandbox.limits import MiB, SandboxLimits

TOKEN_ENV = "R1CI_SANDBOX_TOKEN"
MIN_TOKEN_CHARS = 16


class ServiceConfig(StrictModel):
    """Server-side bounds of the HTTP service (each one caps what a client can make it do).

    Memory the service may hold for requests is bounded by about (workers + max_queue) x (max_body_bytes
    + 2 max_output_bytes + 4/3 max_fetch_bytes) x a small factor for copies; bodies are read only after
    the token checked out, so a client without one makes it buffer nothing.
    """

    tokens: list[str] = Field(
        default_factory=list, repr=False, description=f"bearer tokens accepted (default: ${TOKEN_ENV})"
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host header values accepted besides loopback names and the bound address ('*' = any)",
    )
    max_run_timeout_s: float = Field(60.0, gt=0, description="cap on run_timeout")
    max_memory_mb: int = Field(4096, gt=0, description="cap on memory_limit_MB")
    max_output_bytes: int = Field(1 * MiB, gt=0, description="cap on max_output_bytes (per stream)")
    max_fetch_bytes: int = Field(4 * MiB, gt=0, description="total bytes of fetch_files returned per request")
    max_files: int = Field(64, gt=0, description="entries allowed in files and in fetch_files")
    max_body_bytes: int = Field(8 * MiB, gt=0, description="request body limit (413 beyond)")
    max_queue: int = Field(64, ge=0, description="requests waiting for a free worker (429 beyond)")
    queue_timeout_s: float = Field(30.0, gt=0, description="longest wait for a free worker (then 429)")
    header_timeout_s: float = Field(10.0, gt=0, description="time to send the request line and headers")
    body_timeout_s: float = Field(30.0, gt=0, description="time to send the request body (408 beyond)")
    write_timeout_s: float = Field(30.0, gt=0, description="time a client may take to read a response")
    keep_alive_s: int = Field(5, gt=0, description="idle keep-alive connections are closed after this")
    max_header_bytes: int = Field(16 * 1024, ge=1024, description="request line + headers size limit")
    max_connections: int = Field(256, gt=0, description="open connections; newer ones are closed at once")
    max_sessions: int = Field(64, gt=0, description="live sessions in all")
    max_sessions_per_token: int | None = Field(
        None, gt=0, description="live sessions one token may hold (default: max_sessions / tokens)"
    )

    @field_validator("tokens")
    @classmethod
    def _strong_tokens(cls, tokens: list[str]) -> list[str]:
        for token in tokens:
            if len(token) < MIN_TOKEN_CHARS or token != token.strip() or any(c.isspace() for c in token):
                raise ValueError(
                    f"a token must be at least {MIN_TOKEN_CHARS} characters without spaces (got one of "
                    f"{len(token)}); make one with `openssl rand -hex 24`"
                )
        return tokens

    def with_env_token(self) -> ServiceConfig:
        """This config, with $R1CI_SANDBOX_TOKEN added when no token was configured."""
        env = os.environ.get(TOKEN_ENV, "").strip()
        if self.tokens or not env:
            return self
        return ServiceConfig.model_validate({**self.model_dump(), "tokens": [env]})

    def sessions_per_token(self) -> int:
        if self.max_sessions_per_token is not None:
            return min(self.max_sessions_per_token, self.max_sessions)
        return max(1, self.max_sessions // max(1, len(self.tokens)))


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(host: str, config: ServiceConfig) -> None:
    """Refuse to serve a non-loopback address without a token: anyone who can reach it could run code."""
    if not config.tokens and not is_loopback(host):
        raise ValueError(
            f"refusing to serve the sandbox on {host!r} without a token: anyone who can reach it could run "
            f"code. Set {TOKEN_ENV}=<secret> (or pass --token), or bind 127.0.0.1"
        )


def principal_of(token: str | None) -> str:
    """Who a request acts as: sessions are keyed by it. Anonymous (no tokens configured) is ''."""
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else ""


@dataclass(frozen=True)
class Granted:
    """The limits one request runs with, after the server's caps."""

    timeout_s: float
    memory_mb: int
    max_output_bytes: int
    clamped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "run_timeout": self.timeout_s,
            "memory_limit_MB": self.memory_mb,
            "max_output_bytes": self.max_output_bytes,
            "clamped": list(self.clamped),
        }


def grant(
    config: ServiceConfig,
    defaults: SandboxLimits,
    *,
    run_timeout: float,
    memory_limit_mb: int,
    max_output_bytes: int | None,
) -> Granted:
    """Clamp a request's limits to the caps. 0 (timeout), <= 0 (memory) and None (output) mean the default."""
    clamped: list[str] = []

    def pick(name: str, asked: float | None, default: float, cap: float) -> float:
        if asked is None or asked <= 0:
            return min(default, cap)
        if asked > cap:
            clamped.append(name)
            return cap
        return asked

    timeout = pick("run_timeout", run_timeout, defaults.timeout_s, config.max_run_timeout_s)
    memory = pick("memory_limit_MB", memory_limit_mb, defaults.memory_mb, config.max_memory_mb)
    output = pick("max_output_bytes", max_output_bytes, defaults.max_output_bytes, config.max_output_bytes)
    return Granted(float(timeout), int(memory), int(output), tuple(clamped))


class Busy(Exception):
    """No worker became free in time, or too many requests already wait: answer 429 with Retry-After."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass
class Admission:
    """`slots` requests run at once; at most `max_waiting` wait for a slot, each for at most `timeout_s`.

    The executor then never holds a backlog of its own: what waits, waits here, where it is bounded in
    number and in time and can be refused with a useful Retry-After.
    """

    slots: int
    max_waiting: int
    timeout_s: float
    running: int = 0
    waiting: int = 0
    _mean_s: float = 1.0
    _sem: asyncio.Semaphore | None = field(default=None, repr=False)

    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:  # created on first use, inside the server's event loop
            self._sem = asyncio.Semaphore(self.slots)
        return self._sem

    def retry_after(self) -> int:
        backlog = (self.waiting + self.running) / max(1, self.slots)
        return max(1, min(60, math.ceil(backlog * self._mean_s)))

    async def acquire(self) -> float:
        sem = self._semaphore()
        # Counted before any await: wait_for() runs acquire() in a task, so the semaphore alone would
        # still look free to every request arriving in the same loop iteration.
        if self.running + self.waiting >= self.slots + self.max_waiting:
            raise Busy(
                f"the sandbox is busy: {self.running} running and {self.waiting} waiting (the server's "
                "max_queue); retry later or lower the client's concurrency",
                self.retry_after(),
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(sem.acquire(), self.timeout_s)
        except asyncio.TimeoutError:
            raise Busy(
                f"no sandbox worker became free within {self.timeout_s:g}s; retry later",
                self.retry_after(),
            ) from None
        finally:
            self.waiting -= 1
        self.running += 1
        return time.monotonic()

    def release(self, started: float) -> None:
        self.running -= 1
        self._mean_s = 0.9 * self._mean_s + 0.1 * (time.monotonic() - started)
        self._semaphore().release()
