"""`r1ci sandbox serve`: the executor as an HTTP service speaking SandboxFusion's `/run_code` API.

Request and response follow SandboxFusion (https://github.com/bytedance/SandboxFusion), so clients
written for it work unchanged, and our client works against a real SandboxFusion deployment:

    POST /run_code {"code": "print(1)", "language": "python", "run_timeout": 10, "memory_limit_MB": 1024}
    -> {"status": "Success", "message": "", "compile_result": null,
        "run_result": {"status": "Finished", "execution_time": 0.004, "return_code": 0,
                       "stdout": "1\\n", "stderr": ""},
        "executor_pod_name": null, "files": {}, "r1ci": {...ExecutionResult...}}

Extensions (ignored by SandboxFusion clients): request fields `max_output_bytes` and `session_id`,
response field `r1ci` (the full ExecutionResult: status, memory_exceeded, truncated, ...).
Only Python is served; `files`/`fetch_files` are refused with a SandboxError rather than ignored.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

from r1ci.sandbox.executor import Executor
from r1ci.sandbox.limits import SandboxLimits
from r1ci.sandbox.result import ExecutionResult

PYTHON_LANGUAGES = ("python", "python3")


class RunCodeRequest(BaseModel):
    """SandboxFusion's RunCodeRequest, plus two optional r1ci fields."""

    code: str = Field(..., description="the code to run")
    language: str = Field("python", description="only 'python' is served")
    compile_timeout: float = Field(10, description="unused for Python (kept for compatibility)")
    run_timeout: float = Field(10, gt=0, description="wall-clock limit in seconds")
    memory_limit_MB: int = Field(-1, description="memory limit; -1 = the server's default")
    stdin: str | None = Field(None, description="text fed to the program's stdin")
    files: dict[str, str | None] = Field(default_factory=dict, description="unsupported; must be empty")
    fetch_files: list[str] = Field(default_factory=list, description="unsupported; must be empty")
    args: list[str] = Field(default_factory=list, description="unused for Python")
    max_output_bytes: int | None = Field(None, gt=0, description="r1ci: bytes kept per stream")
    session_id: str | None = Field(None, description="r1ci: keep variables across calls with this id")


class CommandRunResult(BaseModel):
    status: Literal["Finished", "Error", "TimeLimitExceeded"]
    execution_time: float | None = None
    return_code: int | None = None
    stdout: str | None = None
    stderr: str | None = None


class RunCodeResponse(BaseModel):
    status: Literal["Success", "Failed", "SandboxError"]
    message: str = ""
    compile_result: CommandRunResult | None = None
    run_result: CommandRunResult | None = None
    executor_pod_name: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    r1ci: dict[str, Any] | None = None


def to_sandboxfusion(result: ExecutionResult) -> RunCodeResponse:
    run = CommandRunResult(
        status="TimeLimitExceeded" if result.timed_out else "Finished",
        execution_time=result.duration_s,
        return_code=result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
    )
    return RunCodeResponse(
        status="Success" if result.ok else "Failed",
        run_result=run,
        executor_pod_name=os.environ.get("HOSTNAME"),
        r1ci=result.to_dict(),
    )


def _refusal(request: RunCodeRequest) -> str | None:
    if request.language not in PYTHON_LANGUAGES:
        return f"language {request.language!r} is not served: this sandbox runs Python only"
    if request.files or request.fetch_files:
        return "files/fetch_files are not supported by the r1ci sandbox; write files from the code itself"
    return None


def create_app(
    executor: Executor | None = None, *, workers: int | None = None, limits: SandboxLimits | None = None
) -> FastAPI:
    """The FastAPI app. Without `executor`, a local fork-server pool lives and dies with the app."""
    state: dict[str, Executor] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if executor is None:
            from r1ci.sandbox.local import LocalExecutor

            local = LocalExecutor(workers=workers, limits=limits)
            local.wait_ready()
            state["executor"] = local
        else:
            state["executor"] = executor
        try:
            yield
        finally:
            if executor is None:
                state["executor"].close()

    app = FastAPI(title="r1ci sandbox", description=__doc__, lifespan=lifespan)

    @app.post("/run_code", response_model=RunCodeResponse)
    async def run_code(request: RunCodeRequest) -> RunCodeResponse:
        refusal = _refusal(request)
        if refusal is not None:
            return RunCodeResponse(status="SandboxError", message=refusal)
        try:
            result = await state["executor"].arun(
                request.code,
                timeout_s=request.run_timeout,
                memory_mb=request.memory_limit_MB if request.memory_limit_MB > 0 else None,
                max_output_bytes=request.max_output_bytes,
                session_id=request.session_id,
                stdin=request.stdin,
            )
        except Exception as exc:  # the sandbox failed, not the code: SandboxFusion's SandboxError
            return RunCodeResponse(status="SandboxError", message=f"{type(exc).__name__}: {exc}")
        return to_sandboxfusion(result)

    @app.post("/close_session")
    async def close_session(body: dict[str, str]) -> dict[str, bool]:
        state["executor"].close_session(body["session_id"])
        return {"ok": True}

    @app.get("/v1/ping")
    async def ping() -> str:
        return "pong"

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, **state["executor"].info()}

    return app


def serve(
    host: str = "127.0.0.1", port: int = 8080, workers: int | None = None, limits: SandboxLimits | None = None
) -> None:
    """Run the service in the foreground with a local pool (blocks until interrupted)."""
    import uvicorn

    uvicorn.run(create_app(workers=workers, limits=limits), host=host, port=port, log_level="info")
