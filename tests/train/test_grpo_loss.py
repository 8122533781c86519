"""GRPO loss math against hand-computed numbers."""

from __future__ import annotations

import math

import pytest
import torch

from r1ci.train.grpo_loss import (
    aggregate,
    clipped_surrogate,
    group_advantages,
    grpo_loss,
    kl_k3,
    token_entropy,
    token_logprobs,
    zero_variance_groups,
)


def test_group_advantages_std_normalised() -> None:
    # group 1: [1, 0, 0, 1] mean .5, population std .5 -> ±1; group 2: [1, 1, 1, 0] mean .75, std sqrt(3)/4
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    a = group_advantages(r, 4, "group")
    std2 = math.sqrt(3) / 4
    expected = [1, -1, -1, 1, 0.25 / std2, 0.25 / std2, 0.25 / std2, -0.75 / std2]
    assert a.tolist() == pytest.approx(expected, abs=1e-3)


def test_group_advantages_no_std_is_dr_grpo() -> None:
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    a = group_advantages(r, 4, "none")
    assert a.tolist() == pytest.approx([0.5, -0.5, -0.5, 0.5, 0.25, 0.25, 0.25, -0.75])


def test_group_advantages_batch_std() -> None:
    r = torch.tensor([2.0, 0.0, 1.0, 1.0])  # groups of 2: centred [1, -1, 0, 0]; batch std = sqrt(.5)
    a = group_advantages(r, 2, "batch")
    assert a.tolist() == pytest.approx([1 / math.sqrt(0.5), -1 / math.sqrt(0.5), 0, 0], abs=1e-3)
    # under DDP the std of the global batch is passed in (this process holds only part of it)
    shard = group_advantages(r[:2], 2, "batch", batch_std=math.sqrt(0.5))
    assert shard.tolist() == pytest.approx(a[:2].tolist(), abs=1e-6)
    assert group_advantages(r[:2], 2, "batch").tolist() != pytest.approx(a[:2].tolist(), abs=1e-3)


def test_zero_variance_group_gets_zero_advantage_and_is_flagged() -> None:
    r = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.5, 1.0, 0.0])
    for scale in ("group", "batch", "none"):
        a = group_advantages(r, 3, scale)
        assert a[:6].tolist() == [0.0] * 6
        assert a[6:].abs().sum() > 0
    assert zero_variance_groups(r, 3).tolist() == [True, True, False]


def test_group_size_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="groups of 4"):
        group_advantages(torch.ones(6), 4)
    with pytest.raises(ValueError, match="unknown reward scale"):
        group_advantages(torch.ones(4), 2, "zscore")  # type: ignore[arg-type]


def test_clip_higher_clips_exactly_the_expected_tokens() -> None:
    ratios = torch.tensor([[0.7, 0.9, 1.1, 1.3], [0.7, 0.9, 1.1, 1.3]])
    logp = torch.log(ratios).requires_grad_(True)
    old = torch.zeros_like(ratios)
    adv = torch.tensor([1.0, -1.0])
    loss, high, low = clipped_surrogate(logp, old, adv, eps_low=0.2, eps_high=0.28)
    # A=+1: -min(r, clip(r)) -> clip only above 1.28; A=-1: -min(-r, -clip(r)) -> clip only below 0.8
    assert loss[0].tolist() == pytest.approx([-0.7, -0.9, -1.1, -1.28])
    assert loss[1].tolist() == pytest.approx([0.8, 0.9, 1.1, 1.3])
    assert high.tolist() == [[False, False, False, True], [False] * 4]
    assert low.tolist() == [[False] * 4, [True, False, False, False]]
    loss.sum().backward()
    # d/dlogp of -r*A = -r*A on unclipped tokens; exactly 0 where the clip is active
    assert logp.grad is not None
    assert logp.grad[0].tolist() == pytest.approx([-0.7, -0.9, -1.1, 0.0])
    assert logp.grad[1].tolist() == pytest.approx([0.0, 0.9, 1.1, 1.3])


def test_symmetric_clip_would_clip_the_1_25_token() -> None:
    logp = torch.log(torch.tensor([[1.25]]))
    _, high_sym, _ = clipped_surrogate(logp, torch.zeros(1, 1), torch.tensor([1.0]), 0.2, 0.2)
    _, high_dapo, _ = clipped_surrogate(logp, torch.zeros(1, 1), torch.tensor([1.0]), 0.2, 0.28)
    assert high_sym.item() and not high_dapo.item()


def test_kl_k3_values() -> None:
    logp = torch.tensor([0.0, math.log(0.5), -1.0])
    ref = torch.tensor([0.0, 0.0, -3.0])
    # d = ref - logp: [0, ln2, -2] -> e^d - d - 1 = [0, 2 - ln2 - 1, e^-2 + 2 - 1]
    expected = [0.0, 1 - math.log(2), math.exp(-2) + 1]
    assert kl_k3(logp, ref).tolist() == pytest.approx(expected, abs=1e-6)


def test_aggregation_modes() -> None:
    per_token = torch.tensor([[1.0, 2.0, 3.0, 100.0], [4.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]])
    assert aggregate(per_token, mask, "token").item() == pytest.approx(10 / 4)
    assert aggregate(per_token, mask, "sequence").item() == pytest.approx((2 + 4) / 2)
    assert aggregate(per_token, mask, "constant", max_tokens=5).item() == pytest.approx(10 / (2 * 5))


def test_microbatch_totals_add_up_to_full_batch() -> None:
    per_token = torch.randn(4, 6)
    mask = (torch.rand(4, 6) > 0.3).int()
    mask[:, 0] = 1
    for mode in ("token", "sequence", "constant"):
        full = aggregate(per_token, mask, mode, max_tokens=6)
        parts = sum(
            aggregate(per_token[i : i + 2], mask[i : i + 2], mode, total_tokens=float(mask.sum()),
                      total_sequences=4, max_tokens=6)
            for i in (0, 2)
        )
        assert float(parts) == pytest.approx(float(full), abs=1e-6)


def test_interpreter_tokens_get_exactly_zero_gradient() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 11, requires_grad=True)
    targets = torch.randint(0, 11, (2, 5))
    # positions 1, 2 of row 0 and 3 of row 1 are interpreter output; row 1's last is padding
    mask = torch.tensor([[1, 0, 0, 1, 1], [1, 1, 1, 0, 0]])
    logp = token_logprobs(logits, targets)
    # a garbage old/ref log-prob on masked positions must not leak (exp(200) overflows to inf)
    old = torch.where(mask.bool(), logp.detach() + 0.1, torch.full_like(logp, -200.0))
    ref = torch.where(mask.bool(), logp.detach() - 0.3, torch.full_like(logp, 200.0))
    parts = grpo_loss(logp, old, torch.tensor([1.5, -0.5]), mask, eps_low=0.2, eps_high=0.28,
                      beta=0.04, ref_logp=ref)
    assert torch.isfinite(parts.loss)
    parts.loss.backward()
    assert logits.grad is not None
    g = logits.grad.abs().sum(-1)
    assert g[0, 1].item() == 0.0 and g[0, 2].item() == 0.0
    assert g[1, 3].item() == 0.0 and g[1, 4].item() == 0.0
    assert (g[mask.bool()] > 0).all()
    assert parts.tokens == 6


def test_grpo_loss_value_and_stats_by_hand() -> None:
    # one sequence, 2 model tokens + 1 interpreter token; ratios e^0=1 and e^0.5=1.6487 (> 1.28 -> clipped)
    logp = torch.tensor([[-1.0, -0.5, -9.0]])
    old = torch.tensor([[-1.0, -1.0, 0.0]])
    ref = torch.tensor([[-1.0, -1.0, 0.0]])
    mask = torch.tensor([[1, 1, 0]])
    parts = grpo_loss(logp, old, torch.tensor([2.0]), mask, eps_low=0.2, eps_high=0.28,
                      beta=0.1, ref_logp=ref)
    kl2 = math.exp(-0.5) + 0.5 - 1
    expected = (-(1.0 * 2) + -(1.28 * 2) + 0.1 * kl2) / 2
    assert parts.loss.item() == pytest.approx(expected, abs=1e-5)
    assert parts.clip_high == 1 and parts.clip_low == 0
    assert parts.kl_sum == pytest.approx(kl2, abs=1e-6)
    assert parts.ratio_sum == pytest.approx(1 + math.exp(0.5), abs=1e-5)


def test_beta_without_reference_is_an_error() -> None:
    z = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="ref_logp"):
        grpo_loss(z, z, torch.ones(1), torch.ones(1, 2), eps_low=0.2, eps_high=0.2, beta=0.1)


def test_token_logprobs_and_entropy_match_softmax() -> None:
    logits = torch.tensor([[[0.0, math.log(3.0)]]])  # p = [.25, .75]
    assert token_logprobs(logits, torch.tensor([[1]])).item() == pytest.approx(math.log(0.75))
    # temperature 2 halves the logits: p ∝ [1, sqrt(3)]
    p1 = math.sqrt(3) / (1 + math.sqrt(3))
    assert token_logprobs(logits, torch.tensor([[1]]), temperature=2.0).item() == pytest.approx(math.log(p1))
    h = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert token_entropy(logits).item() == pytest.approx(h, abs=1e-6)
