"""The GRPO objective as pure tensor functions: advantages, token log-probs, clipped loss, KL, aggregation.

Nothing here knows about models, rollouts or configs, so every formula is unit-tested on hand-computed
numbers (tests/train/test_grpo_loss.py). Shapes: `B` sequences (G consecutive samples per question),
`T` completion positions; `mask[b, t] = 1` exactly on model-generated tokens, 0 on interpreter output
and padding. Masked positions contribute *exactly* zero to the loss and to its gradient: every term is
computed through `torch.where(mask, x, 0)`, never `x * mask`, because an interpreter token can carry a
log-prob of -80 whose `exp` overflows and `inf * 0` is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

RewardScale = Literal["group", "batch", "none"]
LossAggregation = Literal["token", "sequence", "constant"]

ADV_EPS = 1e-4
"""Added to the std before dividing; small enough that a 0/1 group gets advantages within 1e-3 of ±1."""


def _groups(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be 1-D (one per sequence), got shape {tuple(rewards.shape)}")
    if group_size < 1 or rewards.numel() % group_size:
        raise ValueError(
            f"{rewards.numel()} rewards do not split into groups of {group_size}; "
            "rollouts must hold group_size consecutive samples per question"
        )
    return rewards.view(-1, group_size)


def zero_variance_groups(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """Bool per group: True when every sample in the group got the same reward (no GRPO signal)."""
    g = _groups(rewards, group_size)
    return (g.max(dim=1).values - g.min(dim=1).values).abs() < 1e-8


def group_advantages(
    rewards: torch.Tensor, group_size: int, scale: RewardScale = "group", eps: float = ADV_EPS,
    batch_std: float | None = None,
) -> torch.Tensor:
    """Advantage of each sample: its reward minus its group's mean, divided by a std (or not).

    - "group": divide by the group's std (textbook GRPO). The std is the *population* std (ddof=0), so
      a 0/1 group with pass rate p has std sqrt(p(1-p)) — the same quantity the curriculum ranks by.
    - "batch": divide by the std of all rewards in the batch (Lite PPO); keeps the group-mean baseline
      but does not up-weight nearly-solved or nearly-hopeless questions. Under DDP pass `batch_std`,
      the std of the global batch's rewards (every process's), so the scale does not depend on how
      the batch was split over processes.
    - "none": no division (Dr. GRPO): the std term biases updates toward questions that are almost
      always right or wrong.
    A zero-variance group gets advantage exactly 0 under every option.
    """
    g = _groups(rewards.float(), group_size)
    centred = g - g.mean(dim=1, keepdim=True)
    if scale == "group":
        centred = centred / (g.std(dim=1, unbiased=False, keepdim=True) + eps)
    elif scale == "batch":
        std = rewards.float().std(unbiased=False) if batch_std is None else batch_std
        centred = centred / (std + eps)
    elif scale != "none":
        raise ValueError(f"unknown reward scale {scale!r}; use 'group', 'batch' or 'none'")
    return centred.reshape(-1)


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log p(target) per position from logits [B, T, V] and targets [B, T].

    `gather - logsumexp` instead of `log_softmax().gather()` avoids materialising a second [B, T, V]
    tensor. Logits are divided by the sampling temperature so the ratio compares the same distribution
    the sampler drew from.
    """
    if temperature != 1.0:
        logits = logits / temperature
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return picked.float() - torch.logsumexp(logits.float(), dim=-1)


@torch.no_grad()
def token_entropy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Entropy of the next-token distribution per position [B, T] (a metric; never differentiated)."""
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    return -(logp.exp() * logp).sum(-1)


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token KL(policy || reference), Schulman's k3 estimator: exp(d) - d - 1 with d = ref - logp.

    Unbiased for samples drawn from the policy, always >= 0, and lower-variance than -d (k1).
    """
    d = ref_logp - logp
    return torch.exp(d) - d - 1.0


def clipped_surrogate(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    eps_low: float,
    eps_high: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-token PPO-clip loss -min(r A, clip(r, 1-eps_low, 1+eps_high) A), r = exp(logp - old_logp).

    Separate bounds are DAPO's clip-higher: a larger `eps_high` lets low-probability tokens with a
    positive advantage grow further before the clip stops them, which keeps exploration (entropy) alive.
    Returns (loss [B, T], clipped_high, clipped_low): a token is "clipped" when the clipped term is the
    one `min` picks strictly, i.e. its gradient is zero — A > 0 and r > 1+eps_high, or A < 0 and r < 1-eps_low.
    """
    adv = advantages.unsqueeze(-1) if advantages.dim() == 1 else advantages
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high) * adv
    loss = -torch.minimum(unclipped, clipped)
    high = (adv > 0) & (ratio > 1.0 + eps_high)
    low = (adv < 0) & (ratio < 1.0 - eps_low)
    return loss, high, low


def aggregate(
    per_token: torch.Tensor,
    mask: torch.Tensor,
    mode: LossAggregation,
    *,
    total_tokens: float | None = None,
    total_sequences: float | None = None,
    max_tokens: int | None = None,
) -> torch.Tensor:
    """Reduce a [B, T] per-token loss to a scalar, over masked tokens only.

    The totals let one logical batch be split into micro-batches: pass the whole batch's counts and the
    micro-batch losses sum to exactly the full-batch loss (default: this tensor's own counts).
    - "token" (DAPO): sum over all model tokens / number of model tokens in the batch. Every token
      weighs the same, so long answers are not diluted.
    - "sequence" (original GRPO): mean over each sequence's tokens, then mean over sequences.
    - "constant" (Dr. GRPO): sum / (number of sequences * max_tokens); no length normalisation at all.
    """
    m = mask.bool()
    vals = torch.where(m, per_token, torch.zeros_like(per_token))
    if mode == "token":
        denom = total_tokens if total_tokens is not None else m.sum().item()
        return vals.sum() / max(float(denom), 1.0)
    n_seq = total_sequences if total_sequences is not None else per_token.shape[0]
    if mode == "sequence":
        lengths = m.sum(-1).clamp(min=1)
        return (vals.sum(-1) / lengths).sum() / max(float(n_seq), 1.0)
    if mode == "constant":
        if not max_tokens:
            raise ValueError("loss aggregation 'constant' needs max_tokens (the completion length budget)")
        return vals.sum() / (max(float(n_seq), 1.0) * max_tokens)
    raise ValueError(f"unknown loss aggregation {mode!r}; use 'token', 'sequence' or 'constant'")


@dataclass
class LossParts:
    """The scalar loss plus detached per-batch sums for metrics (sums, so micro-batches add up)."""

    loss: torch.Tensor
    tokens: float
    kl_sum: float
    clip_high: float
    clip_low: float
    ratio_sum: float


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    eps_low: float,
    eps_high: float,
    aggregation: LossAggregation = "token",
    beta: float = 0.0,
    ref_logp: torch.Tensor | None = None,
    total_tokens: float | None = None,
    total_sequences: float | None = None,
    max_tokens: int | None = None,
) -> LossParts:
    """Clipped policy loss + beta * k3 KL, both over model tokens only, aggregated by `aggregation`."""
    if logp.shape != mask.shape or old_logp.shape != mask.shape:
        raise ValueError(f"logp {tuple(logp.shape)}, old_logp {tuple(old_logp.shape)} and mask "
                         f"{tuple(mask.shape)} must have the same [B, T] shape")
    m = mask.bool()
    zero = torch.zeros_like(logp)
    # Mask *before* exp: an interpreter token's (logp - old_logp) is never exponentiated.
    logp_m = torch.where(m, logp, zero)
    old_m = torch.where(m, old_logp.to(logp.dtype), zero)
    pg, high, low = clipped_surrogate(logp_m, old_m, advantages.to(logp.dtype), eps_low, eps_high)
    per_token = pg
    kl_sum = 0.0
    if beta > 0.0 and ref_logp is None:
        raise ValueError("beta > 0 needs ref_logp (log-probs of the frozen reference model)")
    if ref_logp is not None:  # with beta == 0 the KL is still worth logging when a reference exists
        kl = torch.where(m, kl_k3(logp_m, torch.where(m, ref_logp.to(logp.dtype), zero)), zero)
        if beta > 0.0:
            per_token = per_token + beta * kl
        kl_sum = float(kl.detach().sum())
    loss = aggregate(per_token, m, aggregation, total_tokens=total_tokens,
                     total_sequences=total_sequences, max_tokens=max_tokens)
    with torch.no_grad():
        ratio = torch.where(m, torch.exp(logp_m - old_m), zero)
    return LossParts(
        loss=loss,
        tokens=float(m.sum()),
        kl_sum=kl_sum,
        clip_high=float((high & m).sum()),
        clip_low=float((low & m).sum()),
        ratio_sum=float(ratio.sum()),
    )

