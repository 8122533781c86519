"""The HTTP service (SandboxFusion's /run_code) and the HTTP client, against a server started in-process.

SandboxFusion parity is checked with its official client (`sandbox-fusion` on PyPI), sync and async.
The hardening (tokens, caps, queue, stalled clients, memory) is in test_service_hardening.py.
"""

from __future__ import annotations

import asyncio
import base64
import http.server
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import sandbox_fusion as sf

from r1ci.sandbox import ExecutionResult, LocalExecutor, SandboxError, SandboxLimits, get_executor
from r1ci.sandbox.client import HTTPExecutor, parse_response
from r1ci.sandbox.service import build_server, create_app
from r1ci.sandbox.service_limits import ServiceConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def service_url(executor: LocalExecutor) -> Iterator[str]:
    port = _free_port()
    config = ServiceConfig()  # no token: a loopback-only, anonymous service
    server = build_server(create_app(executor, config=config), "127.0.0.1", port, config, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the sandbox service did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_run_code_speaks_sandboxfusion(service_url: str) -> None:
    request = {"code": "print(6 * 7)", "language": "python", "run_timeout": 5, "memory_limit_MB": 512}
    body = httpx.post(f"{service_url}/run_code", json=request, timeout=30).json()
    assert body["status"] == "Success" and body["message"] == ""
    assert body["compile_result"] is None and body["files"] == {}
    run = body["run_result"]
    assert run["status"] == "Finished" and run["return_code"] == 0
    assert run["stdout"] == "42\n" and run["stderr"] == ""
    assert run["execution_time"] > 0
    assert body["r1ci"]["status"] == "ok"


def test_run_code_timeout_and_refusals(service_url: str) -> None:
    slow = httpx.post(
        f"{service_url}/run_code",
        json={"code": "while True: pass", "language": "python", "run_timeout": 1},
        timeout=30,
    ).json()
    assert slow["status"] == "Failed" and slow["run_result"]["status"] == "TimeLimitExceeded"
    other = httpx.post(f"{service_url}/run_code", json={"code": "1", "language": "cpp"}, timeout=30).json()
    assert other["status"] == "SandboxError" and "Python only" in other["message"]
    assert slow["run_result"]["return_code"] is None  # as SandboxFusion: no return code after a timeout
    bad = httpx.post(
        f"{service_url}/run_code",
        json={"code": "1", "language": "python", "files": {"a.txt": "not base64!"}},
        timeout=30,
    ).json()
    assert bad["status"] == "SandboxError" and "a.txt" in bad["message"] and "base64" in bad["message"]
    assert httpx.get(f"{service_url}/v1/ping", timeout=10).json() == "pong"


def test_client_round_trips_results_exactly(service_url: str) -> None:
    with get_executor(service_url) as ex:
        assert isinstance(ex, HTTPExecutor)
        r = ex.run("print('remote')")
        assert isinstance(r, ExecutionResult) and r.ok and r.stdout == "remote\n"
        mem = ex.run("x = bytearray(2 * 1024**3)", memory_mb=256)
        assert mem.status == "memory" and mem.memory_exceeded
        cut = ex.run("print('z' * 5000)", max_output_bytes=100)
        assert cut.truncated and cut.stdout.startswith("z" * 100)
        results = ex.run_many([f"print({i})" for i in range(10)])
        assert [x.stdout for x in results] == [f"{i}\n" for i in range(10)]
        assert ex.run("v = 5", session_id="remote-s").ok
        assert ex.run("print(v + 1)", session_id="remote-s").stdout == "6\n"
        ex.close_session("remote-s")
        assert asyncio.run(ex.arun("print('async')")).stdout == "async\n"
        assert ex.info()["layers"]["audit_guard"]


def test_sandboxfusion_flavor_maps_the_plain_response(service_url: str) -> None:
    with get_executor(f"sandboxfusion:{service_url}") as ex:
        assert isinstance(ex, HTTPExecutor) and ex.flavor == "sandboxfusion"
        r = ex.run("import sys\nprint('out')\nsys.exit(4)")
        assert (r.status, r.exit_code, r.stdout) == ("error", 4, "out\n")
        slow = ex.run("while True: pass", timeout_s=1)
        assert slow.status == "timeout" and slow.timed_out
        with pytest.raises(ValueError, match="stateless"):
            ex.run("x = 1", session_id="s")


def test_parse_plain_sandboxfusion_responses() -> None:
    """What a real SandboxFusion deployment returns (no `r1ci` field) maps onto our statuses."""

    def plain(status: str, run_status: str, code: int | None, stdout: str = "", stderr: str = "") -> dict:
        run = {
            "status": run_status,
            "execution_time": 0.1,
            "return_code": code,
            "stdout": stdout,
            "stderr": stderr,
        }
        return {"status": status, "message": "", "compile_result": None, "run_result": run, "files": {}}

    assert parse_response(plain("Success", "Finished", 0, "1\n"), 100).status == "ok"
    assert parse_response(plain("Failed", "TimeLimitExceeded", None), 100).status == "timeout"
    oom = parse_response(plain("Failed", "Finished", 1, stderr="Traceback ...\nMemoryError\n"), 100)
    assert oom.status == "memory" and oom.memory_exceeded
    assert parse_response(plain("Failed", "Finished", -9), 100).status == "killed"
    long = parse_response(plain("Success", "Finished", 0, "a" * 500), 100)
    assert long.truncated and long.stdout.startswith("a" * 100) and len(long.stdout) < 200
    broken = parse_response({"status": "SandboxError", "message": "pod gone", "run_result": None}, 100)
    assert broken.status == "error" and "pod gone" in broken.stderr


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_official_client_files_and_fetch_files(service_url: str) -> None:
    """`files` land in the working directory before the run, `fetch_files` come back base64-encoded."""
    code = (
        "import os\n"
        "rows = open('data/in.csv').read().split()\n"
        "os.makedirs('out', exist_ok=True)\n"
        "open('out/sum.txt', 'w').write(str(sum(map(int, rows))))\n"
        "open('blob.bin', 'wb').write(bytes(range(256)))\n"
        "print(len(rows))\n"
    )
    request = sf.RunCodeRequest(
        code=code,
        language="python",
        files={"data/in.csv": _b64(b"1\n2\n39\n"), "skipped.txt": None},
        fetch_files=["out/sum.txt", "blob.bin", "never-written.txt"],
    )
    resp = sf.run_code(request, endpoint=service_url, max_attempts=1, client_timeout=30)
    assert resp.status == sf.RunStatus.Success, resp
    assert resp.run_result.stdout == "3\n" and resp.run_result.return_code == 0
    assert base64.b64decode(resp.files["out/sum.txt"]) == b"42"
    assert base64.b64decode(resp.files["blob.bin"]) == bytes(range(256))
    assert "never-written.txt" not in resp.files  # SandboxFusion leaves missing files out
    assert sf.summary_run_code_result(resp, sf.SummaryMapping()) == sf.SummaryMapping().Success


def test_official_client_failures_keep_python_semantics(service_url: str) -> None:
    """Exit codes, tracebacks (the wrapper's frame hidden) and fetched files after a failure."""
    failing = sf.RunCodeRequest(
        code="open('partial.txt', 'w').write('so far')\nx = 1\n1 / 0\n",
        language="python",
        fetch_files=["partial.txt"],
    )
    resp = sf.run_code(failing, endpoint=service_url, max_attempts=1)
    assert resp.status == sf.RunStatus.Failed and resp.run_result.return_code == 1
    assert resp.run_result.stderr.splitlines()[:3] == [
        "Traceback (most recent call last):",
        '  File "<code>", line 3, in <module>',
        "    1 / 0",
    ]
    assert base64.b64decode(resp.files["partial.txt"]) == b"so far"
    exiting = sf.RunCodeRequest(
        code="import sys\nprint(__name__)\nsys.exit(3)", language="python", files={"a": _b64(b"")}
    )
    resp = sf.run_code(exiting, endpoint=service_url, max_attempts=1)
    assert (resp.run_result.return_code, resp.run_result.stdout) == (3, "__main__\n")


def test_official_client_timeouts_and_default_timeout(service_url: str) -> None:
    slow = sf.run_code(
        sf.RunCodeRequest(code="while True: pass", language="python", run_timeout=1),
        endpoint=service_url,
        max_attempts=1,
    )
    assert slow.run_result.status == sf.CommandRunStatus.TimeLimitExceeded
    assert slow.run_result.return_code is None
    assert sf.summary_run_code_result(slow, sf.SummaryMapping(RunTimeout="TLE")) == "TLE"
    # run_timeout 0 = the server's default (the shared executor's 10 s), not an error
    zero = httpx.post(
        f"{service_url}/run_code",
        json={"code": "import time; time.sleep(1.2); print('waited')", "language": "python", "run_timeout": 0},
        timeout=30,
    ).json()
    assert zero["status"] == "Success" and zero["run_result"]["stdout"] == "waited\n"
    assert zero["r1ci"]["limits"]["run_timeout"] == 10


def test_official_async_client(service_url: str) -> None:
    async def both() -> list[sf.RunCodeResponse]:
        requests = [sf.RunCodeRequest(code=f"print({i} * {i})", language="python") for i in (3, 4)]
        return await asyncio.gather(*(sf.run_code_async(r, endpoint=service_url, max_attempts=1) for r in requests))

    assert [r.run_result.stdout for r in asyncio.run(both())] == ["9\n", "16\n"]


def test_fetch_files_are_bounded_and_output_limits_still_apply(service_url: str) -> None:
    body = httpx.post(
        f"{service_url}/run_code",
        json={
            "code": "print('y' * 3000)\nopen('o.txt', 'w').write('ok')",
            "language": "python",
            "max_output_bytes": 100,
            "fetch_files": ["o.txt"],
        },
        timeout=30,
    ).json()
    assert body["files"] == {"o.txt": _b64(b"ok")}
    out = body["run_result"]["stdout"]
    assert out.startswith("y" * 100) and "y" * 101 not in out and "kept the first 100 bytes" in out
    assert body["r1ci"]["truncated"] is True and "r1ci-fetch" not in out
    killed = httpx.post(  # killed by the sandbox: no trailer, and the response says the files were lost
        f"{service_url}/run_code",
        json={"code": "import os\nopen('o.txt', 'w').write('x')\nos._exit(0)", "fetch_files": ["o.txt"]},
        timeout=30,
    ).json()
    assert killed["files"] == {} and killed["r1ci"]["fetch"] == {"lost": ["o.txt"]}


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    """A fake sandbox service: counts POSTs and misbehaves as `mode` says."""

    posts = 0
    mode = "500"

    def do_POST(self) -> None:
        type(self).posts += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.mode == "sleep":
            time.sleep(2)
        if self.mode == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status = 429 if self.mode == "429" else 500
        self.send_response(status)
        self.send_header("Retry-After", "0.1")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("mode", ["500", "429", "sleep", "drop"])
def test_client_never_sends_a_snippet_twice(mode: str) -> None:
    """HTTP errors, read timeouts and dropped connections are final: one POST, then SandboxError.

    A 429 is the one refusal that says nothing ran: it is waited out `busy_retries` times, then final.
    """
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _CountingHandler.posts, _CountingHandler.mode = 0, mode
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        ex = HTTPExecutor(
            url, limits=SandboxLimits(timeout_s=0.3), request_margin_s=0.5, retries=3, busy_retries=2
        )
        with ex, pytest.raises(SandboxError) as err:
            ex.run("print(1)")
        expected = 3 if mode == "429" else 1
        assert _CountingHandler.posts == expected, f"{mode}: sent {_CountingHandler.posts} times"
        if mode == "429":
            assert "Retry-After: 0.1" in str(err.value) and "busy" in str(err.value)
        if mode in ("sleep", "drop"):
            assert "not retried" in str(err.value)
    finally:
        server.shutdown()
        server.server_close()


def test_client_retries_only_unreachable_servers() -> None:
    port = _free_port()  # nothing listens there
    with HTTPExecutor(f"http://127.0.0.1:{port}", retries=2) as ex:
        start = time.monotonic()
        with pytest.raises(SandboxError, match="unreachable after 3 attempts"):
            ex.run("print(1)")
        assert time.monotonic() - start >= 0.6  # backed off 0.2 s + 0.4 s between the attempts


def test_files_stay_inside_the_sandbox(service_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """File names are hostile input too: absolute and `..` paths land in the child's view, never the host's."""
    host_dir = tmp_path_factory.mktemp("host-side")
    target = host_dir / "planted.txt"
    body = httpx.post(
        f"{service_url}/run_code",
        json={
            "code": "print('ran')",
            "files": {str(target): _b64(b"owned"), "../../../escape.txt": _b64(b"owned")},
            "fetch_files": [str(target)],
        },
        timeout=30,
    ).json()
    assert not target.exists() and not (host_dir.parent / "escape.txt").exists()
    if body["status"] == "Success":  # the path was writable inside the sandbox's own view
        assert body["files"] == {str(target): _b64(b"owned")}
    else:  # or refused there, with a message naming the file
        assert "cannot write file" in body["run_result"]["stderr"]
    big = httpx.post(  # the shared executor allows 1 MiB files (RLIMIT_FSIZE)
        f"{service_url}/run_code", json={"code": "print(1)", "files": {"big.bin": _b64(b"\0" * 2**21)}}, timeout=30
    ).json()
    assert big["status"] == "Failed" and big["run_result"]["return_code"] == 1
    assert "cannot write file 'big.bin'" in big["run_result"]["stderr"] and big["run_result"]["stdout"] == ""
