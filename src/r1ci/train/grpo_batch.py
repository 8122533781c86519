"""Rollouts -> padded tensors -> per-token log-probs under a model (the GRPO loop's data plumbing).

Layout of one micro-batch: prompts left-padded to a common length P, completions right-padded to a
common length C, so every completion starts at column P. One forward pass with `logits_to_keep=C+1`
then yields exactly the logits that predict completion tokens ([B, C, V] instead of [B, P+C, V]:
prompts are usually longer than completions and their logits would be thrown away). Position ids
are counted from the first real token, as the sampler counted them, so left padding does not shift
the positions the model sees.

Token ids are the ids the sampler generated or appended (`trajectory_features`, the one
tokenisation path); the loss mask is the trajectory's own mask (1 on model tokens only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from r1ci.rollout.tokenize import trajectory_features
from r1ci.tasks.answers import has_answer
from r1ci.train.grpo_loss import token_entropy, token_logprobs

if TYPE_CHECKING:
    from r1ci.rollout.trajectory import Trajectory


@dataclass
class MicroBatch:
    input_ids: torch.Tensor
    """[B, P + C]"""
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    completion_ids: torch.Tensor
    """[B, C] targets."""
    mask: torch.Tensor
    """[B, C] 1 on model-generated tokens (0 on interpreter output, padding, and truncated rollouts when masked)."""
    advantages: torch.Tensor
    """[B]"""
    sampler_logprobs: torch.Tensor | None
    """[B, C] the sampler's log-probs, when every trajectory carries them."""
    index: list[int]
    """Row -> position in the step's trajectory list."""

    @property
    def prompt_len(self) -> int:
        return self.input_ids.shape[1] - self.completion_ids.shape[1]

    def to(self, device: torch.device | str) -> MicroBatch:
        def mv(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return MicroBatch(
            self.input_ids.to(device), self.attention_mask.to(device), self.position_ids.to(device),
            self.completion_ids.to(device), self.mask.to(device), self.advantages.to(device),
            mv(self.sampler_logprobs), self.index,
        )


def trajectory_reward(traj: Trajectory, format_weight: float) -> float:
    """Verifier reward plus `format_weight` when the model's own text ends with a `<<<answer>>>`."""
    reward = float(traj.reward or 0.0)
    if format_weight:
        reward += format_weight * float(has_answer(traj.model_text))
    return reward


def _split(traj: Trajectory) -> tuple[list[int], list[int], list[int]]:
    if not traj.prompt_ids:
        raise ValueError(
            f"trajectory {traj.question_id} carries no token ids; GRPO needs the sampler's ids "
            "(use the hf or vllm backend, not an API backend)"
        )
    ids, mask = trajectory_features(traj)
    p = len(traj.prompt_ids)
    return ids[:p], ids[p:], mask[p:]


def build_micro_batches(
    trajs: Sequence[Trajectory],
    advantages: torch.Tensor,
    *,
    pad_id: int,
    micro_batch_size: int,
    mask_truncated: bool = False,
) -> list[MicroBatch]:
    """Collate trajectories into micro-batches of similar total length (less padding)."""
    if len(trajs) != advantages.numel():
        raise ValueError(f"{len(trajs)} trajectories but {advantages.numel()} advantages")
    parts = [_split(t) for t in trajs]
    order = sorted(range(len(trajs)), key=lambda i: len(parts[i][0]) + len(parts[i][1]))
    batches = []
    for start in range(0, len(order), micro_batch_size):
        idx = order[start : start + micro_batch_size]
        p_len = max(len(parts[i][0]) for i in idx)
        c_len = max(1, max(len(parts[i][1]) for i in idx))
        b = len(idx)
        input_ids = torch.full((b, p_len + c_len), pad_id, dtype=torch.long)
        attn = torch.zeros((b, p_len + c_len), dtype=torch.long)
        comp = torch.full((b, c_len), pad_id, dtype=torch.long)
        mask = torch.zeros((b, c_len), dtype=torch.long)
        have_lp = all(trajs[i].logprobs is not None for i in idx)
        lps = torch.zeros((b, c_len), dtype=torch.float32) if have_lp else None
        for row, i in enumerate(idx):
            prompt, completion, cmask = parts[i]
            input_ids[row, p_len - len(prompt) : p_len] = torch.tensor(prompt)
            attn[row, p_len - len(prompt) : p_len + len(completion)] = 1
            if completion:
                input_ids[row, p_len : p_len + len(completion)] = torch.tensor(completion)
                comp[row, : len(completion)] = torch.tensor(completion)
                if not (mask_truncated and trajs[i].stop_reason == "length"):
                    mask[row, : len(completion)] = torch.tensor(cmask)
                if lps is not None:
                    lps[row, : len(completion)] = torch.tensor(trajs[i].logprobs, dtype=torch.float32)
        position_ids = (attn.cumsum(-1) - 1).clamp(min=0)
        batches.append(MicroBatch(input_ids, attn, position_ids, comp, mask, advantages[idx].float(), lps, idx))
    return batches


def completion_logits(model: torch.nn.Module, mb: MicroBatch) -> torch.Tensor:
    """[B, C, V] logits predicting each completion token."""
    c = mb.completion_ids.shape[1]
    kwargs = {"input_ids": mb.input_ids, "attention_mask": mb.attention_mask,
              "position_ids": mb.position_ids, "use_cache": False}
    try:
        logits = model(**kwargs, logits_to_keep=c + 1).logits
    except TypeError:  # architectures without logits_to_keep: full logits, then slice
        logits = model(**kwargs).logits
    return logits[:, -(c + 1) : -1, :]


def sequence_logprobs(
    model: torch.nn.Module, mb: MicroBatch, temperature: float, *, entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token log-probs [B, C] of the completion under `model` (and the entropy, as a metric)."""
    logits = completion_logits(model, mb)
    temp = temperature if temperature > 0 else 1.0
    logp = token_logprobs(logits, mb.completion_ids, temp)
    ent = token_entropy(logits.detach(), temp) if entropy else None
    return logp, ent
