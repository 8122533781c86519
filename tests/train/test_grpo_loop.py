"""The GRPO loop on the tiny random model: update direction, metrics, checkpoint/resume, final folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from r1ci.rollout.protocol import RolloutConfig
from r1ci.tasks.base import Grade, Question
from r1ci.train.grpo_config import GRPOConfig, GRPOSettings, OptimSettings, TrainSettings
from r1ci.train.metric_sinks import LoggingConfig, read_metrics

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


def _update_setup(tiny_model_dir: Path) -> tuple[Any, Any, Any, Any, Any]:
    """(cfg with groups of 2, prepared model, accelerator, optimizer, scheduler) for one update_policy call."""
    from accelerate import Accelerator
    from transformers import AutoModelForCausalLM

    from r1ci.train.grpo import make_lr_scheduler, make_optimizer

    cfg = _cfg(tiny_model_dir, Path("unused"))
    cfg.grpo.group_size = 2
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    acc = Accelerator(cpu=True)
    opt = make_optimizer(model, cfg)
    model, opt = acc.prepare(model, opt)
    return cfg, model, acc, opt, make_lr_scheduler(opt, cfg)


def test_update_raises_logprob_of_positive_advantage_samples(tiny_model_dir: Path) -> None:
    """One update_policy call moves probability toward the group's above-average samples."""
    from r1ci.rollout.trajectory import Segment, Trajectory
    from r1ci.train.grpo import StepBatch, update_policy
    from r1ci.train.grpo_batch import build_micro_batches, sequence_logprobs

    cfg, model, acc, opt, sched = _update_setup(tiny_model_dir)

    def traj(completion: list[int], mask: list[int], reward: float) -> Trajectory:
        return Trajectory("toy", "toy/0", "p", [], [1, 2, 3], "x", [Segment("model", "x", completion)],
                          completion, mask, None, 0, 0, "answer", reward=reward)

    # good sample: tokens 100,101 (+ an interpreter token 555 in between); bad sample: 200, 201
    good, bad = traj([100, 555, 101], [1, 0, 1], 1.0), traj([200, 201], [1, 1], 0.0)
    (mb,) = build_micro_batches([good, bad], torch.zeros(2), pad_id=0, micro_batch_size=2)
    with torch.no_grad():
        before, _ = sequence_logprobs(model, mb, 1.0)
    batch = StepBatch([[good, bad]], [[good, bad]], 0, 1, 1, 0.0, 0.0)
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


def test_sampler_logprob_diff_measures_a_stale_sampler(tiny_model_dir: Path) -> None:
    """The sampler's reported log-probs are compared with the policy's own on model tokens: a sampler
    that is off by 0.25 nats per token (a stale engine) reads 0.25; interpreter tokens do not count."""
    import dataclasses

    from r1ci.rollout.trajectory import Segment, Trajectory
    from r1ci.train.grpo import StepBatch, update_policy
    from r1ci.train.grpo_batch import build_micro_batches, sequence_logprobs

    cfg, model, acc, opt, sched = _update_setup(tiny_model_dir)
    good = Trajectory("toy", "toy/0", "p", [], [1, 2, 3], "x", [Segment("model", "x", [100, 555, 101])],
                      [100, 555, 101], [1, 0, 1], None, 0, 0, "answer", reward=1.0)
    bad = dataclasses.replace(good, completion_ids=[200, 201], mask=[1, 1], reward=0.0)
    (mb,) = build_micro_batches([good, bad], torch.zeros(2), pad_id=0, micro_batch_size=2)
    with torch.no_grad():
        policy, _ = sequence_logprobs(model, mb, 1.0)
    rows = {i: r for r, i in enumerate(mb.index)}
    good.logprobs = [float(policy[rows[0], 0]) - 0.25, 7.0, float(policy[rows[0], 2]) - 0.25]
    bad.logprobs = [float(policy[rows[1], t]) + 0.25 for t in range(2)]
    out = update_policy(cfg, model, None, opt, sched, acc, StepBatch([[good, bad]], [[good, bad]], 0, 1, 1, 0.0, 0.0),
                        pad_id=0)
    assert out["sampler_logprob_diff"] == pytest.approx(0.25, abs=1e-5)
    assert out["sampler_logprob_diff_max"] == pytest.approx(0.25, abs=1e-5)


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


def test_cli_train_with_demo_recipe(tiny_model_dir: Path, tmp_path: Path) -> None:
    """`r1ci rl train` on configs/rl/demo.yaml (registry tasks, real verifier), shrunk by overrides."""
    from typer.testing import CliRunner

    from r1ci.cli import app

    recipe = Path(__file__).resolve().parents[2] / "configs" / "rl" / "demo.yaml"
    out = tmp_path / "cli"
    res = CliRunner().invoke(app, [
        "rl", "train", "--config", str(recipe), "--model", str(tiny_model_dir), "--out", str(out),
        "--max-steps", "1", "-o", "rollout.mode=text", "-o", "rollout.max_new_tokens=8",
        "-o", "grpo.group_size=2", "-o", "grpo.questions_per_step=2", "-o", "data.questions_per_task=2",
        "-o", "logging.report_to=none", "-o", "train.save_every=null",
    ])
    assert res.exit_code == 0, res.output
    (row,) = read_metrics(out)
    assert row["step"] == 1
    assert {k for k in row if k.startswith("accuracy/")} <= {"accuracy/symbench", "accuracy/reasoning_gym"}
    assert any(k.startswith("accuracy/") for k in row)  # per-source accuracy from the task registry
    assert (out / "final" / "config.json").exists()
    bad = CliRunner().invoke(app, ["rl", "train", "--config", str(recipe), "--out", str(out),
                                   "-o", "grpo.epsilon_lo=0.1"])
    assert bad.exit_code == 2 and "epsilon_lo" in bad.output


def test_dynamic_sampling_drops_and_refills_zero_variance_groups() -> None:
    import contextlib
    from collections import Counter
    from types import SimpleNamespace

    from accelerate import Accelerator

    from r1ci.rollout.backends.scripted import ScriptedBackend
    from r1ci.train.curriculum import CurriculumConfig, CurriculumSampler
    from r1ci.train.grpo import collect_groups

    calls: Counter[str] = Counter()

    def script(prompt: str, so_far: str, turn: int) -> str:
        calls[prompt] += 1
        return "a" * (calls[prompt] % 2 + 1)  # lengths alternate 2, 1, 2, ... per question

    def grader(q: Question, text: str) -> Grade:
        informative = q.id in ("toy/1", "toy/3")  # the others always get the same reward
        return Grade(float(len(text) % 2) if informative else float(q.id == "toy/0"), "toy")

    cfg = GRPOConfig(rollout=RolloutConfig(mode="text", temperature=1.0),
                     grpo=GRPOSettings(group_size=2, questions_per_step=2, dynamic_sampling=True, max_refill_rounds=3))
    sampler = CurriculumSampler(QUESTIONS, CurriculumConfig(), seed=5)
    gen = SimpleNamespace(backend=ScriptedBackend(script, tokenizer=None), gathered=contextlib.nullcontext)
    batch = collect_groups(cfg, sampler, gen, Accelerator(cpu=True), step=0, executor=None,  # type: ignore[arg-type]
                           grader=grader)
    assert sorted(grp[0].question_id for grp in batch.groups) == ["toy/1", "toy/3"]
    assert all(len({t.reward for t in grp}) == 2 for grp in batch.groups)
    assert batch.total_groups == 2 * batch.rounds and batch.zero_variance == batch.total_groups - 2
    assert len(batch.generated) == batch.total_groups

    cfg.grpo.dynamic_sampling = False
    plain = collect_groups(cfg, CurriculumSampler(QUESTIONS, CurriculumConfig(), seed=5), gen,  # type: ignore[arg-type]
                           Accelerator(cpu=True), step=0, executor=None, grader=grader)
    assert plain.rounds == 1 and len(plain.groups) == 2


def test_question_pool_refuses_held_out_test_tasks(tmp_path: Path) -> None:
    from r1ci.train.curriculum import CurriculumConfig, QuestionEstimate, write_estimates
    from r1ci.train.grpo import question_pool
    from r1ci.train.grpo_config import DataSettings

    path = tmp_path / "est.jsonl"
    write_estimates(path, [QuestionEstimate(Question("boxlift/0/0", "boxlift", "p", "a"), 4, 2.0, "symbench")])
    with pytest.raises(ValueError, match="held-out"):
        question_pool(GRPOConfig(curriculum=CurriculumConfig(estimates=str(path))))
    with pytest.raises(ValueError, match="held-out"):
        question_pool(GRPOConfig(data=DataSettings(tasks=["boxlift"])))
    qs, rates = question_pool(GRPOConfig(data=DataSettings(tasks=["chain_sum"], questions_per_task=3)))
    assert [q.task for q in qs] == ["chain_sum"] * 3 and rates is None
