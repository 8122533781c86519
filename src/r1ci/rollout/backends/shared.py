"""What the concrete backends (hf, vllm, openai, scripted) share, apart from the interface in `base`:
the `generate` preamble, no-op `reset`/`close`, optional imports, and vLLM's way of saying why a
sequence stopped (the vllm backend and vLLM/SGLang servers behind the openai one report it alike)."""

from __future__ import annotations

import importlib
from typing import Any

from r1ci.rollout.backends.base import (
    FinishReason,
    GenerationRequest,
    GenerationResult,
    OnFinish,
    SamplingParams,
    check_params,
)


class BaseBackend:
    """The `Backend` methods every backend writes alike: `generate` checks the sampling parameters
    and answers an empty batch at once, then hands the batch to the backend's own `_generate`;
    `reset` and `close` do nothing unless a backend keeps per-rollout state or resources."""

    def generate(
        self, requests: list[GenerationRequest], params: SamplingParams, on_finish: OnFinish | None = None
    ) -> list[GenerationResult]:
        check_params(params)
        if not requests:  # the hf batch needs a row, the openai backend would open a client for nothing
            return []
        return self._generate(requests, params, on_finish)

    def _generate(
        self, requests: list[GenerationRequest], params: SamplingParams, on_finish: OnFinish | None
    ) -> list[GenerationResult]:
        raise NotImplementedError

    def reset(self) -> None:
        return None  # no per-rollout state

    def close(self) -> None:
        return None


def import_optional(module: str, install_hint: str) -> Any:
    """Import an optional dependency of a backend; when it is missing, say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(install_hint) from exc


def served_finish_reason(finish_reason: str | None, stop_reason: object) -> FinishReason:
    """Why a sequence stopped, as vLLM reports it (`vllm.LLM` and vLLM/SGLang servers alike):
    finish_reason "length", or "stop" with `stop_reason` the matched stop string (a str), the stop
    token id or None (EOS). A stop string becomes "stop" (the engine decides whether it was an
    event); a stop token or EOS ends the turn."""
    if finish_reason == "length":
        return "length"
    return "stop" if finish_reason == "stop" and isinstance(stop_reason, str) else "eos"
