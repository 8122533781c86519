"""The openai backend (official SDK) against a local FastAPI server speaking the real protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai_stub import Stub, serve
from rollout_fakes import SubprocessExecutor, make_task

from r1ci.rollout import RolloutConfig, run_rollouts
from r1ci.rollout.backends import get_backend
from r1ci.rollout.backends.openai import OpenAIBackend
from r1ci.rollout.tokenize import encode_prompt, trajectory_features

TASK = make_task()


@pytest.fixture
def server() -> Iterator[tuple[str, Stub]]:
    stub = Stub()
    with serve(stub) as url:
        yield url, stub


def _run(backend: OpenAIBackend, n: int = 1, **cfg: Any) -> list[Any]:
    questions = TASK.questions(7)[6:7] if n == 1 else TASK.questions(n)
    return run_rollouts(backend, questions, RolloutConfig(**cfg), executor=SubprocessExecutor(),
                        grader=TASK.grade, progress=False)


def test_chat_api_multi_turn_with_429_retry(server: tuple[str, Stub], monkeypatch: pytest.MonkeyPatch) -> None:
    url, stub = server
    stub.fail = [(429, {"Retry-After": "0"}, "slow down")]
    monkeypatch.setenv("MY_KEY", "sk-test")
    backend = get_backend("openai", "stub-model", base_url=url, api_key_env="MY_KEY")
    (t,) = _run(backend, temperature=0.3)  # gold "42"
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
    assert t.metadata["error"] is None


def test_token_counts_come_from_usage(server: tuple[str, Stub]) -> None:
    url, stub = server
    (t,) = _run(OpenAIBackend("stub-model", base_url=url))
    bodies = [r["body"] for r in stub.requests]
    usage = [stub.prompt_tokens(b) for b in bodies]
    model = [stub.count("Let me compute.\n```python\nprint(6 * 7)\n"), stub.count("The interpreter printed 42, so <<<42>>>")]
    # interpreter tokens = how much the server's prompt count grew beyond the last answer
    interpreter = usage[1] - (usage[0] + model[0])
    assert interpreter > 0
    assert t.metadata["completion_tokens"] == sum(model) + interpreter


def test_completions_api_vllm_style_and_features(server: tuple[str, Stub], tiny_tokenizer: Any) -> None:
    url, stub = server
    stub.vllm_style = True
    backend = OpenAIBackend("m", base_url=url, api="completions", tokenizer=tiny_tokenizer)
    (t,) = _run(backend)
    assert t.reward == 1.0
    prompt2 = stub.requests[1]["body"]["prompt"]
    rendered = tiny_tokenizer.apply_chat_template(t.messages, tokenize=False, add_generation_prompt=True)
    # Exact continuation: the template, then the completion so far verbatim.
    assert prompt2 == rendered + t.segments[0].text + t.segments[1].text
    ids, mask = trajectory_features(t, tiny_tokenizer)
    assert ids[: len(encode_prompt(tiny_tokenizer, t.messages))] == encode_prompt(tiny_tokenizer, t.messages)
    assert 0 in mask[len(encode_prompt(tiny_tokenizer, t.messages)) :] and mask[-1] == 1


def test_retries_5xx_and_timeouts_then_records_the_failure(server: tuple[str, Stub]) -> None:
    url, stub = server
    stub.hang_first_s = 1.5
    stub.fail = [(503, {"Retry-After": "0"}, "busy"), (500, {"Retry-After": "0"}, "oops")]
    backend = OpenAIBackend("m", base_url=url, timeout_s=0.5)
    (t,) = _run(backend, mode="text")
    assert t.stop_reason in ("answer", "eos") and t.metadata["error"] is None
    assert len(stub.requests) == 4  # timed out, 503, 500, success
    stub.fail = [(500, {"Retry-After": "0"}, "down for good")] * 3
    (failed,) = _run(OpenAIBackend("m", base_url=url, max_retries=2), mode="text")
    assert failed.stop_reason == "error" and failed.reward == 0.0
    assert "InternalServerError" in failed.metadata["error"] and "down for good" in failed.metadata["error"]


def test_a_bad_request_fails_that_sample_only(server: tuple[str, Stub]) -> None:
    url, stub = server
    stub.fail = [(400, {}, "bad sample")]
    trajs = _run(OpenAIBackend("m", base_url=url, concurrency=1), n=3, mode="text")
    assert [t.stop_reason for t in trajs].count("error") == 1
    (bad,) = [t for t in trajs if t.stop_reason == "error"]
    assert "HTTP 400" in bad.metadata["error"] and "bad sample" in bad.metadata["error"]
    assert all(t.metadata["error"] is None for t in trajs if t is not bad)
    assert len(stub.requests) == 3  # 400s are not retried


def test_auth_errors_stop_the_run_with_a_hint(server: tuple[str, Stub]) -> None:
    url, stub = server
    stub.fail = [(401, {}, "invalid api key")]
    with pytest.raises(RuntimeError, match=r"(?s)HTTP 401.*invalid api key.*check the API key"):
        _run(OpenAIBackend("m", base_url=url), mode="text")


def test_context_length_from_models_bounds_requests(server: tuple[str, Stub]) -> None:
    url, stub = server
    stub.max_model_len = 400
    backend = OpenAIBackend("stub-model", base_url=url)
    (t,) = _run(backend, max_tokens_per_turn=1000, max_new_tokens=1000)
    assert backend.max_context == 400
    first, second = (r["body"] for r in stub.requests)
    assert first["max_tokens"] == 1000  # nothing known yet about this rollout's context
    used = stub.prompt_tokens(first) + stub.count("Let me compute.\n```python\nprint(6 * 7)\n")
    assert second["max_tokens"] == 400 - used
    assert t.reward == 1.0
    # A prompt the server rejects as too long ends the rollout with "length", not an error.
    stub.max_model_len = 20
    (full,) = _run(OpenAIBackend("stub-model", base_url=url))
    assert full.stop_reason == "length" and full.metadata["error"] is None


def test_concurrency_limit(server: tuple[str, Stub]) -> None:
    url, stub = server
    stub.delay_s = 0.1
    trajs = _run(OpenAIBackend("m", base_url=url, concurrency=2), n=6, mode="text")
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


def test_missing_sdk_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "openai", None)  # what an environment without the SDK looks like
    with pytest.raises(ImportError, match=r"pip install 'r1ci\[openai\]'"):
        OpenAIBackend("m", base_url="http://127.0.0.1:1/v1")


def test_solve_cli_records_a_failed_request_in_json_out(server: tuple[str, Stub], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from r1ci.cli import app

    url, stub = server
    stub.fail = [(422, {}, "unprocessable sampling parameters")]
    out = tmp_path / "t.json"
    res = CliRunner().invoke(app, ["solve", "What is 6 * 7?", "--backend", "openai", "--model", "stub-model",
                                   "--base-url", url, "--mode", "text", "--json-out", str(out)], terminal_width=200)
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and "stop: error" in res.output and "HTTP 422" in res.output
    traj = json.loads(out.read_text())
    assert traj["stop_reason"] == "error" and "unprocessable sampling parameters" in traj["metadata"]["error"]
    assert traj["prompt_ids"] == [] and traj["segments"] == []
