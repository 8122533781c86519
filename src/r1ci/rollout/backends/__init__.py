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



def backend_from_cli(
    name: str,
    model: str = "default",
    *,
    device: str | None = None,
    base_url: str | None = None,
    api: str = "chat",
    api_key_env: str | None = None,
    tokenizer: str | None = None,
    script: str | None = None,
    concurrency: int | None = None,
) -> Backend:
    """`get_backend` from the CLI's flat flags: each backend gets only the options it understands,
    and a flag that does not apply to the chosen backend is an error (not silently ignored)."""
    given = {
        "device": device, "base_url": base_url, "api_key_env": api_key_env, "tokenizer": tokenizer,
        "script": script, "concurrency": concurrency, "api": None if api == "chat" else api,
    }
    accepted = {
        "hf": {"device"},
        "vllm": set(),
        "openai": {"base_url", "api", "api_key_env", "tokenizer", "concurrency"},
        "scripted": {"script"},
    }.get(name)
    if accepted is None:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    wrong = sorted(k for k, v in given.items() if v is not None and k not in accepted)
    if wrong:
        flags = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise ValueError(f"{flags} do(es) not apply to the {name} backend")
    return get_backend(name, model, **{k: v for k, v in given.items() if v is not None})


__all__ = [
    "BACKENDS",
    "Backend",
    "FinishReason",
    "GenerationRequest",
    "GenerationResult",
    "OnFinish",
    "SamplingParams",
    "backend_from_cli",
    "get_backend",
]
