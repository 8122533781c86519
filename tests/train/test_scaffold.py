"""The scaffolding SFT and GRPO share: the final model's dtype, the schedule, the optimizer's decay rule."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from r1ci.tasks.base import Grade, Question
from r1ci.train.scaffold import LoraSettings, make_optimizer, make_scheduler


@pytest.fixture(scope="module")
def tiny_bf16_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model published in bf16, like most hub checkpoints (Qwen2.5, Llama 3)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path_factory.mktemp("tiny-bf16")
    AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(out)
    return out


def _saved_dtypes(folder: Path) -> set[torch.dtype]:
    from safetensors.torch import load_file

    return {t.dtype for t in load_file(folder / "model.safetensors").values()}


def test_grpo_lora_saves_a_bf16_model_in_bf16(tiny_bf16_dir: Path, tmp_path: Path) -> None:
    """The bug: GRPO merged LoRA into an fp32 copy of the base and saved that (a 7B model at twice its
    size). The final model now has the base model's own dtype, and says so in config.json."""
    from r1ci.rollout.protocol import RolloutConfig
    from r1ci.train.grpo import train_grpo
    from r1ci.train.grpo_config import GRPOConfig, GRPOSettings, OptimSettings, TrainSettings
    from r1ci.train.metric_sinks import LoggingConfig

    qs = [Question(id=f"toy/{i}", task="toy", prompt=f"Say {i}.", answer=str(i)) for i in range(2)]
    cfg = GRPOConfig(
        model=str(tiny_bf16_dir), out=str(tmp_path / "rl"), lora=LoraSettings(enabled=True, r=4, alpha=8),
        rollout=RolloutConfig(mode="text", temperature=1.0, max_new_tokens=6, max_tokens_per_turn=6),
        grpo=GRPOSettings(group_size=2, questions_per_step=2, micro_batch_size=4), optim=OptimSettings(lr=1e-2),
        train=TrainSettings(max_steps=1, save_every=None), logging=LoggingConfig(report_to="none"),
    )
    final = train_grpo(cfg, questions=qs, grader=lambda q, text: Grade(float(len(text) % 2), "parity"))
    assert _saved_dtypes(final) == {torch.bfloat16}
    assert json.loads((final / "config.json").read_text()).get("dtype", "bfloat16") == "bfloat16"
    assert not (tmp_path / "rl" / "adapter").exists()  # merged; adapter not kept unless asked
    record = json.loads((final / "r1ci_rl.json").read_text())
    assert record["steps"] == 1 and "torch" in record["versions"] and "time" in record


def test_save_dtype_auto_follows_the_base_model(tiny_model_dir: Path, tiny_bf16_dir: Path) -> None:
    from r1ci.train.scaffold import save_dtype_of

    assert save_dtype_of("auto", str(tiny_model_dir)) == torch.float32
    assert save_dtype_of("auto", str(tiny_bf16_dir)) == torch.bfloat16
    assert save_dtype_of("fp32", str(tiny_bf16_dir)) == torch.float32


def _old_cosine(step: int, warmup: int, total: int, floor: float) -> float:
    """The hand-written schedule both trainers had before (kept here to pin the difference down)."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


@pytest.mark.parametrize(("warmup", "total", "floor"), [(0, 10, 0.0), (3, 20, 0.1), (0, 5, 1.0), (2, 8, 1.0)])
def test_schedule_matches_the_old_curve_after_warmup(warmup: int, total: int, floor: float) -> None:
    """transformers' cosine-with-min-lr equals the old curve from the end of warmup on; during warmup it
    ramps from 0 (step s: s / warmup) where the old one used (s + 1) / (warmup + 1)."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    sched = make_scheduler(opt, warmup=warmup, total=total, min_lr_ratio=floor)
    for step in range(total):
        factor = opt.param_groups[0]["lr"] / 2.0
        expected = step / warmup if step < warmup else _old_cosine(step, warmup, total, floor)
        assert factor == pytest.approx(expected, abs=1e-9), step
        opt.step()
        sched.step()


def test_optimizer_does_not_decay_biases_and_norms() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    opt = make_optimizer(model, lr=1e-3, betas=(0.9, 0.999), weight_decay=0.1)
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {id(model[0].weight)}
