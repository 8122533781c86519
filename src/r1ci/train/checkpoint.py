"""Save and resume a training run: model, optimizer, scheduler, RNG streams and the caller's state.

Layout of one checkpoint (`out_dir/checkpoints/step-{step}/`):

    model/             `save_pretrained` output: full weights, or only the adapter for a peft model
                       (the frozen base is reloaded from its own path); a plain nn.Module -> model.pt
    optimizer.pt       optimizer state_dict (rank 0; identical on every rank under DDP)
    scheduler.pt       LR scheduler state_dict (when one is given)
    rng/rank-{r}.pt    python / numpy / torch CPU / CUDA generator states, one file per process
    fsdp/              under FSDP only: sharded model + optimizer via accelerate's FSDP helpers
                       (replacing model/ and optimizer.pt, which FSDP cannot write from one rank)
    extra_state.json   the caller's JSON state: data position, curriculum stage, metrics, ...
    meta.json          step, time, library versions; written last, so its presence marks completion

A checkpoint is written into `step-{step}.tmp` and renamed into place, so a run killed mid-save
never leaves a folder `latest_checkpoint` would pick. Works with a bare model (one process, as on
CPU) and with an `accelerate.Accelerator` (pass `accelerator=`): then only the main process writes
shared files, every process writes its own RNG file, and all processes wait for each other.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from r1ci.provenance import versions

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator

CHECKPOINTS = "checkpoints"
_STEP_RE = re.compile(r"^step-(\d+)$")


def checkpoint_dir(out_dir: str | Path, step: int) -> Path:
    return Path(out_dir) / CHECKPOINTS / f"step-{step}"


def _rank(accelerator: Accelerator | None) -> int:
    return accelerator.process_index if accelerator is not None else 0


def _is_main(accelerator: Accelerator | None) -> bool:
    return accelerator is None or accelerator.is_main_process


def _barrier(accelerator: Accelerator | None) -> None:
    if accelerator is not None:
        accelerator.wait_for_everyone()


def _is_fsdp(accelerator: Accelerator | None) -> bool:
    if accelerator is None:
        return False
    from accelerate.utils import DistributedType

    return accelerator.distributed_type == DistributedType.FSDP


def _unwrap(model: torch.nn.Module, accelerator: Accelerator | None) -> torch.nn.Module:
    if accelerator is not None:
        return accelerator.unwrap_model(model)
    return model


def _is_peft(model: Any) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "get_base_model")


def rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_model(model: torch.nn.Module, folder: Path, accelerator: Accelerator | None) -> None:
    import torch

    inner = _unwrap(model, accelerator)
    state_dict = accelerator.get_state_dict(model) if accelerator is not None else None
    if not _is_main(accelerator):
        return
    if hasattr(inner, "save_pretrained"):
        kwargs: dict[str, Any] = {"safe_serialization": True}
        if state_dict is not None and not _is_peft(inner):
            kwargs["state_dict"] = state_dict
        inner.save_pretrained(folder, **kwargs)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(state_dict if state_dict is not None else inner.state_dict(), folder / "model.pt")


def _load_model(model: torch.nn.Module, folder: Path, accelerator: Accelerator | None) -> None:
    import torch
    from safetensors.torch import load_file

    inner = _unwrap(model, accelerator)
    if (folder / "model.pt").exists():
        inner.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
        return
    if _is_peft(inner):
        from peft import set_peft_model_state_dict

        adapter = folder / "adapter_model.safetensors"
        if not adapter.exists():
            raise FileNotFoundError(f"{folder} holds no adapter_model.safetensors; was it saved from a peft model?")
        set_peft_model_state_dict(inner, load_file(str(adapter)))
        return
    shards = sorted(folder.glob("model*.safetensors"))
    if not shards:
        raise FileNotFoundError(f"{folder} holds no model*.safetensors weights")
    state: dict[str, torch.Tensor] = {}
    for shard in shards:
        state.update(load_file(str(shard)))
    missing, unexpected = inner.load_state_dict(state, strict=False)
    # save_pretrained drops tied copies (e.g. lm_head == embed_tokens); anything else missing is a real mismatch
    tied = set(getattr(inner, "_tied_weights_keys", None) or [])
    real_missing = [k for k in missing if k not in tied and not any(k.endswith(t) for t in tied)]
    if real_missing or unexpected:
        raise RuntimeError(
            f"checkpoint {folder} does not match the model: missing {real_missing[:5]}, unexpected "
            f"{list(unexpected)[:5]}; resume with the same --model (and LoRA settings) that wrote it"
        )
    if hasattr(inner, "tie_weights"):
        inner.tie_weights()


def save_checkpoint(
    out_dir: str | Path,
    *,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any = None,
    extra_state: Mapping[str, Any] | None = None,
    accelerator: Accelerator | None = None,
    keep_last: int | None = None,
) -> Path:
    """Write `out_dir/checkpoints/step-{step}/` atomically and return its path.

    `extra_state` must be JSON-serialisable (data position, curriculum stage...). `keep_last` prunes
    older complete checkpoints after this one is in place (None keeps all).
    """
    import torch

    final = checkpoint_dir(out_dir, step)
    tmp = final.with_name(final.name + ".tmp")
    extra = dict(extra_state or {})
    try:
        payload = json.dumps(extra, indent=2)
    except TypeError as exc:
        raise TypeError(f"extra_state must be JSON-serialisable: {exc}") from exc
    if _is_main(accelerator):
        if tmp.exists():
            shutil.rmtree(tmp)  # leftover of a save that was killed
        tmp.mkdir(parents=True)
    _barrier(accelerator)

    if _is_fsdp(accelerator):
        from accelerate.utils import save_fsdp_model, save_fsdp_optimizer

        plugin = accelerator.state.fsdp_plugin  # type: ignore[union-attr]
        save_fsdp_model(plugin, accelerator, model, str(tmp / "fsdp"))
        save_fsdp_optimizer(plugin, accelerator, optimizer, model, str(tmp / "fsdp"))
    else:
        _save_model(model, tmp / "model", accelerator)
        if _is_main(accelerator):
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    if _is_main(accelerator) and scheduler is not None:
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    (tmp / "rng").mkdir(exist_ok=True)
    torch.save(rng_state(), tmp / "rng" / f"rank-{_rank(accelerator)}.pt")
    _barrier(accelerator)

    if _is_main(accelerator):
        (tmp / "extra_state.json").write_text(payload, encoding="utf-8")
        meta = {"step": step, "time": time.time(), "versions": versions(),
                "num_processes": accelerator.num_processes if accelerator is not None else 1}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        if keep_last is not None:
            prune_checkpoints(out_dir, keep_last)
    _barrier(accelerator)
    return final


def list_checkpoints(out_dir: str | Path) -> list[Path]:
    """Complete checkpoints (those with meta.json), oldest first."""
    root = Path(out_dir) / CHECKPOINTS
    if not root.exists():
        return []
    found = []
    for child in root.iterdir():
        match = _STEP_RE.match(child.name)
        if match and (child / "meta.json").exists():
            found.append((int(match.group(1)), child))
    return [path for _, path in sorted(found)]


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    ckpts = list_checkpoints(out_dir)
    return ckpts[-1] if ckpts else None


def prune_checkpoints(out_dir: str | Path, keep_last: int) -> list[Path]:
    """Delete all but the newest `keep_last` complete checkpoints; returns what was deleted."""
    if keep_last < 1:
        raise ValueError(f"keep_last must be >= 1 (the newest checkpoint is what --resume needs), got {keep_last}")
    old = list_checkpoints(out_dir)[:-keep_last]
    for path in old:
        shutil.rmtree(path)
    return old


def load_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    scheduler: Any = None,
    accelerator: Accelerator | None = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore a checkpoint in place and return its `extra_state` (with `step` added if absent).

    Call it after `accelerator.prepare(...)`, with the same model/optimizer layout that saved it.
    `optimizer=None` loads weights only (e.g. to evaluate a checkpoint).
    """
    import torch

    ckpt = Path(path)
    if not (ckpt / "meta.json").exists():
        raise FileNotFoundError(f"{ckpt} is not a complete checkpoint (no meta.json); pick one from list_checkpoints()")
    meta = json.loads((ckpt / "meta.json").read_text(encoding="utf-8"))
    if (ckpt / "fsdp").exists():
        if not _is_fsdp(accelerator):
            raise RuntimeError(f"{ckpt} was written under FSDP; resume it under the same FSDP accelerate config")
        from accelerate.utils import load_fsdp_model, load_fsdp_optimizer

        plugin = accelerator.state.fsdp_plugin  # type: ignore[union-attr]
        load_fsdp_model(plugin, accelerator, model, str(ckpt / "fsdp"))
        if optimizer is not None:
            load_fsdp_optimizer(plugin, accelerator, optimizer, model, str(ckpt / "fsdp"))
    else:
        _load_model(model, ckpt / "model", accelerator)
        if optimizer is not None:
            state = torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=False)
            optimizer.load_state_dict(state)
    if scheduler is not None:
        if not (ckpt / "scheduler.pt").exists():
            raise FileNotFoundError(f"{ckpt} has no scheduler.pt but a scheduler was given to restore")
        scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", weights_only=False))
    if restore_rng:
        rng_file = ckpt / "rng" / f"rank-{_rank(accelerator)}.pt"
        if not rng_file.exists():  # resuming on more processes than saved: fall back to rank 0's streams
            rng_file = ckpt / "rng" / "rank-0.pt"
        set_rng_state(torch.load(rng_file, weights_only=False))
    extra = json.loads((ckpt / "extra_state.json").read_text(encoding="utf-8"))
    extra.setdefault("step", meta["step"])
    return extra
