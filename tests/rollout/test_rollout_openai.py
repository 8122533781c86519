"""OpenAI-compatible backend against a local stub server speaking the real API shape."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rollout_fakes import SubprocessExecutor, make_task

from r1ci.rollout import RolloutConfig, run_rollouts
from r1ci.rollout.backends import get_backend
from r1ci.rollout.backends.openai import OpenAIBackend
from r1ci.rollout.tokenize import encode_prompt, trajectory_features

TASK = make_task()


class Stub:
    """Answers like a code-using model; fails the first request(s) as configured."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first: list[tuple[int, dict[str, str]]] = []  # (status, headers) per early request
        self.sleep_first = 0.0
        self.delay = 0.0
        self.vllm_style = False
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

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
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        if self.vllm_style:
            choice["stop_reason"] = stop
        if path.endswith("/chat/completions"):
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        return {"id": "x", "object": "chat.completion", "choices": [choice],
                "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}}


@pytest.fixture
def server() -> Iterator[tuple[str, Stub]]:
    stub = Stub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            with stub.lock:
                stub.in_flight += 1
                stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and hung up: that is the scenario under test
            finally:
                with stub.lock:
                    stub.in_flight -= 1

        def _answer(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stub.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            time.sleep(stub.delay)
            if len(stub.requests) == 1 and stub.sleep_first:
                time.sleep(stub.sleep_first)
                return
            if stub.fail_first:
                status, headers = stub.fail_first.pop(0)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(b'{"error": {"message": "slow down"}}')
                return
            data = json.dumps(stub.reply(self.path, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", stub
    httpd.shutdown()
    httpd.server_close()


def test_chat_api_multi_turn_with_429_retry(server: tuple[str, Stub], monkeypatch: pytest.MonkeyPatch) -> None:
    url, stub = server
    stub.fail_first = [(429, {"Retry-After": "0"})]
    monkeypatch.setenv("MY_KEY", "sk-test")
    backend = get_backend("openai", "stub-model", base_url=url, api_key_env="MY_KEY", backoff_s=0.01)
    q = TASK.questions(7)[6]  # gold "42"
    (t,) = run_rollouts(backend, [q], RolloutConfig(temperature=0.3), executor=SubprocessExecutor(),
                        grader=TASK.grade, progress=False)
    assert [r["path"] for r in stub.requests] == ["/v1/chat/completions"] * 3  # 429, code turn, answer turn
    assert all(r["auth"] == "Bearer sk-test" for r in stub.requests)
    first = stub.requests[1]["body"]
    assert first["model"] == "stub-model" and first["stop"] == ["```\n", ">>>"] and first["temperature"] == 0.3
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    second = stub.requests[2]["body"]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    # The stripped stop string was put back, and the turn cut at the closing fence as a sampler would.
    assert second[2]["content"] == "Let me compute.\n```python\nprint(6 * 7)\n```"
    assert second[3]["content"] == "\nCode Execution Results:\n```output\n42\n```\n"
    assert t.reward == 1.0 and t.stop_reason == "answer" and t.num_code_turns == 1
    assert t.prompt_ids == [] and t.completion_ids == [] and t.logprobs is None


def test_completions_api_vllm_style_and_features(server: tuple[str, Stub], tiny_tokenizer: Any) -> None:
    url, stub = server
    stub.vllm_style = True
    backend = OpenAIBackend("m", base_url=url, api="completions", tokenizer=tiny_tokenizer, backoff_s=0.01)
    q = TASK.questions(7)[6]
    (t,) = run_rollouts(backend, [q], RolloutConfig(), executor=SubprocessExecutor(), grader=TASK.grade,
                        progress=False)
    assert t.reward == 1.0
    prompt2 = stub.requests[1]["body"]["prompt"]
    rendered = tiny_tokenizer.apply_chat_template(t.messages, tokenize=False, add_generation_prompt=True)
    # Exact continuation: the template, then the completion so far verbatim.
    assert prompt2 == rendered + t.segments[0].text + t.segments[1].text
    ids, mask = trajectory_features(t, tiny_tokenizer)
    assert ids[: len(encode_prompt(tiny_tokenizer, t.messages))] == encode_prompt(tiny_tokenizer, t.messages)
    assert 0 in mask[len(encode_prompt(tiny_tokenizer, t.messages)) :] and mask[-1] == 1


def test_retries_5xx_and_timeouts_then_gives_up(server: tuple[str, Stub]) -> None:
    url, stub = server
    stub.sleep_first = 1.0
    stub.fail_first = [(503, {}), (500, {})]
    backend = OpenAIBackend("m", base_url=url, backoff_s=0.01, timeout_s=0.3)
    (t,) = run_rollouts(backend, TASK.questions(1), RolloutConfig(mode="text"), grader=TASK.grade, progress=False)
    assert t.stop_reason in ("answer", "eos")
    assert len(stub.requests) == 4  # timed out, 503, 500, success
    stub.fail_first = [(500, {})] * 10
    give_up = OpenAIBackend("m", base_url=url, backoff_s=0.001, max_retries=2)
    with pytest.raises(RuntimeError, match="giving up after 3 attempts"):
        run_rollouts(give_up, TASK.questions(1), RolloutConfig(mode="text"), grader=TASK.grade, progress=False)


def test_client_errors_fail_fast_with_the_server_message(server: tuple[str, Stub]) -> None:
    url, stub = server
    stub.fail_first = [(400, {})]
    backend = OpenAIBackend("m", base_url=url, backoff_s=0.01)
    with pytest.raises(RuntimeError, match=r"HTTP 400.*slow down"):
        run_rollouts(backend, TASK.questions(1), RolloutConfig(mode="text"), grader=TASK.grade, progress=False)
    assert len(stub.requests) == 1


def test_concurrency_limit(server: tuple[str, Stub]) -> None:
    url, stub = server
    stub.delay = 0.1
    backend = OpenAIBackend("m", base_url=url, concurrency=2)
    trajs = run_rollouts(backend, TASK.questions(6), RolloutConfig(mode="text"), grader=TASK.grade, progress=False)
    assert len(trajs) == 6 and len(stub.requests) == 6
    assert stub.max_in_flight == 2


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o")
    with pytest.raises(ValueError, match="NAMED_KEY"):
        OpenAIBackend("m", base_url="http://127.0.0.1:1/v1", api_key_env="NAMED_KEY")
    with pytest.raises(ValueError, match="tokenizer"):
        OpenAIBackend("m", base_url="http://127.0.0.1:1/v1", api="completions")
    with pytest.raises(ValueError, match="unknown backend"):
        get_backend("llamacpp")


def test_vllm_missing_gives_install_hint() -> None:
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here; the hint path cannot be exercised")
    with pytest.raises(ImportError, match=r"pip install 'r1ci\[vllm\]'"):
        get_backend("vllm", "default")
