"""What SFT and GRPO share around their loops: device and precision, the model (full or LoRA), the
optimizer and schedule, resume / interrupt checkpoints, and the final save.

Each trainer keeps only its own step; everything here is written once, so the two stages cannot drift
apart (they did: GRPO once saved a LoRA-merged bf16 model in fp32, twice its size).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from rich.console import Console

from r1ci.config import StrictModel, dump_config
from r1ci.provenance import provenance
from r1ci.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

FINAL_DIR = "final"
ADAPTER_DIR = "adapter"
Precision = Literal["auto", "fp32", "bf16", "bf16-pure"]
SaveDtype = Literal["auto", "fp32", "bf16"]


class LoraSettings(StrictModel):
    enabled: bool = False
    """False = full fine-tuning (the paper's setting)."""
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    keep_adapter: bool = False
    """The final model is always saved merged (loads anywhere as a plain HF model); with this set the
    unmerged adapter is also saved under `OUT/adapter/`."""


# ----------------------------------------------------------------------------------------------
# device, precision, accelerator


def launch_device_type() -> str:
    """The device accelerate will pick, known before the Accelerator exists (it needs the precision)."""
    import torch

    forced_cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    return "cuda" if torch.cuda.is_available() and not forced_cpu else "cpu"


def resolve_precision(precision: str, device_type: str | None = None) -> str:
    """auto: bf16 on GPU, fp32 on CPU. bf16 = fp32 weights + bf16 autocast; bf16-pure = bf16 weights."""
    device_type = device_type or launch_device_type()
    if precision == "auto":
        return "bf16" if device_type == "cuda" else "fp32"
    if precision.startswith("bf16") and device_type == "cpu":
        # CPU bf16 matmuls are slow on most CPUs and the demo must be exact; fail loudly rather than crawl
        raise ValueError("precision bf16 needs a GPU; use precision: auto or fp32 on CPU")
    return precision


def make_accelerator(precision: str) -> Accelerator:
    from accelerate import Accelerator

    mixed = "bf16" if precision == "bf16" else "no"
    # accelerate treats a torchrun / `accelerate launch --multi_gpu` launch without CUDA as one process
    # unless told it is on CPU; with cpu=True it joins the process group over gloo (multi-CPU DDP).
    return Accelerator(mixed_precision=mixed, cpu=launch_device_type() == "cpu")


# ----------------------------------------------------------------------------------------------
# model


def disable_dropout(model: torch.nn.Module) -> None:
    """Dropout makes log-probs of the same tokens differ between forward passes, i.e. a noisy ratio."""
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0


def load_trainable(
    spec: str,
    precision: str,
    lora: LoraSettings,
    *,
    attn_implementation: str | None = None,
    gradient_checkpointing: bool = False,
    no_dropout: bool = False,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    """The model to train (LoRA-wrapped when enabled), its tokenizer and the resolved base path.
    Weights are fp32 (bf16 with `bf16-pure`); `no_dropout` zeroes dropout, the adapter's too."""
    import torch
    from transformers import AutoModelForCausalLM

    from r1ci.models import load_tokenizer, resolve_model_path

    path = resolve_model_path(spec)
    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if precision == "bf16-pure" else torch.float32}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if no_dropout:
        disable_dropout(model)
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if lora.enabled:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=lora.r, lora_alpha=lora.alpha, lora_dropout=0.0 if no_dropout else lora.dropout,
            target_modules=lora.target_modules, task_type="CAUSAL_LM",
        ))
    return model, load_tokenizer(path), path


def pad_token_id(tokenizer: PreTrainedTokenizerBase) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


# ----------------------------------------------------------------------------------------------
# optimizer and schedule


def make_optimizer(model: torch.nn.Module, *, lr: float, betas: tuple[float, float],
                   weight_decay: float) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters; biases and norm gains are not decayed (standard practice:
    decaying them hurts stability)."""
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, betas=betas)


def make_scheduler(optimizer: Any, *, warmup: int, total: int, min_lr_ratio: float) -> Any:
    """Linear warmup from 0 over `warmup` steps, then cosine to lr * min_lr_ratio at `total`
    (transformers' `get_cosine_with_min_lr_schedule_with_warmup`; min_lr_ratio 1 = constant).

    Built on the bare optimizer and stepped by hand once per optimizer step: accelerate's wrapper
    would step it once per process, which silently shortens the schedule under DDP."""
    from transformers import get_cosine_with_min_lr_schedule_with_warmup

    inner = optimizer.optimizer if hasattr(optimizer, "optimizer") else optimizer
    return get_cosine_with_min_lr_schedule_with_warmup(
        inner, num_warmup_steps=warmup, num_training_steps=max(total, 1), min_lr_rate=min_lr_ratio)


# ----------------------------------------------------------------------------------------------
# checkpoints: resume and interrupt


class Checkpoints:
    """Periodic checkpoints of one run (`OUT/checkpoints/step-N`), `--resume` and Ctrl-C handling.

    `extra_state()` is called at every save: what the trainer needs beyond model/optimizer/scheduler
    (data fingerprint, curriculum state) to continue exactly where it stopped."""

    def __init__(self, out: Path, *, model: Any, optimizer: Any, scheduler: Any, accelerator: Accelerator,
                 keep_last: int | None, extra_state: Callable[[], dict[str, Any]], console: Console) -> None:
        self.out, self.model, self.optimizer, self.scheduler = out, model, optimizer, scheduler
        self.accelerator, self.keep_last, self.extra_state, self.console = accelerator, keep_last, extra_state, console
        self.last_saved = 0

    def resume(self, wanted: bool) -> tuple[Path | None, dict[str, Any]]:
        """With `wanted` (--resume): restore the newest checkpoint; returns it and its extra state."""
        ckpt = latest_checkpoint(self.out) if wanted else None
        if wanted and ckpt is None and self.accelerator.is_main_process:
            self.console.print(f"[yellow]--resume: no checkpoint under {self.out}/checkpoints; starting from step 0[/]")
        if ckpt is None:
            return None, {}
        state = load_checkpoint(ckpt, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                                accelerator=self.accelerator)
        self.last_saved = int(state["step"])
        return ckpt, state

    def save(self, step: int) -> None:
        save_checkpoint(self.out, step=step, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                        extra_state={**self.extra_state(), "step": step}, accelerator=self.accelerator,
                        keep_last=self.keep_last)
        self.last_saved = step

    def maybe_save(self, step: int, every: int | None, total: int) -> None:
        """The periodic save (the last step is covered by the final save)."""
        if every and step % every == 0 and step != total:
            self.save(step)

    @contextmanager
    def saved_on_interrupt(self, completed: Callable[[], int]) -> Iterator[None]:
        """On Ctrl-C keep the steps done so far. One process only: under DDP every rank is torn down
        at a different point and a collective save would hang. An interrupt inside a step leaves only
        unapplied gradients, which the checkpoint does not hold: it is a clean state."""
        try:
            yield
        except KeyboardInterrupt:
            done = completed()
            if self.accelerator.num_processes == 1 and done > self.last_saved:
                self.save(done)
                self.console.print(f"[yellow]interrupted after step {done}; checkpoint saved — continue with --resume[/]")
            raise


# ----------------------------------------------------------------------------------------------
# final save


def base_dtype(path: str) -> torch.dtype:
    """The dtype the base model's weights were published in (its config), fp32 when unrecorded."""
    import torch
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(path)
    dtype = getattr(cfg, "dtype", None) or getattr(cfg, "torch_dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) else torch.float32


def save_dtype_of(setting: str, base_path: str) -> torch.dtype:
    """`auto` = the base model's own dtype (a bf16 model stays bf16, whatever precision trained it)."""
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16}.get(setting) or base_dtype(base_path)


def _cast_state(state: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Cast to the save dtype keeping tied tensors tied (one cast per storage), so save_pretrained
    still recognises e.g. lm_head == embed_tokens and writes the shared weight once."""
    cast: dict[tuple[int, torch.dtype], torch.Tensor] = {}
    out = {}
    for key, value in state.items():
        ident = (value.data_ptr(), value.dtype)
        if ident not in cast:
            cast[ident] = value.detach().to("cpu", dtype)
        out[key] = cast[ident]
    return out


def _set_config_dtype(folder: Path, dtype: torch.dtype) -> None:
    """Record the saved weights' dtype in config.json (loaders use it as the default load dtype)."""
    path = folder / "config.json"
    data = json.loads(path.read_text())
    name = str(dtype).removeprefix("torch.")
    for key in ("dtype", "torch_dtype"):
        if key in data:
            data[key] = name
    path.write_text(json.dumps(data, indent=2))


def save_final_model(
    out: Path,
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    accelerator: Accelerator,
    *,
    base_path: str,
    lora: LoraSettings,
    save_dtype: str,
    config: BaseModel,
    config_name: str,
    summary: dict[str, Any],
    summary_name: str,
) -> Path:
    """`OUT/final`: a plain HF folder loadable by `r1ci.models.load_model`, in `save_dtype`, with the
    run's config (`config_name`) and summary + provenance (`summary_name`). LoRA is merged into a fresh
    copy of the base (works the same under DDP/FSDP and leaves the trained adapter untouched); the
    adapter itself is kept under `OUT/adapter` on request. Written to a temp folder, then renamed."""
    from transformers import AutoModelForCausalLM

    from r1ci.models import save_tokenizer

    final = out / FINAL_DIR
    dtype = save_dtype_of(save_dtype, base_path)
    state = accelerator.get_state_dict(model)  # gathers shards under FSDP; every process must call it
    inner = accelerator.unwrap_model(model)
    if accelerator.is_main_process:
        tmp = final.with_name(final.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        if lora.enabled:
            from peft import PeftModel

            adapter_dir = out / ADAPTER_DIR
            inner.save_pretrained(adapter_dir, state_dict=state)
            base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype)
            merged = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
            merged.config.use_cache = True
            merged.save_pretrained(tmp, safe_serialization=True)
            if lora.keep_adapter:
                save_tokenizer(tokenizer, adapter_dir)
            else:
                shutil.rmtree(adapter_dir)
        else:
            inner.config.use_cache = True  # the saved model is for generation
            inner.save_pretrained(tmp, state_dict=_cast_state(state, dtype), safe_serialization=True)
        _set_config_dtype(tmp, dtype)
        save_tokenizer(tokenizer, tmp)
        dump_config(config, tmp / config_name)
        (tmp / summary_name).write_text(json.dumps({**summary, **provenance()}, indent=2))
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    accelerator.wait_for_everyone()
    return final
