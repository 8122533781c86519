"""Rollouts -> tensors: padding layout, masks, and log-probs that match an unpadded forward pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from r1ci.rollout.trajectory import Segment, Trajectory
from r1ci.train.grpo_batch import build_micro_batches, sequence_logprobs, trajectory_reward


def _traj(prompt: list[int], completion: list[int], mask: list[int], *, reward: float = 0.0,
          text: str = "", stop: str = "answer", logprobs: list[float] | None = None) -> Trajectory:
    return Trajectory(
        task="toy", question_id="toy/0", prompt="p", messages=[], prompt_ids=prompt, completion=text,
        segments=[Segment("model", text, list(completion))], completion_ids=completion, mask=mask,
        logprobs=logprobs, num_code_turns=0, exec_errors=0, stop_reason=stop, reward=reward,  # type: ignore[arg-type]
    )


def test_layout_left_pads_prompts_right_pads_completions() -> None:
    a = _traj([1, 2, 3], [10, 11, 12, 13], [1, 0, 0, 1], logprobs=[-0.1, 0.0, 0.0, -0.4])
    b = _traj([4, 5], [20], [1], logprobs=[-0.2])
    (mb,) = build_micro_batches([a, b], torch.tensor([1.0, -1.0]), pad_id=0, micro_batch_size=4)
    # sorted by length: b (3 tokens) first, then a (7)
    assert mb.index == [1, 0]
    assert mb.input_ids.tolist() == [[0, 4, 5, 20, 0, 0, 0], [1, 2, 3, 10, 11, 12, 13]]
    assert mb.attention_mask.tolist() == [[0, 1, 1, 1, 0, 0, 0], [1] * 7]
    assert mb.position_ids.tolist() == [[0, 0, 1, 2, 2, 2, 2], [0, 1, 2, 3, 4, 5, 6]]
    assert mb.completion_ids.tolist() == [[20, 0, 0, 0], [10, 11, 12, 13]]
    assert mb.mask.tolist() == [[1, 0, 0, 0], [1, 0, 0, 1]]
    assert mb.advantages.tolist() == [-1.0, 1.0]
    assert mb.sampler_logprobs is not None
    assert mb.sampler_logprobs.flatten().tolist() == pytest.approx([-0.2, 0, 0, 0, -0.1, 0, 0, -0.4])
    assert mb.prompt_len == 3


def test_truncated_rollouts_masked_only_when_asked() -> None:
    cut = _traj([1], [5, 6], [1, 1], stop="length")
    (kept,) = build_micro_batches([cut], torch.tensor([0.5]), pad_id=0, micro_batch_size=2)
    (masked,) = build_micro_batches([cut], torch.tensor([0.5]), pad_id=0, micro_batch_size=2, mask_truncated=True)
    assert kept.mask.sum() == 2 and masked.mask.sum() == 0


def test_micro_batching_and_missing_ids() -> None:
    trajs = [_traj([1] * (i + 1), [2] * (i + 1), [1] * (i + 1)) for i in range(5)]
    mbs = build_micro_batches(trajs, torch.zeros(5), pad_id=0, micro_batch_size=2)
    assert [len(mb.index) for mb in mbs] == [2, 2, 1]
    assert sorted(i for mb in mbs for i in mb.index) == list(range(5))
    assert mbs[0].sampler_logprobs is None
    with pytest.raises(ValueError, match="no token ids"):
        build_micro_batches([_traj([], [], [])], torch.zeros(1), pad_id=0, micro_batch_size=1)


def test_format_reward_term() -> None:
    assert trajectory_reward(_traj([1], [2], [1], reward=1.0, text="so <<<4>>>"), 0.25) == 1.25
    assert trajectory_reward(_traj([1], [2], [1], reward=0.0, text="no answer"), 0.25) == 0.0
    assert trajectory_reward(_traj([1], [2], [1], reward=0.0, text="<<<5>>>"), 0.0) == 0.0


def test_padded_logprobs_equal_unpadded_forward(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    torch.manual_seed(0)
    seqs = [([5, 9, 14, 3], [40, 41, 42]), ([7, 8], [50, 51, 52, 53, 54])]
    trajs = [_traj(p, c, [1] * len(c)) for p, c in seqs]
    (mb,) = build_micro_batches(trajs, torch.zeros(2), pad_id=0, micro_batch_size=2)
    with torch.no_grad():
        logp, ent = sequence_logprobs(model, mb, temperature=0.7, entropy=True)
        for row, i in enumerate(mb.index):
            p, c = seqs[i]
            ids = torch.tensor([p + c])
            logits = model(ids).logits[0, len(p) - 1 : -1] / 0.7
            ref = torch.log_softmax(logits, -1).gather(-1, torch.tensor(c)[:, None]).squeeze(-1)
            assert logp[row, : len(c)].tolist() == pytest.approx(ref.tolist(), abs=1e-4)
    assert ent is not None and (ent[mb.mask.bool()] > 0).all()


def test_sampler_logprobs_match_recomputed(tiny_model_dir: Path) -> None:
    """Invariant 1 end to end: the ids and log-probs the HF sampler recorded are what training recomputes."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1ci.rollout.backends.hf import HFBackend
    from r1ci.rollout.engine import run_rollouts
    from r1ci.rollout.protocol import RolloutConfig
    from r1ci.tasks.base import Grade, Question

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    backend = HFBackend.from_model(model, tok)
    cfg = RolloutConfig(mode="text", temperature=0.8, max_new_tokens=12, max_tokens_per_turn=12)
    qs = [Question(id="q/0", task="toy", prompt="Add 2 and 3.", answer="5")]
    trajs = run_rollouts(backend, qs, cfg, samples_per_question=3, progress=False,
                         grader=lambda q, text: Grade(0.0, "toy"))
    mbs = build_micro_batches(trajs, torch.zeros(3), pad_id=tok.pad_token_id or 0, micro_batch_size=3)
    with torch.no_grad():
        logp, _ = sequence_logprobs(model.eval(), mbs[0], temperature=0.8)
    sampled = mbs[0].sampler_logprobs
    assert sampled is not None
    m = mbs[0].mask.bool()
    assert m.sum() > 0
    assert torch.allclose(logp[m], sampled[m], atol=2e-3)
