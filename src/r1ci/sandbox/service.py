"""`r1ci sandbox serve`: the executor as an HTTP service speaking SandboxFusion's `/run_code` API.

Request and response follow SandboxFusion (https://github.com/bytedance/SandboxFusion), so its clients
(the `sandbox-fusion` package included) work unchanged, and our client works against a real
SandboxFusion deployment:

    POST /run_code {"code": "print(1)", "language": "python", "run_timeout": 10, "memory_limit_MB": 1024,
                    "files": {"in.txt": "<base64>"}, "fetch_files": ["out.txt"]}
    -> {"status": "Success", "message": "", "compile_result": null,
        "run_result": {"status": "Finished", "execution_time": 0.004, "return_code": 0,
                       "stdout": "1\\n", "stderr": ""},
        "executor_pod_name": null, "files": {"out.txt": "<base64>"}, "r1ci": {...}}

As in SandboxFusion: a timeout gives `run_result.status` "TimeLimitExceeded" with `return_code` null,
`run_timeout: 0` (and `memory_limit_MB` <= 0) mean the server's default, `files` are written into the
working directory before the run and `fetch_files` are returned base64-encoded after it (missing ones
are left out). Extensions (ignored by SandboxFusion clients): request fields `max_output_bytes` and
`session_id`, response field `r1ci` (the ExecutionResult without its stdout/stderr, the limits that
applied after the server's caps, and notes on fetch_files). Only Python is served.

Hardening (see `service_guard`, `service_limits`, `service_sessions`): bearer tokens; session ids keyed
by token; a Host allow-list; every client limit capped; admission control with 429 + Retry-After;
body, header, body-read and response-write bounds. `GET /health` and `GET /v1/ping` need no token
and never wait for the executor; `GET /info` (token) shows the executor's isolation layers.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from r1ci.sandbox.executor import Executor
from r1ci.sandbox.limits import SandboxLimits
from r1ci.sandbox.result import ExecutionResult
from r1ci.sandbox.service_files import FilesError, FilesPlan, decode_files, plan, split_fetched
from r1ci.sandbox.service_guard import ServiceGuard, allowed_hosts, bounded_protocol
from r1ci.sandbox.service_limits import Admission, Busy, Granted, ServiceConfig, check_bind, grant
from r1ci.sandbox.service_sessions import SessionTable

log = logging.getLogger("r1ci.sandbox.service")

PYTHON_LANGUAGES = ("python", "python3")


class RunCodeRequest(BaseModel):
    """SandboxFusion's RunCodeRequest, plus two optional r1ci fields."""

    code: str = Field(..., description="the code to run")
    language: str = Field("python", description="only 'python' is served")
    compile_timeout: float = Field(10, description="unused for Python (kept for compatibility)")
    run_timeout: float = Field(
        10, ge=0, allow_inf_nan=False, description="wall-clock limit in seconds; 0 = the server's default"
    )
    memory_limit_MB: int = Field(-1, description="memory limit; <= 0 = the server's default")
    stdin: str | None = Field(None, description="text fed to the program's stdin")
    files: dict[str, str | None] = Field(
        default_factory=dict, description="path (relative to the working directory) -> base64 content"
    )
    fetch_files: list[str] = Field(default_factory=list, description="paths returned base64-encoded after the run")
    args: list[str] = Field(default_factory=list, description="unused for Python")
    max_output_bytes: int | None = Field(None, gt=0, description="r1ci: bytes kept per stream")
    session_id: str | None = Field(
        None, max_length=256, description="r1ci: keep variables across calls with this id (per token)"
    )


class CommandRunResult(BaseModel):
    status: Literal["Finished", "Error", "TimeLimitExceeded"]
    execution_time: float | None = None
    cpu_time: float | None = None
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


def to_sandboxfusion(
    result: ExecutionResult, files: dict[str, str] | None = None, extension: dict[str, Any] | None = None
) -> RunCodeResponse:
    """Our result as SandboxFusion reports it; `r1ci` carries the rest (stdout/stderr only once, above)."""
    run = CommandRunResult(
        status="TimeLimitExceeded" if result.timed_out else "Finished",
        execution_time=result.duration_s,
        cpu_time=result.cpu_s,
        return_code=None if result.timed_out else result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
    )
    r1ci = {k: v for k, v in result.to_dict().items() if k not in ("stdout", "stderr")}
    return RunCodeResponse(
        status="Success" if result.ok else "Failed",
        run_result=run,
        executor_pod_name=os.environ.get("HOSTNAME"),
        files=files or {},
        r1ci={**r1ci, **(extension or {})},
    )


def _refusal(request: RunCodeRequest, config: ServiceConfig) -> str | None:
    if request.language not in PYTHON_LANGUAGES:
        return f"language {request.language!r} is not served: this sandbox runs Python only"
    if len(request.fetch_files) > config.max_files:
        return f"{len(request.fetch_files)} fetch_files asked; this server returns at most {config.max_files}"
    return None


def _busy(exc: Busy) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after_s)})


@dataclass
class _Service:
    executor: Executor
    admission: Admission
    sessions: SessionTable
    defaults: SandboxLimits


def create_app(
    executor: Executor | None = None,
    *,
    workers: int | None = None,
    limits: SandboxLimits | None = None,
    config: ServiceConfig | None = None,
    bind_host: str = "127.0.0.1",
) -> FastAPI:
    """The FastAPI app, behind `ServiceGuard`. Without `executor`, a local pool lives and dies with the app.

    `config` is used as given (`serve` adds $R1CI_SANDBOX_TOKEN); without tokens every client is one
    anonymous tenant, which only a loopback bind allows.
    """
    cfg = config or ServiceConfig()
    holder: dict[str, _Service] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ex = executor
        if ex is None:
            from r1ci.sandbox.local import LocalExecutor

            ex = LocalExecutor(workers=workers, limits=limits, max_sessions=cfg.max_sessions)
            await asyncio.to_thread(ex.wait_ready)
        slots = int(getattr(ex, "workers", None) or workers or 1)
        holder["s"] = _Service(
            executor=ex,
            admission=Admission(slots=slots, max_waiting=cfg.max_queue, timeout_s=cfg.queue_timeout_s),
            sessions=SessionTable(
                per_token=cfg.sessions_per_token(),
                total=min(cfg.max_sessions, int(getattr(ex, "max_sessions", cfg.max_sessions))),
                idle_s=float(getattr(ex, "session_idle_s", 600.0)),
            ),
            defaults=getattr(ex, "limits", None) or SandboxLimits(),
        )
        try:
            yield
        finally:
            if executor is None:
                ex.close()

    app = FastAPI(title="r1ci sandbox", description=__doc__, lifespan=lifespan)
    app.add_middleware(ServiceGuard, config=cfg, hosts=allowed_hosts(bind_host, cfg.allowed_hosts))

    @app.post("/run_code", response_model=RunCodeResponse)
    async def run_code(request: RunCodeRequest, http: Request) -> Any:
        svc = holder["s"]
        refusal = _refusal(request, cfg)
        if refusal is not None:
            return RunCodeResponse(status="SandboxError", message=refusal)
        granted = grant(
            cfg,
            svc.defaults,
            run_timeout=request.run_timeout,
            memory_limit_mb=request.memory_limit_MB,
            max_output_bytes=request.max_output_bytes,
        )
        files_plan: FilesPlan | None = None
        if request.files or request.fetch_files:
            try:
                files = decode_files(request.files, cfg.max_files)
            except FilesError as exc:
                return RunCodeResponse(status="SandboxError", message=str(exc))
            files_plan = plan(request.code, files, list(request.fetch_files), cfg.max_fetch_bytes)
        session_id = None
        if request.session_id is not None:
            try:
                session_id, evicted = svc.sessions.resolve(http.state.principal, request.session_id)
            except Busy as exc:
                return _busy(exc)
            for sid in evicted:
                svc.executor.close_session(sid)
        try:
            started = await svc.admission.acquire()
        except Busy as exc:
            return _busy(exc)
        try:
            result, limit = await _execute(svc.executor, request, granted, files_plan, session_id)
        except Exception as exc:  # the sandbox failed, not the code: SandboxFusion's SandboxError
            return RunCodeResponse(status="SandboxError", message=f"{type(exc).__name__}: {exc}")
        finally:
            svc.admission.release(started)
        return _response(result, request, granted, files_plan, limit)

    @app.post("/close_session")
    async def close_session(body: dict[str, str], http: Request) -> Any:
        svc = holder["s"]
        sid = svc.sessions.pop(http.state.principal, body.get("session_id", ""))
        if sid is None:
            return JSONResponse({"detail": "no such session for this token"}, status_code=404)
        svc.executor.close_session(sid)
        return {"ok": True}

    @app.get("/v1/ping")
    async def ping() -> str:
        return "pong"

    @app.get("/health")
    async def health() -> dict[str, Any]:
        adm = holder["s"].admission
        return {"ok": True, "running": adm.running, "waiting": adm.waiting, "workers": adm.slots}

    @app.get("/info")
    async def info() -> dict[str, Any]:
        data = await asyncio.to_thread(holder["s"].executor.info)
        caps = cfg.model_dump(exclude={"tokens"})
        return {"ok": True, **data, "service": {**caps, "tokens": len(cfg.tokens)}}

    return app


async def _execute(
    executor: Executor,
    request: RunCodeRequest,
    granted: Granted,
    files_plan: FilesPlan | None,
    session_id: str | None,
) -> tuple[ExecutionResult, int]:
    limit = granted.max_output_bytes + (files_plan.trailer_room if files_plan else 0)
    # submit() may take the executor's lock: off the event loop, so /health never waits behind it.
    future = await asyncio.to_thread(
        executor.submit,
        files_plan.code if files_plan else request.code,
        timeout_s=granted.timeout_s,
        memory_mb=granted.memory_mb,
        max_output_bytes=limit,
        session_id=session_id,
        stdin=request.stdin,
    )
    return await asyncio.wrap_future(future), limit


def _response(
    result: ExecutionResult,
    request: RunCodeRequest,
    granted: Granted,
    files_plan: FilesPlan | None,
    executor_limit: int,
) -> RunCodeResponse:
    extension: dict[str, Any] = {"limits": granted.to_dict()}
    files: dict[str, str] = {}
    if files_plan is not None:
        fetched = split_fetched(result.stdout, files_plan, executor_limit, granted.max_output_bytes)
        result.stdout, result.truncated = fetched.stdout, result.truncated or fetched.truncated
        files = fetched.files
        extension["fetch"] = fetched.notes
    if request.session_id is not None and "session_id" in result.extra:
        result.extra["session_id"] = request.session_id  # never echo the server's own id
    return to_sandboxfusion(result, files, extension)


def build_server(app: Any, host: str, port: int, config: ServiceConfig, log_level: str = "info") -> Any:
    """A uvicorn.Server for `app` with the config's connection bounds (header deadline, keep-alive, caps)."""
    import uvicorn

    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            http=bounded_protocol(config),
            timeout_keep_alive=config.keep_alive_s,
            h11_max_incomplete_event_size=config.max_header_bytes,
            log_level=log_level,
            lifespan="on",
        )
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int | None = None,
    limits: SandboxLimits | None = None,
    config: ServiceConfig | None = None,
) -> None:
    """Run the service in the foreground with a local pool (blocks until interrupted).

    Tokens come from `config.tokens`, else $R1CI_SANDBOX_TOKEN; a non-loopback `host` needs one.
    """
    cfg = (config or ServiceConfig()).with_env_token()
    check_bind(host, cfg)
    if not cfg.tokens:
        log.warning("serving without a token on %s: any local user can run code here", host)
    app = create_app(workers=workers, limits=limits, config=cfg, bind_host=host)
    build_server(app, host, port, cfg).run()
