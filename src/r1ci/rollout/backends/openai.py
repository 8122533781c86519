"""OpenAI-compatible backend (OpenAI, vLLM/SGLang/TGI servers, ...) on the official `openai` SDK.

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

Context: the server's context length is read from `/v1/models` when it publishes one (vLLM's
`max_model_len`) or given as `max_context`; each request's `max_tokens` is bounded by what is left
of it after the rollout's last known context (the server's own `usage` count), and a request the
server still rejects as too long ends that rollout with "length", as a full context would.

Reliability: requests run concurrently under an asyncio semaphore (`concurrency`); the SDK retries
429, 408/409, 5xx, timeouts and connection errors with exponential backoff (honouring `Retry-After`,
`max_retries` times). A request that still fails becomes an error result for that sample only (the
engine records it as `stop_reason="error"` with `metadata.error`) and the run goes on; only errors
that would fail every request (bad key, no permission, unknown model or endpoint) stop the run.

Install: `pip install 'r1ci[openai]'`.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from r1ci.rollout.backends.base import (
    FinishReason,
    GenerationRequest,
    GenerationResult,
    OnFinish,
    SamplingParams,
)
from r1ci.rollout.backends.shared import BaseBackend, import_optional, served_finish_reason
from r1ci.rollout.protocol import StopRules

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

T = TypeVar("T")
Api = Literal["chat", "completions"]
DEFAULT_BASE_URL = "https://api.openai.com/v1"
INSTALL_HINT = "the openai backend needs the official client: pip install 'r1ci[openai]'"
_CONTEXT_ERROR = re.compile(r"context[ _]length|maximum context|context window|too many tokens|prompt is too long", re.I)


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
    if "stop_reason" in choice:  # vLLM / SGLang: the matched string, a token id, or None for EOS
        reason = served_finish_reason(finish, choice["stop_reason"])
        return (text + choice["stop_reason"] if reason == "stop" else text), reason
    if finish != "stop":
        return text, "length" if finish == "length" else "eos"
    for s in rules.stop_strings():
        if rules.event(turn_text + text + s) is not None:
            return text + s, "stop"
    return text, "eos"


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "") + f": {message}"[:600]


class OpenAIBackend(BaseBackend):
    name = "openai"
    default_batch_size = 64

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
        max_context: int | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if api not in ("chat", "completions"):
            raise ValueError(f"api must be 'chat' or 'completions', got {api!r}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self._openai = import_optional("openai", INSTALL_HINT)
        self.model_name = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api: Api = api
        key = api_key or os.environ.get(api_key_env)
        if key is None and (api_key_env != "OPENAI_API_KEY" or self.base_url == DEFAULT_BASE_URL):
            raise ValueError(
                f"no API key: set the environment variable {api_key_env} (or pass api_key); "
                "local servers without auth work with --base-url and no key"
            )
        # The SDK insists on a key; servers without auth ignore the header.
        self.api_key = key or "EMPTY"
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
        self.max_context: int | None = max_context
        self._context_known = max_context is not None
        self.extra_body = dict(extra_body or {})
        self._used: dict[int, int] = {}
        """Per rollout key: the context the server counted at its last answer (prompt + completion)."""

    # --- request bodies ---------------------------------------------------------------------------

    def _max_tokens(self, req: GenerationRequest) -> int:
        if self.max_context is None or req.key is None or req.key not in self._used:
            return req.max_new_tokens
        return max(1, min(req.max_new_tokens, self.max_context - self._used[req.key]))

    def _body(self, req: GenerationRequest, params: SamplingParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_name,
            "max_tokens": self._max_tokens(req),
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
        else:
            assert self.template_tokenizer is not None
            rendered = self.template_tokenizer.apply_chat_template(
                req.messages, tokenize=False, add_generation_prompt=True
            )
            body["prompt"] = rendered + req.completion_text
        if self.extra_body:
            body["extra_body"] = dict(self.extra_body)
        return body

    # --- transport --------------------------------------------------------------------------------

    def _client(self) -> Any:
        return self._openai.AsyncOpenAI(
            base_url=self.base_url, api_key=self.api_key, max_retries=self.max_retries, timeout=self.timeout_s
        )

    async def _learn_context(self, client: Any) -> None:
        """The served model's context length from /v1/models, where the server publishes it."""
        self._context_known = True
        try:
            page = await client.models.list()
        except self._openai.OpenAIError:
            return  # not every server lists models; requests are then bounded by the engine's budget only
        for card in page.data:
            if card.id == self.model_name:
                extra = card.model_extra or {}
                for key in ("max_model_len", "context_length", "context_window", "max_context_length"):
                    if isinstance(extra.get(key), int):
                        self.max_context = int(extra[key])
                        return

    async def _one(self, client: Any, req: GenerationRequest, params: SamplingParams) -> GenerationResult:
        openai = self._openai
        body = self._body(req, params)
        try:
            if self.api == "chat":
                resp = await client.chat.completions.create(**body)
            else:
                resp = await client.completions.create(**body)
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as exc:
            raise RuntimeError(
                f"{self.base_url} refused the request: {_describe(exc)}\n"
                "check the API key (--api-key-env), the model name (--model) and --api (chat or completions)"
            ) from exc
        except openai.BadRequestError as exc:
            if _CONTEXT_ERROR.search(str(getattr(exc, "message", "") or exc)):
                return GenerationResult(text="", token_ids=[], finish_reason="length")
            return GenerationResult(text="", token_ids=[], finish_reason="error", error=_describe(exc))
        except openai.OpenAIError as exc:  # retries exhausted, timeouts, 422s, malformed answers
            return GenerationResult(text="", token_ids=[], finish_reason="error", error=_describe(exc))
        try:
            choice = resp.choices[0].model_dump()
            text = (choice["message"].get("content") if self.api == "chat" else choice.get("text")) or ""
        except (IndexError, KeyError, AttributeError, TypeError) as exc:
            return GenerationResult(text="", token_ids=[], finish_reason="error",
                                    error=f"unexpected response shape from {self.base_url}: {exc}")
        text, reason = infer_stop(req.rules, req.turn_text, text, choice)
        usage = resp.usage
        completion = getattr(usage, "completion_tokens", None)
        prompt = getattr(usage, "prompt_tokens", None)
        if req.key is not None and prompt is not None:
            self._used[req.key] = int(prompt) + int(completion or 0)
        return GenerationResult(text=text, token_ids=[], finish_reason=reason, logprobs=None,
                                num_tokens=completion, prompt_tokens=prompt)

    async def _generate_all(
        self, requests: list[GenerationRequest], params: SamplingParams, on_finish: OnFinish | None
    ) -> list[GenerationResult]:
        sem = asyncio.Semaphore(self.concurrency)
        async with self._client() as client:
            if not self._context_known:
                await self._learn_context(client)

            async def one(i: int, req: GenerationRequest) -> GenerationResult:
                async with sem:
                    res = await self._one(client, req, params)
                if on_finish is not None and res.error is None:
                    on_finish(i, res.text)
                return res

            return list(await asyncio.gather(*(one(i, r) for i, r in enumerate(requests))))

    def _generate(
        self, requests: list[GenerationRequest], params: SamplingParams, on_finish: OnFinish | None
    ) -> list[GenerationResult]:
        return run_coroutine(self._generate_all(requests, params, on_finish))

    def reset(self) -> None:
        self._used.clear()

    def close(self) -> None:
        self._used.clear()
