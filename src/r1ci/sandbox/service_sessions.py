"""Session ids over HTTP: the client names its sessions, the server keys them by token.

Clients keep SandboxFusion-style `session_id="traj-7"` calls. The service maps (token, client id) to a
session id it generates itself (`secrets.token_urlsafe`), so the executor's session ids are
unguessable and a client holding another token that sends the same `"traj-7"` gets a session of its
own: it can neither read, close nor evict another token's session. Each token holds at most
`per_token` sessions (its own least recently used one is closed to make room), and all tokens together
at most `total` (then the request is refused as busy), so the executor never evicts on its own.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from r1ci.sandbox.service_limits import Busy


@dataclass
class SessionTable:
    per_token: int
    total: int
    idle_s: float  # the executor forgets a session idle this long; so does the table
    _ids: OrderedDict[tuple[str, str], tuple[str, float]] = field(default_factory=OrderedDict)

    def resolve(self, principal: str, client_id: str) -> tuple[str, list[str]]:
        """-> (the executor's session id, executor session ids to close first to make room)."""
        self._expire()
        key = (principal, client_id)
        if key in self._ids:
            internal, _ = self._ids.pop(key)
            self._ids[key] = (internal, time.monotonic())
            return internal, []
        evict: list[str] = []
        own = [k for k in self._ids if k[0] == principal]
        if len(own) >= self.per_token:
            evict.append(self._ids.pop(own[0])[0])  # its own least recently used
        elif len(self._ids) >= self.total:
            raise Busy(f"all {self.total} sandbox sessions are in use; close one or retry later", 5)
        internal = secrets.token_urlsafe(18)
        self._ids[key] = (internal, time.monotonic())
        return internal, evict

    def pop(self, principal: str, client_id: str) -> str | None:
        """Forget a session of this token; None if it has none by that id."""
        entry = self._ids.pop((principal, client_id), None)
        return entry[0] if entry else None

    def count(self, principal: str | None = None) -> int:
        return sum(1 for k in self._ids if principal is None or k[0] == principal)

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.idle_s
        for key, (_, used) in list(self._ids.items()):
            if used < cutoff:
                del self._ids[key]
