"""`r1ci sandbox serve` attacked from outside, as a second HTTP client would: tokens, sessions of another
token, forged Host headers, over-cap limits, floods of slow requests, oversized and stalled requests,
and a 200 MiB print measured against the server process's own memory counters."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sandbox_fusion as sf
from typer.testing import CliRunner

from r1ci.cli import app
from r1ci.sandbox.client import HTTPExecutor

TOKEN_A = "token-a-" + "x" * 24
TOKEN_B = "token-b-" + "y" * 24
MAX_TIMEOUT_S = 3
MAX_MEMORY_MB = 512
MAX_OUTPUT = 4096
MAX_BODY = 200_000
MAX_QUEUE = 4
HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 2.0


@dataclass
class Server:
    url: str
    port: int
    pid: int

    def post(self, body: dict, token: str | None = TOKEN_A, headers: dict | None = None) -> httpx.Response:
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(f"{self.url}/run_code", json=body, headers={**auth, **(headers or {})}, timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "R1CI_SANDBOX_TOKEN"}
    args = [
        *("--port", str(port), "--workers", "2", "--token", TOKEN_A, "--token", TOKEN_B),
        *("--max-run-timeout", str(MAX_TIMEOUT_S), "--max-memory-mb", str(MAX_MEMORY_MB)),
        *("--max-output-bytes", str(MAX_OUTPUT), "--max-body-bytes", str(MAX_BODY)),
        *("--max-queue", str(MAX_QUEUE), "-o", f"header_timeout_s={HEADER_TIMEOUT_S}"),
        *("-o", f"body_timeout_s={BODY_TIMEOUT_S}", "-o", "max_sessions_per_token=3"),
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "r1ci.cli", "sandbox", "serve", *args], stdout=out, stderr=out, env=env
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, f"the service died: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"the service did not start: {log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    yield Server(url=url, port=port, pid=proc.pid)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_tokens_are_required_and_checked(server: Server) -> None:
    body = {"code": "print('ran')", "language": "python"}
    assert server.post(body, token=None).status_code == 401
    wrong = server.post(body, token="token-a-guess")
    assert wrong.status_code == 401 and "R1CI_SANDBOX_TOKEN" in wrong.json()["detail"]
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    assert server.post(body).json()["run_result"]["stdout"] == "ran\n"
    assert server.post(body, token=TOKEN_B).json()["run_result"]["stdout"] == "ran\n"
    assert httpx.get(f"{server.url}/info", timeout=10).status_code == 401
    health = httpx.get(f"{server.url}/health", timeout=10)  # public, and tells nothing about the sandbox
    assert health.status_code == 200 and "layers" not in health.json()
    info = httpx.get(f"{server.url}/info", headers={"Authorization": f"Bearer {TOKEN_B}"}, timeout=10).json()
    assert "layers" in info and info["service"]["tokens"] == 2 and TOKEN_A not in str(info)


def test_clients_use_the_token(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our client reads R1CI_SANDBOX_TOKEN; SandboxFusion's gets it as the password of its endpoint URL."""
    monkeypatch.setenv("R1CI_SANDBOX_TOKEN", TOKEN_A)
    with HTTPExecutor(server.url) as ex:
        assert ex.run("print(6 * 7)").stdout == "42\n"
    request = sf.RunCodeRequest(code="print('fusion')", language="python")
    resp = sf.run_code(request, endpoint=f"http://r1ci:{TOKEN_B}@127.0.0.1:{server.port}", max_attempts=1)
    assert resp.run_result.stdout == "fusion\n"
    with pytest.raises(Exception, match="401"):
        sf.run_code(request, endpoint=server.url, max_attempts=1)


def test_forged_host_headers_are_refused(server: Server) -> None:
    body = {"code": "print(1)", "language": "python"}
    for host in ("evil.example", "evil.example:8080", "127.0.0.1.evil.example", "[::2]:80"):
        resp = server.post(body, headers={"Host": host})
        assert resp.status_code == 400 and "not allowed" in resp.json()["detail"], host
    assert server.post(body, headers={"Host": f"localhost:{server.port}"}).status_code == 200


def test_sessions_belong_to_the_token_that_made_them(server: Server) -> None:
    def run(code: str, token: str) -> dict:
        return server.post({"code": code, "session_id": "traj-1"}, token=token).json()

    first = run("secret = 'of token A'", TOKEN_A)
    assert first["status"] == "Success" and first["r1ci"]["extra"]["session_id"] == "traj-1"  # not the server's id
    other = run("print(secret)", TOKEN_B)  # same client id, other token: a fresh session of its own
    assert other["status"] == "Failed" and "NameError" in other["run_result"]["stderr"]
    close = httpx.post(
        f"{server.url}/close_session",
        json={"session_id": "traj-1"},
        headers={"Authorization": f"Bearer {TOKEN_B}"},
        timeout=10,
    )
    assert close.status_code == 200  # B closed B's own session ...
    again = httpx.post(
        f"{server.url}/close_session",
        json={"session_id": "traj-1"},
        headers={"Authorization": f"Bearer {TOKEN_B}"},
        timeout=10,
    )
    assert again.status_code == 404
    assert run("print(secret)", TOKEN_A)["run_result"]["stdout"] == "of token A\n"  # ... not A's
    # B filling its own session quota (3) evicts B's sessions, never A's
    for i in range(5):
        assert server.post({"code": "x = 1", "session_id": f"b-{i}"}, token=TOKEN_B).status_code == 200
    assert run("print(secret)", TOKEN_A)["run_result"]["stdout"] == "of token A\n"


def test_client_limits_are_capped(server: Server) -> None:
    slow = server.post({"code": "import time; time.sleep(30)", "run_timeout": 1e9}).json()
    run = slow["run_result"]
    assert run["status"] == "TimeLimitExceeded" and run["return_code"] is None
    assert run["execution_time"] < MAX_TIMEOUT_S + 2
    assert slow["r1ci"]["limits"]["run_timeout"] == MAX_TIMEOUT_S and "run_timeout" in slow["r1ci"]["limits"]["clamped"]
    flood = server.post({"code": "print('z' * 100_000)", "max_output_bytes": 10**12}).json()
    out = flood["run_result"]["stdout"]
    assert out.startswith("z" * MAX_OUTPUT) and "z" * (MAX_OUTPUT + 1) not in out and flood["r1ci"]["truncated"]
    assert flood["r1ci"]["limits"]["max_output_bytes"] == MAX_OUTPUT
    big = server.post({"code": "b = bytearray(900 * 2**20)", "memory_limit_MB": 10**6}).json()
    assert big["r1ci"]["limits"]["memory_limit_MB"] == MAX_MEMORY_MB
    assert big["status"] == "Failed" and big["r1ci"]["status"] in ("memory", "killed")
    assert server.post({"code": "1", "run_timeout": -1}).status_code == 422


def _raw(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:  # closed with our unread bytes in its buffer: what came before counts
        pass
    return b"".join(chunks)


def test_oversized_bodies_get_413(server: Server) -> None:
    announced = _raw(
        server.port,
        b"POST /run_code HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN_A.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n",
    )
    reply = _read_all(announced)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:300]  # answered (and closed) before any body
    chunked = _raw(
        server.port,
        b"POST /run_code HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN_A.encode()
        + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    piece = b"a" * (MAX_BODY + 1)  # one chunk just over the limit, with no Content-Length to check first
    chunked.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
    reply = _read_all(chunked)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:300]


def test_stalled_clients_are_cut_off_and_block_nobody(server: Server) -> None:
    half_line = [_raw(server.port, b"POST /run_code HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le") for _ in range(40)]
    silent = [_raw(server.port, b"") for _ in range(20)]
    half_body = _raw(
        server.port,
        b"POST /run_code HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN_A.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\": ",
    )
    start = time.monotonic()
    assert server.post({"code": "print('not blocked')"}).json()["run_result"]["stdout"] == "not blocked\n"
    assert time.monotonic() - start < 2
    for sock in [*half_line, *silent]:
        assert _read_all(sock) == b""  # closed by the server at its header deadline
        sock.close()
    assert time.monotonic() - start < HEADER_TIMEOUT_S + 3
    assert _read_all(half_body).startswith(b"HTTP/1.1 408")
    assert time.monotonic() - start < BODY_TIMEOUT_S + 3
    # a kept-alive connection that starts a second request and stalls is cut off too
    keep = _raw(
        server.port,
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )
    reply = b""
    while b'"workers"' not in reply:
        reply += keep.recv(65536)
    assert reply.startswith(b"HTTP/1.1 200")
    keep.sendall(b"GET /health HTTP/1.1\r\nHo")
    assert _read_all(keep) == b""


def _status_kib(pid: int, field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    assert match, field
    return int(match.group(1))


def test_a_200_mib_print_leaves_the_service_small(server: Server) -> None:
    server.post({"code": "print('warm')"})
    peak_before = _status_kib(server.pid, "VmHWM")
    code = "chunk = 'x' * 2**20\nfor _ in range(200):\n    print(chunk)\n"
    resp = server.post({"code": code, "max_output_bytes": 10**12, "fetch_files": ["none"]})
    assert resp.status_code == 200
    assert len(resp.json()["run_result"]["stdout"]) < MAX_OUTPUT + 200
    grown_mib = (_status_kib(server.pid, "VmHWM") - peak_before) / 1024
    assert grown_mib < 64, f"the service's peak RSS grew by {grown_mib:.0f} MiB on a 200 MiB print"


def test_slow_flood_gets_429_while_health_stays_fast(server: Server) -> None:
    """60 slow requests: 2 run, MAX_QUEUE wait, the rest are refused at once; a quick one is never stuck."""

    async def flood() -> tuple[list[httpx.Response], httpx.Response, float, float]:
        headers = {"Authorization": f"Bearer {TOKEN_A}"}
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
            slow = [
                asyncio.create_task(client.post(f"{server.url}/run_code", json={"code": "import time; time.sleep(2)"}))
                for _ in range(60)
            ]
            await asyncio.sleep(0.5)
            t0 = time.monotonic()
            quick = await client.post(f"{server.url}/run_code", json={"code": "print(1)"})
            quick_s = time.monotonic() - t0
            t0 = time.monotonic()
            health = await client.get(f"{server.url}/health")
            health_s = time.monotonic() - t0
            assert health.json()["running"] == 2 and health.json()["waiting"] <= MAX_QUEUE
            return await asyncio.gather(*slow), quick, quick_s, health_s

    slow, quick, quick_s, health_s = asyncio.run(flood())
    codes = [r.status_code for r in slow]
    # normally exactly 2 + MAX_QUEUE run; a slot freed while a loaded machine still sends lets a few more in
    assert codes.count(200) >= 2 + MAX_QUEUE and codes.count(429) >= 40 and codes.count(200) + codes.count(429) == 60
    refused = next(r for r in slow if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1 and "busy" in refused.json()["detail"]
    assert quick.status_code in (200, 429) and quick_s < 1.0 and health_s < 1.0


def test_non_loopback_bind_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("R1CI_SANDBOX_TOKEN", raising=False)
    res = CliRunner().invoke(app, ["sandbox", "serve", "--host", "0.0.0.0", "--port", "1"])
    assert res.exit_code == 2 and "without a token" in res.output and "R1CI_SANDBOX_TOKEN" in res.output


def test_weak_tokens_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R1CI_SANDBOX_TOKEN", "short")
    res = CliRunner().invoke(app, ["sandbox", "serve", "--host", "0.0.0.0", "--port", "1"])
    assert res.exit_code == 2 and "at least 16 characters" in res.output
