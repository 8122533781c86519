"""A small OpenAI-compatible server (FastAPI + uvicorn on 127.0.0.1) for the openai backend's tests.

It speaks the real wire protocol the SDK expects (chat/completions, completions, models, error
bodies, Retry-After) and answers like a code-using model: first a code block (the stop string
stripped, as servers do), then, once it sees the interpreter output, an answer.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Stub:
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    """(status, headers, message) for the next requests, in order."""
    hang_first_s: float = 0.0
    delay_s: float = 0.0
    vllm_style: bool = False
    max_model_len: int | None = None
    in_flight: int = 0
    max_in_flight: int = 0

    @staticmethod
    def count(text: str) -> int:
        return len(text) // 4 + 1

    def prompt_tokens(self, body: dict[str, Any]) -> int:
        if "messages" in body:
            return sum(self.count(m["content"]) + 4 for m in body["messages"])
        return self.count(body["prompt"])

    def reply(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path.endswith("/chat/completions"):
            last = body["messages"][-1]
            done = last["role"] == "user" and "Code Execution Results" in last["content"]
        else:
            done = "Code Execution Results" in body["prompt"].rsplit("assistant\n", 1)[-1]
        if done:
            text, stop = "The interpreter printed 42, so <<<42>>>", None
        else:
            text, stop = "Let me compute.\n```python\nprint(6 * 7)\n", "```\n"  # the server strips the stop string
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop", "logprobs": None}
        if self.vllm_style:
            choice["stop_reason"] = stop
        if path.endswith("/chat/completions"):
            choice["message"] = {"role": "assistant", "content": text}
            kind = "chat.completion"
        else:
            choice["text"] = text
            kind = "text_completion"
        prompt, completion = self.prompt_tokens(body), self.count(text)
        return {"id": "cmpl-1", "object": kind, "created": int(time.time()), "model": body["model"],
                "choices": [choice],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}


def _app(stub: Stub) -> FastAPI:
    # FastAPI resolves the handlers' annotations from module globals: Request must be imported there.
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        card: dict[str, Any] = {"id": "stub-model", "object": "model", "created": 0, "owned_by": "r1ci"}
        if stub.max_model_len is not None:
            card["max_model_len"] = stub.max_model_len
        return {"object": "list", "data": [card]}

    async def answer(request: Request) -> JSONResponse:
        body = await request.json()
        stub.requests.append({"path": request.url.path, "body": body, "auth": request.headers.get("authorization")})
        stub.in_flight += 1
        stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
        try:
            await asyncio.sleep(stub.delay_s)
            if len(stub.requests) == 1 and stub.hang_first_s:
                await asyncio.sleep(stub.hang_first_s)  # the client has timed out and hung up by now
                return JSONResponse(stub.reply(request.url.path, body))
            if stub.fail:
                status, headers, message = stub.fail.pop(0)
                return JSONResponse({"error": {"message": message, "type": "invalid_request_error",
                                               "param": None, "code": None}}, status_code=status, headers=headers)
            if stub.max_model_len is not None and stub.prompt_tokens(body) > stub.max_model_len:
                return JSONResponse({"error": {"message": f"This model's maximum context length is "
                                               f"{stub.max_model_len} tokens. However, your prompt is longer.",
                                               "type": "BadRequestError", "param": None, "code": 400}},
                                    status_code=400)
            return JSONResponse(stub.reply(request.url.path, body))
        finally:
            stub.in_flight -= 1

    app.post("/v1/chat/completions")(answer)
    app.post("/v1/completions")(answer)
    return app


@contextmanager
def serve(stub: Stub) -> Iterator[str]:
    """Run the stub on a free loopback port; yields its base URL (`http://127.0.0.1:PORT/v1`)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_app(stub), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
