"""The GRPO loop on the tiny random model: update direction, metrics, checkpoint/resume, final folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from r1ci.rollout.protocol import RolloutConfig
from r1ci.tasks.base import Grade, Question
from r1ci.train.grpo_config import GRPOConfig, GRPOSettings, OptimSettings, TrainSettings
from r1ci.train.logging import LoggingConfig, read_metrics

QUESTIONS = [Question(id=f"toy/{i}", task="toy", prompt=f"Repeat the number {i}.", answer=str(i)) for i in range(4)]


def parity_grader(question: Question, text: str) -> Grade:
    """A reward the random tiny model hits about half the time (so groups have variance)."""
    return Grade(float(len(text) % 2), "parity")


def _cfg(model: Path, out: Path, **train: object) -> GRPOConfig:
    return GRPOConfig(
        model=str(model), out=str(out), seed=1,
        rollout=RolloutConfig(mode="text", temperature=1.0, max_new_tokens=12, max_tokens_per_turn=12),
        grpo=GRPOSettings(group_size=4, questions_per_step=2, micro_batch_size=3, beta=0.0),
        optim=OptimSettings(lr=1e-3),
        train=TrainSettings(**{"max_steps": 2, "save_every": 1, "keep_checkpoints": 1, **train}),
        logging=LoggingConfig(report_to="none"),
    )


def test_update_raises_logprob_of_positive_advantage_samples(tiny_model_dir: Path) -> None:
    """One update_policy call moves probability toward the group's above-average samples."""
    from accelerate import Accelerator
    from transformers import AutoModelForCausalLM

    from r1ci.rollout.trajectory import Segment, Trajectory
    from r1ci.train.grpo import StepBatch, lr_factor, make_optimizer, update_policy
    from r1ci.train.grpo_batch import build_micro_batches, sequence_logprobs

    cfg = _cfg(tiny_model_dir, Path("unused"))
    cfg.grpo.group_size = 2
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    acc = Accelerator(cpu=True)
    opt = make_optimizer(model, cfg)
    model, opt = acc.prepare(model, opt)
    sched = torch.optim.lr_scheduler.LambdaLR(opt.optimizer, lr_factor(cfg))

    def traj(completion: list[int], mask: list[int], reward: float) -> Trajectory:
        return Trajectory("toy", "toy/0", "p", [], [1, 2, 3], "x", [Segment("model", "x", completion)],
                          completion, mask, None, 0, 0, "answer", reward=reward)

    # good sample: tokens 100,101 (+ an interpreter token 555 in between); bad sample: 200, 201
    good, bad = traj([100, 555, 101], [1, 0, 1], 1.0), traj([200, 201], [1, 1], 0.0)
    (mb,) = build_micro_batches([good, bad], torch.zeros(2), pad_id=0, micro_batch_size=2)
    with torch.no_grad():
        before, _ = sequence_logprobs(model, mb, 1.0)
    batch = StepBatch([[good, bad]], [[good, bad]], 0, 1, 1, 0.0, 0.0, 0.0)
    out = update_policy(cfg, model, None, opt, sched, acc, batch, pad_id=0)
    with torch.no_grad():
        after, _ = sequence_logprobs(model, mb, 1.0)
    rows = {i: r for r, i in enumerate(mb.index)}
    g, b = rows[0], rows[1]
    assert after[g, 0] > before[g, 0] and after[g, 2] > before[g, 2]
    assert after[b, 0] < before[b, 0] and after[b, 1] < before[b, 1]
    assert out["model_tokens"] == 4  # the interpreter token is not counted
    assert out["clip_frac"] == 0.0 and out["ratio_mean"] == pytest.approx(1.0)  # mu=1: on-policy
    assert out["grad_norm"] > 0


def test_loop_metrics_checkpoint_resume_and_final(tiny_model_dir: Path, tmp_path: Path) -> None:
    from r1ci.train.checkpoint import list_checkpoints
    from r1ci.train.grpo import train_grpo

    out = tmp_path / "run"
    final = train_grpo(_cfg(tiny_model_dir, out), questions=QUESTIONS, grader=parity_grader)
    rows = read_metrics(out)
    assert [r["step"] for r in rows] == [1, 2]
    for key in ("reward", "accuracy", "code_use_rate", "mean_turns", "response_length", "kl", "clip_frac",
                "entropy", "zero_variance_frac", "time_generation", "time_execution", "time_training",
                "stage", "loss", "accuracy/unknown"):
        assert key in rows[0], key
    assert 0.0 <= rows[0]["reward"] <= 1.0 and rows[0]["entropy"] > 0
    assert rows[0]["response_length"] > 0 and rows[0]["stage"] == 1
    assert [p.name for p in list_checkpoints(out)] == ["step-2"]
    assert (final / "config.json").exists() and (final / "rl_config.yaml").exists()
    assert json.loads((final / "r1ci_rl.json").read_text())["steps"] == 2

    cfg = _cfg(tiny_model_dir, out, max_steps=3)
    cfg.resume = True
    train_grpo(cfg, questions=QUESTIONS, grader=parity_grader)
    rows = read_metrics(out)
    assert [r["step"] for r in rows] == [1, 2, 3]
    state = json.loads((out / "checkpoints" / "step-3" / "extra_state.json").read_text())
    assert state["step"] == 3 and state["curriculum"]["cursor"] == 2  # 6 questions drawn from 4: epoch 1, cursor 2
    assert state["curriculum"]["epoch"] == 1
