"""OpenAI-compatible HTTP backend (OpenAI, vLLM/SGLang/TGI servers, ...) over httpx; no `openai` package.

- `api="chat"` (default): the conversation goes out as messages; the model's earlier turns are
  assistant messages and each interpreter output a user message (the paper's teacher setting). A
  turn resumed after a stop string that was no event sends the partial text as an assistant message,
  which servers treat as a new message: approximate, and rare.
- `api="completions"`: the prompt is rendered locally with the chat template of `tokenizer` and the
  completion so far is appended verbatim, so continuation is exact (needs `tokenizer`).

Stops: the closing code fence (```` ```\\n ````) and `>>>`. The API strips the matched stop string and
plain OpenAI does not say which one matched (vLLM servers do, as `stop_reason`), so the backend
re-appends the stop string whose addition completes a stop event; when none does, the model ended
its turn. Trajectories from this backend carry text only; `trajectory_features(traj, tokenizer)`
tokenises them for training.

Reliability: requests run concurrently under an asyncio semaphore (`concurrency`); 429, 5xx,
timeouts and connection errors are retried with exponential backoff (honouring `Retry-After`); other
4xx errors fail at once with the server's message.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx

from r1ci.rollout.backends.base import (
    FinishReason,
    GenerationRequest,
    GenerationResult,
    OnFinish,
    SamplingParams,
    check_params,
)
from r1ci.rollout.protocol import StopRules

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

T = TypeVar("T")
Api = Literal["chat", "completions"]
DEFAULT_BASE_URL = "https://api.openai.com/v1"


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code, also when an event loop already runs (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="r1ci-openai")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def infer_stop(rules: StopRules, turn_text: str, text: str, choice: dict[str, Any]) -> tuple[str, FinishReason]:
    """Put back the stop string the server stripped; say whether the turn stopped or ended."""
    finish = choice.get("finish_reason")
    if finish == "length":
        return text, "length"
    if finish != "stop":
        return text, "eos"
    if "stop_reason" in choice:  # vLLM / SGLang: the matched string, a token id, or None for EOS
        matched = choice["stop_reason"]
        return (text + matched, "stop") if isinstance(matched, str) else (text, "eos")
    for s in rules.stop_strings():
        if rules.event(turn_text + text + s) is not None:
            return text + s, "stop"
    return text, "eos"


class OpenAIBackend:
    name = "openai"
    default_batch_size = 64
    max_context: int | None = None

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api: Api = "chat",
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        tokenizer: PreTrainedTokenizerBase | str | None = None,
        concurrency: int = 16,
        max_retries: int = 6,
        timeout_s: float = 120.0,
        backoff_s: float = 1.0,
        backoff_max_s: float = 30.0,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if api not in ("chat", "completions"):
            raise ValueError(f"api must be 'chat' or 'completions', got {api!r}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.model_name = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api: Api = api
        key = api_key or os.environ.get(api_key_env)
        if key is None and (api_key_env != "OPENAI_API_KEY" or self.base_url == DEFAULT_BASE_URL):
            raise ValueError(
                f"no API key: set the environment variable {api_key_env} (or pass api_key); "
                "local servers without auth work with --base-url and no key"
            )
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        if isinstance(tokenizer, str):
            from r1ci.models import load_tokenizer

            tokenizer = load_tokenizer(tokenizer)
        if api == "completions" and tokenizer is None:
            raise ValueError(
                "the completions API needs a tokenizer to render the chat template: "
                "pass tokenizer=<hub id, folder or 'default'> (CLI: --tokenizer)"
            )
        self.template_tokenizer = tokenizer
        self.tokenizer = None  # the server's token ids are unknown: trajectories stay text-only
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.extra_body = dict(extra_body or {})

    # --- request bodies ---------------------------------------------------------------------------

    def _body(self, req: GenerationRequest, params: SamplingParams) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model_name,
            "max_tokens": req.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": req.seed,
        }
        stops = req.rules.stop_strings()
        if stops:
            body["stop"] = stops
        if self.api == "chat":
            messages = list(req.messages)
            for seg in req.segments:
                role = "assistant" if seg.kind == "model" else "user"
                messages.append({"role": role, "content": seg.text})
            body["messages"] = messages
            path = "/chat/completions"
        else:
            assert self.template_tokenizer is not None
            rendered = self.template_tokenizer.apply_chat_template(
                req.messages, tokenize=False, add_generation_prompt=True
            )
            body["prompt"] = rendered + req.completion_text
            path = "/completions"
        body.update(self.extra_body)
        return path, body

    # --- transport --------------------------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        delay = min(self.backoff_max_s, self.backoff_s * 2**attempt) * (1 + 0.25 * random.random())
        if retry_after and retry_after.replace(".", "", 1).isdigit():  # seconds; an HTTP-date is ignored
            delay = max(delay, min(float(retry_after), self.backoff_max_s))
        return delay

    async def _post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url + path
        error = ""
        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                resp = await client.post(url, json=body)
            except httpx.TransportError as exc:  # timeouts, refused/reset connections
                error = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    return resp.json()
                if resp.status_code == 429 or resp.status_code >= 500:
                    error = f"HTTP {resp.status_code}: {resp.text[:300]}"
                    retry_after = resp.headers.get("retry-after")
                else:
                    raise RuntimeError(
                        f"{url} answered HTTP {resp.status_code}: {resp.text[:500]}\n"
                        "check the model name, the API key and --api (chat or completions)"
                    )
            if attempt < self.max_retries:
                await asyncio.sleep(self._delay(attempt, retry_after))
        raise RuntimeError(f"{url}: giving up after {self.max_retries + 1} attempts; last error: {error}")

    async def _one(self, client: httpx.AsyncClient, req: GenerationRequest, params: SamplingParams) -> GenerationResult:
        path, body = self._body(req, params)
        data = await self._post(client, path, body)
        try:
            choice = data["choices"][0]
            text = (choice["message"].get("content") if self.api == "chat" else choice.get("text")) or ""
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise RuntimeError(f"unexpected response shape from {self.base_url}{path}: {str(data)[:300]}") from exc
        text, reason = infer_stop(req.rules, req.turn_text, text, choice)
        usage = data.get("usage") or {}
        return GenerationResult(text=text, token_ids=[], finish_reason=reason, logprobs=None,
                                num_tokens=usage.get("completion_tokens"))

    async def _generate_all(
        self, requests: list[GenerationRequest], params: SamplingParams, on_finish: OnFinish | None
    ) -> list[GenerationResult]:
        sem = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(headers=self._headers, timeout=self.timeout_s, limits=limits) as client:

            async def one(i: int, req: GenerationRequest) -> GenerationResult:
                async with sem:
                    res = await self._one(client, req, params)
                if on_finish is not None:
                    on_finish(i, res.text)
                return res

            return list(await asyncio.gather(*(one(i, r) for i, r in enumerate(requests))))

    def generate(
        self,
        requests: list[GenerationRequest],
        params: SamplingParams,
        on_finish: OnFinish | None = None,
    ) -> list[GenerationResult]:
        check_params(params)
        if not requests:
            return []
        return run_coroutine(self._generate_all(requests, params, on_finish))

    def reset(self) -> None:
        return None  # no per-rollout state

    def close(self) -> None:
        return None
