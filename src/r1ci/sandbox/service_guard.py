"""The HTTP service's outer wall: what a request must pass before any handler sees it.

- `ServiceGuard` (ASGI middleware): the Host header must be allow-listed (DNS rebinding), the bearer
  token must match (`Authorization: Bearer T`, or HTTP Basic with password T so that a SandboxFusion
  client given `http://user:T@host:port` works), the body must fit `max_body_bytes` and arrive within
  `body_timeout_s`, and a client that does not read its response is cut off after `write_timeout_s`.
- `bounded_protocol`: uvicorn's h11 protocol with a header deadline (uvicorn has none: a client that
  opens a socket and sends half a request line would hold it forever) and a cap on open connections.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from r1ci.sandbox.service_limits import ServiceConfig, principal_of

log = logging.getLogger("r1ci.sandbox.service")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC_PATHS = frozenset({"/health", "/v1/ping"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::", "")


def allowed_hosts(bind_host: str, extra: Iterable[str]) -> frozenset[str]:
    """Host header names accepted: loopback, the bound address (or this machine's names on 0.0.0.0), `extra`."""
    names = {*LOOPBACK_NAMES, *(h.lower().strip("[]") for h in extra)}
    if bind_host in WILDCARD_BINDS:
        with contextlib.suppress(OSError):
            hostname = socket.gethostname()
            names |= {hostname.lower(), socket.getfqdn().lower()}
            names |= set(socket.gethostbyname_ex(hostname)[2])
    else:
        names.add(bind_host.lower().strip("[]"))
    return frozenset(names)


def host_name(header: str) -> str:
    """'example.com:8080' -> 'example.com', '[::1]:8080' -> '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def token_of(authorization: str) -> str | None:
    """The token an Authorization header presents (Bearer T, or Basic with password T)."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def match_token(presented: str | None, tokens: Iterable[str]) -> str | None:
    """The configured token equal to `presented` (compared in constant time against every token)."""
    found = None
    for token in tokens:
        if hmac.compare_digest((presented or "").encode(), token.encode()) and presented:
            found = token
    return found


async def respond(send: Send, status: int, detail: str, headers: Iterable[tuple[str, str]] = ()) -> None:
    """A JSON error, and the connection closed after it (its request may still be half-sent)."""
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(b"connection", b"close")] + [(k.lower().encode(), v.encode()) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class ServiceGuard:
    """ASGI middleware enforcing the checks above; sets scope['state']['principal'] for the handlers."""

    def __init__(self, app: ASGIApp, config: ServiceConfig, hosts: frozenset[str]) -> None:
        self.app = app
        self.config = config
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_name(headers.get("host", ""))
        if "*" not in self.hosts and host not in self.hosts:
            await respond(send, 400, f"Host {host!r} is not allowed; add it with --allow-host")
            return
        token = match_token(token_of(headers.get("authorization", "")), self.config.tokens)
        if self.config.tokens and token is None and scope["path"] not in PUBLIC_PATHS:
            await respond(
                send,
                401,
                "missing or wrong token: send 'Authorization: Bearer <token>' (the client reads "
                "$R1CI_SANDBOX_TOKEN)",
                [("www-authenticate", 'Bearer realm="r1ci-sandbox"')],
            )
            return
        scope.setdefault("state", {})["principal"] = principal_of(token)
        scope["state"]["authenticated"] = token is not None or not self.config.tokens
        body = await self._read_body(scope, headers, receive, send)
        if body is None:
            return
        await self.app(scope, _replay(body, receive), self._timed(send))

    async def _read_body(
        self, scope: Scope, headers: dict[str, str], receive: Receive, send: Send
    ) -> bytes | None:
        """The whole body, bounded in size and time; None after answering 413/408 (or a disconnect)."""
        limit = self.config.max_body_bytes
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await respond(send, 413, f"request body of {int(length)} bytes is over the {limit}-byte limit")
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.body_timeout_s
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                await respond(send, 408, f"request body not received within {self.config.body_timeout_s:g}s")
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await respond(send, 413, f"request body is over the {limit}-byte limit")
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _timed(self, send: Send) -> Send:
        timeout = self.config.write_timeout_s

        async def timed_send(message: Message) -> None:
            # Raising here makes uvicorn drop the connection of a client that stopped reading.
            await asyncio.wait_for(send(message), timeout)

        return timed_send


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: only http.disconnect is left to hear

    return replay


def bounded_protocol(config: ServiceConfig) -> type[asyncio.Protocol]:
    """uvicorn's H11Protocol, plus a deadline for each request's line and headers and a connection cap."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    header_timeout = config.header_timeout_s
    max_connections = config.max_connections

    class BoundedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                log.warning("closing a connection: %d are open (max_connections)", len(self.connections))
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # the first bytes of a next request on a kept-alive connection
            super().data_received(data)

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not before:  # a whole request line + headers arrived
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expire(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedH11Protocol
