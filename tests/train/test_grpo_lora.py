"""LoRA: the KL reference is the adapter switched off, and the vLLM weight-sync path yields merged HF weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from r1ci.rollout.trajectory import Segment, Trajectory
from r1ci.train.grpo_config import GRPOConfig, GRPOSettings, OptimSettings
from r1ci.train.scaffold import LoraSettings


def _traj(completion: list[int], reward: float) -> Trajectory:
    return Trajectory("toy", "toy/0", "p", [], [1, 2, 3], "x", [Segment("model", "x", completion)],
                      completion, [1] * len(completion), None, 0, 0, "answer", reward=reward)


def _lora_model(tiny_model_dir: Path, cfg: GRPOConfig) -> torch.nn.Module:
    from r1ci.train.grpo import load_policy

    model, _, _ = load_policy(cfg, "fp32")
    return model


def test_kl_to_adapter_disabled_reference(tiny_model_dir: Path) -> None:
    from accelerate import Accelerator

    from r1ci.train.grpo import StepBatch, make_lr_scheduler, make_optimizer, update_policy

    cfg = GRPOConfig(model=str(tiny_model_dir), lora=LoraSettings(enabled=True, r=4, alpha=8),
                     grpo=GRPOSettings(group_size=2, beta=0.1, micro_batch_size=2), optim=OptimSettings(lr=1e-2))
    model = _lora_model(tiny_model_dir, cfg)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert 0 < trainable < sum(p.numel() for p in model.parameters()) / 10
    acc = Accelerator(cpu=True)
    opt = make_optimizer(model, cfg)
    model, opt = acc.prepare(model, opt)
    sched = make_lr_scheduler(opt, cfg)
    batch = StepBatch([[_traj([100, 101], 1.0), _traj([200, 201], 0.0)]], [], 0, 1, 1, 0.0, 0.0)
    first = update_policy(cfg, model, None, opt, sched, acc, batch, pad_id=0)
    # LoRA starts with B = 0: policy == reference, so the k3 KL is exactly 0 before any update
    assert first["kl"] == pytest.approx(0.0, abs=1e-7)
    second = update_policy(cfg, model, None, opt, sched, acc, batch, pad_id=0)
    assert second["kl"] > 1e-6


def test_policy_weights_are_merged_hf_names(tiny_model_dir: Path) -> None:
    from accelerate import Accelerator
    from transformers import AutoModelForCausalLM

    from r1ci.train.grpo_vllm import policy_weights, vllm_runner

    cfg = GRPOConfig(model=str(tiny_model_dir), lora=LoraSettings(enabled=True, r=4, alpha=8))
    model = _lora_model(tiny_model_dir, cfg)
    with torch.no_grad():  # a non-zero adapter, so merged != base
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.fill_(0.01)
    acc = Accelerator(cpu=True)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).state_dict()
    q = "model.layers.0.self_attn.q_proj.weight"
    lora_delta = (model.base_model.model.model.layers[0].self_attn.q_proj.lora_B["default"].weight
                  @ model.base_model.model.model.layers[0].self_attn.q_proj.lora_A["default"].weight) * (8 / 4)
    with policy_weights(model, acc) as it:
        weights = {name: t.clone() for name, t in it}
    assert set(weights) == set(base)
    assert torch.allclose(weights[q], base[q] + lora_delta, atol=1e-6)
    # the adapter is unmerged again afterwards: the policy's own weights are back to base + adapter
    assert not any(getattr(m, "merged", False) for m in model.modules())
    restored = model.base_model.model.model.layers[0].self_attn.q_proj.base_layer.weight
    assert torch.allclose(restored, base[q], atol=1e-6)  # merge + unmerge: equal up to rounding
    with pytest.raises(RuntimeError, match="weight sync"):
        vllm_runner(object())
