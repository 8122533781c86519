"""Stage 1: masked multi-turn SFT on synthesised code-interpreter trajectories.

Read top to bottom: config -> data -> model -> loop -> save. Departures from a textbook SFT loop,
and why:
- The loss covers model-written tokens only. The mask comes from `trajectory_features` (the one
  tokenisation path shared with the rollout engine and GRPO): prompt and interpreter output are
  context, not targets — training on interpreter output would teach the model to hallucinate results.
- The loss is normalised by the number of model tokens in the whole optimizer step (all micro-
  batches, all processes), so every model token weighs the same whatever the micro-batch split.
- The batch order is a pure function of the seed (`r1ci.train.data.plan_steps`), so `--resume`
  continues with the same data order and a resumed run matches an uninterrupted one.
- The same script runs on one CPU and on 8 GPUs: `accelerate.Accelerator` handles devices, DDP/FSDP
  and bf16 autocast; nothing here branches on the launcher.

    accelerate launch --config_file configs/accelerate/ddp_8gpu.yaml -m r1ci.cli sft train --config configs/sft/qwen2.5-7b.yaml
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator
from rich.console import Console

from r1ci.config import StrictModel, dump_config
from r1ci.train.checkpoint import CHECKPOINTS
from r1ci.train.data import (
    Example,
    Step,
    collate,
    data_fingerprint,
    encode_examples,
    eval_batches,
    load_trajectories,
    plan_fingerprint,
    plan_steps,
    sft_data_files,
    split_eval,
    step_loss_tokens,
)
from r1ci.train.metric_sinks import LoggingConfig, MetricsLogger, training_progress
from r1ci.train.scaffold import (
    FINAL_DIR,
    Checkpoints,
    LoraSettings,
    Precision,
    SaveDtype,
    load_trainable,
    make_accelerator,
    make_optimizer,
    make_scheduler,
    pad_token_id,
    resolve_precision,
    save_final_model,
)

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

class TrainSettings(StrictModel):
    lr: float = Field(1e-5, gt=0)
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_ratio: float = 0.03
    """Linear warmup over this fraction of the steps, then cosine decay."""
    min_lr_ratio: float = 0.0
    """Cosine decays to lr * min_lr_ratio."""
    epochs: float = 3.0
    max_steps: int | None = None
    """If set, overrides epochs (data cycles as needed)."""
    micro_batch_size: int = 1
    """Rows per forward pass per process (a row holds several trajectories when packing)."""
    grad_accum: int = 1
    """Micro-batches per optimizer step per process; global batch = micro_batch_size * grad_accum * processes."""
    max_length: int = 4096
    """Token cap per trajectory (prompt + completion); also the packed row width."""
    overflow: Literal["drop", "truncate"] = "drop"
    packing: bool = False
    group_by_length: bool = True
    gradient_checkpointing: bool = False
    precision: Precision = "auto"
    """auto: bf16 on GPU, fp32 on CPU. bf16 = fp32 weights + bf16 autocast (mixed precision);
    bf16-pure = weights in bf16 too (half the memory, less exact updates)."""
    attn_implementation: str | None = None
    """e.g. "flash_attention_2" or "sdpa"; None = transformers' default."""
    max_grad_norm: float | None = 1.0
    eval_fraction: float = 0.05
    """Share of questions held out for eval loss (whole questions, never split across train/eval)."""
    eval_max_examples: int | None = 256
    eval_every: int | None = None
    """Eval every N optimizer steps (None = at the end only)."""
    eval_micro_batch_size: int = 4
    save_every: int | None = 200
    """Checkpoint every N optimizer steps (None = no intermediate checkpoints, so no --resume)."""
    keep_checkpoints: int | None = 2
    """Keep only the newest N checkpoints (None = keep all)."""
    save_dtype: SaveDtype = "auto"
    """dtype of the final model: auto = the base model's own dtype (a bf16 model is saved in bf16)."""


class SFTConfig(StrictModel):
    model: str = "default"
    """Base model: hub id, local HF folder, .gguf, or `default` (embedded SmolLM2-135M-Instruct)."""
    data: list[str] = Field(default_factory=list)
    """sft.jsonl files or `r1ci sft synth` output folders."""
    out: str = "runs/sft"
    seed: int = 0
    resume: bool = False
    """Continue from the newest checkpoint in `out` (same data, same settings)."""
    train: TrainSettings = Field(default_factory=TrainSettings)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @field_validator("data", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, (str, Path)) else v


# ----------------------------------------------------------------------------------------------
# loss


def masked_lm_loss(logits: torch.Tensor, labels: torch.Tensor, normalizer: float) -> torch.Tensor:
    """Summed next-token cross-entropy over positions whose label is not -100, divided by `normalizer`.

    logits[:, t] predicts labels[:, t + 1]; positions predicting prompt or interpreter tokens
    contribute nothing and get exactly zero gradient.
    """
    import torch.nn.functional as F

    shift_logits = logits[:, :-1, :].float()
    shift_labels = labels[:, 1:].to(shift_logits.device)
    total = F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1), ignore_index=-100, reduction="sum"
    )
    return total / normalizer


# ----------------------------------------------------------------------------------------------
# setup


def load_base_model(cfg: SFTConfig, precision: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, str]:
    model, tokenizer, path = load_trainable(
        cfg.model, precision, cfg.lora, attn_implementation=cfg.train.attn_implementation,
        gradient_checkpointing=cfg.train.gradient_checkpointing)
    model.config.use_cache = False  # the KV cache is for generation; in training it only costs memory
    return model, tokenizer, path


# ----------------------------------------------------------------------------------------------
# the loop


def supports_logits_to_keep(model: torch.nn.Module) -> bool:
    """Whether the (unwrapped, peft-unwrapped) causal LM takes `logits_to_keep` (most decoder LMs in
    transformers >= 4.50 do: Llama, Qwen2, Mistral, Gemma, ...)."""
    import inspect

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(inner.forward).parameters


def batch_loss(
    model: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    device: torch.device,
    normalizer: float,
    *,
    only_loss_positions: bool = False,
) -> torch.Tensor:
    """Masked loss of one collated micro-batch.

    `only_loss_positions` computes the LM head only where some row has a target (`logits_to_keep`
    with the positions' indices): prompt and interpreter positions need no logits, and with large
    vocabularies the logits are the biggest activation of the step. The value equals the full
    computation (tested). `use_cache=False` is not an optimisation: with a KV cache transformers skips
    packed-row detection and packed trajectories would attend to each other.
    """
    import torch.nn.functional as F

    inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
    if not only_loss_positions:
        logits = model(**inputs, use_cache=False).logits
        return masked_lm_loss(logits, batch["labels"], normalizer)
    targets = batch["labels"][:, 1:]
    keep = (targets != -100).any(dim=0).nonzero().squeeze(1)  # logits[t] predicts token t + 1
    logits = model(**inputs, use_cache=False, logits_to_keep=keep.to(device)).logits
    picked = targets[:, keep].to(device)
    total = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), picked.reshape(-1),
                            ignore_index=-100, reduction="sum")
    return total / normalizer


def _train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    accelerator: Accelerator,
    plan: Step,
    examples: Sequence[Example],
    t: TrainSettings,
    pad_id: int,
    sparse_logits: bool = False,
) -> dict[str, Any]:
    """One optimizer step over this process's share of `plan`; returns its metrics."""
    import torch

    tick = time.perf_counter()
    world = accelerator.num_processes
    normalizer = step_loss_tokens(plan, examples)  # model tokens in the whole step, all processes
    mine = plan[accelerator.process_index * t.grad_accum : (accelerator.process_index + 1) * t.grad_accum]
    loss_sum = torch.zeros((), device=accelerator.device, dtype=torch.float64)
    n_tokens = 0
    for j, mb in enumerate(mine):
        batch = collate(mb, examples, pad_id=pad_id, packing=t.packing)
        n_tokens += int(batch["input_ids"].numel())
        # DDP averages gradients over processes; dividing by normalizer/world turns that average back
        # into (sum of token losses over the step) / (model tokens in the step)
        sync = contextlib.nullcontext() if j == len(mine) - 1 else accelerator.no_sync(model)
        with sync:
            loss = batch_loss(model, batch, accelerator.device, normalizer / world, only_loss_positions=sparse_logits)
            accelerator.backward(loss)
        loss_sum += loss.detach().double() / world
    grad_norm = None
    if t.max_grad_norm is not None:
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), t.max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    metrics: dict[str, Any] = {
        "loss": float(accelerator.reduce(loss_sum, reduction="sum")),
        "lr": scheduler.get_last_lr()[0],
        "loss_tokens": normalizer,
        "tokens_per_s": n_tokens * world / (time.perf_counter() - tick),
    }
    if grad_norm is not None:
        metrics["grad_norm"] = float(grad_norm)
    return metrics


def evaluate_loss(
    model: torch.nn.Module,
    examples: Sequence[Example],
    accelerator: Accelerator,
    *,
    pad_id: int,
    micro_batch_size: int,
    sparse_logits: bool = False,
) -> float | None:
    """Mean per-token loss on the held-out slice (batches split across processes, sums reduced)."""
    import torch

    if not examples:
        return None
    batches = eval_batches(examples, micro_batch_size)
    # every process must run the same number of forward passes (DDP/FSDP forwards are collective):
    # pad with repeats of the first batch that are run but not counted
    world = accelerator.num_processes
    padded = batches + [batches[0]] * (-len(batches) % world)
    total = torch.zeros(2, device=accelerator.device, dtype=torch.float64)
    model.eval()
    with torch.no_grad():
        for i in range(accelerator.process_index, len(padded), world):
            batch = collate(padded[i], examples, pad_id=pad_id, packing=False)
            loss = batch_loss(model, batch, accelerator.device, 1.0, only_loss_positions=sparse_logits).double()
            if i < len(batches):
                total[0] += loss
                total[1] += int((batch["labels"][:, 1:] != -100).sum())
    model.train()
    total = accelerator.reduce(total, reduction="sum")
    return float(total[0] / total[1]) if total[1] > 0 else None


def train_sft(cfg: SFTConfig) -> Path:
    """Train, checkpoint, evaluate and save; returns the final HF model folder (`OUT/final`)."""
    from accelerate.utils import set_seed

    t = cfg.train
    out = Path(cfg.out)
    files = sft_data_files(cfg.data)
    precision = resolve_precision(t.precision)
    accelerator = make_accelerator(precision)
    main = accelerator.is_main_process
    console = Console(quiet=not main)
    set_seed(cfg.seed)

    # --- data -------------------------------------------------------------------------------
    model, tokenizer, base_path = load_base_model(cfg, precision)
    trajs = load_trajectories(files)
    examples, enc = encode_examples(trajs, tokenizer, max_length=t.max_length, overflow=t.overflow)
    train_ex, eval_ex = split_eval(examples, fraction=t.eval_fraction, max_examples=t.eval_max_examples,
                                   seed=cfg.seed)
    steps: list[Step] = plan_steps(
        [len(e) for e in train_ex], seed=cfg.seed, micro_batch_size=t.micro_batch_size, grad_accum=t.grad_accum,
        world_size=accelerator.num_processes, epochs=t.epochs, max_steps=t.max_steps, packing=t.packing,
        group_by_length=t.group_by_length, max_length=t.max_length,
    )
    fingerprint = {"data": data_fingerprint(files), "plan": plan_fingerprint(steps),
                   "num_processes": accelerator.num_processes}
    pad_id = pad_token_id(tokenizer)

    # --- model, optimizer, schedule -------------------------------------------------------------
    optimizer = make_optimizer(model, lr=t.lr, betas=t.betas, weight_decay=t.weight_decay)
    sparse_logits = supports_logits_to_keep(model)
    total = len(steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    scheduler = make_scheduler(optimizer, warmup=round(t.warmup_ratio * total), total=total,
                               min_lr_ratio=t.min_lr_ratio)
    ckpts = Checkpoints(out, model=model, optimizer=optimizer, scheduler=scheduler, accelerator=accelerator,
                        keep_last=t.keep_checkpoints, console=console,
                        extra_state=lambda: {"fingerprint": fingerprint, "total_steps": total})
    ckpt, state = ckpts.resume(cfg.resume)
    if ckpt is not None:
        saved = state.get("fingerprint", {})
        if saved.get("data") != fingerprint["data"]:
            raise RuntimeError(
                f"{ckpt} was trained on different data (fingerprint {saved.get('data')} vs {fingerprint['data']}); "
                "resume with the same --data, or start a fresh run in another --out"
            )
        if saved.get("plan") != fingerprint["plan"] and main:
            console.print("[yellow]batch plan differs from the checkpoint's (settings or process count "
                          "changed); continuing from its step with the new order[/]")
    elif main and ((out / FINAL_DIR).exists() or (out / CHECKPOINTS).exists()):
        # stale checkpoints of an earlier run would be picked up by a later --resume
        console.print(f"[yellow]{out} holds an earlier run; replacing it (pass --resume to continue it instead)[/]")
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    start = ckpts.last_saved
    if main:
        out.mkdir(parents=True, exist_ok=True)
        dump_config(cfg, out / "sft_config.yaml")

    logger = MetricsLogger(out, cfg.logging, config=cfg.model_dump(mode="json"), enabled=main,
                           resume_step=start if ckpt is not None else None, console=console)
    if main:
        n_tokens = sum(len(e) for e in train_ex)
        console.print(
            f"[bold]SFT[/] {cfg.model} -> {out}  |  {len(train_ex)} train / {len(eval_ex)} eval trajectories "
            f"({n_tokens} tokens; dropped {enc.dropped_too_long} over {t.max_length} tokens)  |  {total} steps, "
            f"{accelerator.num_processes} process(es), {precision}, {'LoRA' if cfg.lora.enabled else 'full'}"
        )

    # --- loop ---------------------------------------------------------------------------------
    model.train()
    last_eval: float | None = None
    completed = start
    progress = training_progress(console, disable=not main)
    with logger, ckpts.saved_on_interrupt(lambda: completed), progress:
        bar = progress.add_task("sft", total=total, completed=start, status="")
        for index in range(start, total):
            metrics = _train_step(model, optimizer, scheduler, accelerator, steps[index], train_ex, t, pad_id,
                                  sparse_logits)
            completed = index + 1
            if completed % cfg.logging.log_every == 0 or completed == total:
                logger.log(metrics, completed)
            if t.eval_every and completed % t.eval_every == 0 and completed != total:
                last_eval = evaluate_loss(model, eval_ex, accelerator, pad_id=pad_id,
                                          micro_batch_size=t.eval_micro_batch_size, sparse_logits=sparse_logits)
                if last_eval is not None:
                    logger.log({"loss": last_eval}, completed, prefix="eval/")
            ckpts.maybe_save(completed, t.save_every, total)
            progress.update(bar, completed=completed, status=f"loss {metrics['loss']:.4f}")

        last_eval = evaluate_loss(model, eval_ex, accelerator, pad_id=pad_id,
                                  micro_batch_size=t.eval_micro_batch_size, sparse_logits=sparse_logits)
        if last_eval is not None:
            logger.log({"loss": last_eval}, total, prefix="eval/")
        summary = {
            "base_model": cfg.model, "steps": total, "train_trajectories": len(train_ex),
            "eval_trajectories": len(eval_ex), "eval_loss": last_eval, "fingerprint": fingerprint,
            "precision": precision, "lora": cfg.lora.enabled, "encode": enc.__dict__,
        }
        final = save_final_model(out, model, tokenizer, accelerator, base_path=base_path, lora=cfg.lora,
                                 save_dtype=t.save_dtype, config=cfg, config_name="sft_config.yaml",
                                 summary=summary, summary_name="r1ci_sft.json")
    if main:
        console.print(f"[green]saved[/] {final}")
    return final
