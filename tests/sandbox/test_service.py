"""The HTTP service (SandboxFusion's /run_code) and the HTTP client, against a server started in-process."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from r1ci.sandbox import ExecutionResult, LocalExecutor, get_executor
from r1ci.sandbox.client import HTTPExecutor, parse_response
from r1ci.sandbox.service import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def service_url(executor: LocalExecutor) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(executor), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
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
    files = httpx.post(
        f"{service_url}/run_code",
        json={"code": "1", "language": "python", "files": {"a.txt": "eA=="}},
        timeout=30,
    ).json()
    assert files["status"] == "SandboxError" and "not supported" in files["message"]
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
