"""Model backends behind one interface (`Backend`): hf, vllm, openai, scripted.

    backend = get_backend("hf", model="default")                       # transformers, CPU or GPU
    backend = get_backend("vllm", model="Qwen/Qwen2.5-7B-Instruct")     # needs r1ci[vllm]
    backend = get_backend("openai", model="gpt-4o", base_url="https://api.openai.com/v1")
    backend = get_backend("scripted", script=my_fn)                    # words fixed by a function

Heavy imports (torch/transformers, vllm, httpx) happen only when a backend is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from r1ci.rollout.backends.base import (
    Backend,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    OnFinish,
    SamplingParams,
)


def _hf(model: str, **opts: Any) -> Backend:
    from r1ci.rollout.backends.hf import HFBackend

    return HFBackend.load(model, **opts)


def _vllm(model: str, **opts: Any) -> Backend:
    from r1ci.rollout.backends.vllm import VLLMBackend

    return VLLMBackend(model, **opts)


def _openai(model: str, **opts: Any) -> Backend:
    from r1ci.rollout.backends.openai import OpenAIBackend

    return OpenAIBackend(model, **opts)


def _scripted(model: str, **opts: Any) -> Backend:
    from r1ci.rollout.backends.scripted import SCRIPTS, ScriptedBackend

    script = opts.pop("script", None) or "calculator"
    if isinstance(script, str):
        if script not in SCRIPTS:
            raise ValueError(f"unknown script {script!r}; built-in scripts: {sorted(SCRIPTS)} (or pass a function)")
        script = SCRIPTS[script]
    # `model` names the tokenizer the scripted words are tokenised with.
    opts.setdefault("tokenizer", model)
    return ScriptedBackend(script, **opts)


BACKENDS: dict[str, Callable[..., Backend]] = {"hf": _hf, "vllm": _vllm, "openai": _openai, "scripted": _scripted}


def get_backend(name: str, model: str = "default", **opts: Any) -> Backend:
    """Build a backend by name; `opts` go to its constructor (see each backend module)."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}") from None
    return factory(model, **opts)



__all__ = [
    "BACKENDS",
    "Backend",
    "FinishReason",
    "GenerationRequest",
    "GenerationResult",
    "OnFinish",
    "SamplingParams",
    "get_backend",
]
