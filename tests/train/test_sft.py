"""Masked multi-turn SFT: the loss mask, packing, batch plans, overfitting, resume, LoRA, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from sft_helpers import make_traj, toy_dataset, write_dataset

from r1ci.rollout.tokenize import trajectory_features
from r1ci.rollout.trajectory import Trajectory
from r1ci.train.data import (
    IGNORE_INDEX,
    collate,
    encode_examples,
    plan_steps,
    split_eval,
    step_loss_tokens,
)
from r1ci.train.metric_sinks import read_metrics
from r1ci.train.sft import SFTConfig, batch_loss, masked_lm_loss, supports_logits_to_keep, train_sft


@pytest.fixture(scope="module")
def tok(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    from r1ci.models import load_tokenizer

    return load_tokenizer(str(tiny_model_dir))


def _tiny(tiny_model_dir: Path) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)


def test_gradient_is_zero_on_interpreter_and_prompt_positions(tiny_model_dir: Path, tok) -> None:  # type: ignore[no-untyped-def]
    traj = make_traj("toy/0/0")
    ids, mask = trajectory_features(traj, tok)
    examples, _ = encode_examples([traj], tok, max_length=4096)
    labels = examples[0].labels
    assert 0 in mask[mask.index(1):], "the completion must contain masked interpreter tokens"
    batch = collate([[0]], examples, pad_id=tok.pad_token_id, packing=False)
    model = _tiny(tiny_model_dir)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logits.retain_grad()
    masked_lm_loss(logits, batch["labels"], normalizer=float(examples[0].n_loss_tokens)).backward()
    grad = logits.grad[0]  # grad[t] belongs to the logits that predict token t + 1
    predicts_model = [mask[t + 1] == 1 for t in range(len(ids) - 1)]
    for t, is_model in enumerate(predicts_model):
        norm = float(grad[t].abs().sum())
        if is_model:
            assert norm > 0, f"position {t} predicts a model token but got no gradient"
        else:
            assert norm == 0.0, f"position {t} predicts a prompt/interpreter token but got gradient {norm}"
    assert float(grad[len(ids) - 1].abs().sum()) == 0.0  # the last position predicts nothing
    # interpreter text really is in the masked span: decode the masked completion tokens
    completion_start = mask.index(1)
    masked_text = tok.decode([i for i, m in zip(ids[completion_start:], mask[completion_start:], strict=True) if not m])
    assert "Code Execution Results:" in masked_text and "42" in masked_text
    assert labels[completion_start] == ids[completion_start] and labels[completion_start - 1] == IGNORE_INDEX


def test_packed_rows_give_the_same_loss_as_padded_rows(tiny_model_dir: Path, tok) -> None:  # type: ignore[no-untyped-def]
    examples, _ = encode_examples(toy_dataset(3), tok, max_length=4096)
    model = _tiny(tiny_model_dir).eval()
    cpu = torch.device("cpu")
    with torch.no_grad():
        padded = collate([[0], [1], [2]], examples, pad_id=tok.pad_token_id, packing=False)
        loss_padded = batch_loss(model, padded, cpu, 1.0)
        packed = collate([[0, 1], [2]], examples, pad_id=tok.pad_token_id, packing=True)
        assert "attention_mask" not in packed and packed["input_ids"].shape[0] == 2
        loss_packed = batch_loss(model, packed, cpu, 1.0)
        # the training path computes logits only where a row has a target: same value
        assert supports_logits_to_keep(model)
        sparse = batch_loss(model, packed, cpu, 1.0, only_loss_positions=True)
        # without position ids the second trajectory would attend to the first: the loss would differ
        leaky = masked_lm_loss(model(input_ids=packed["input_ids"], use_cache=False).logits, packed["labels"], 1.0)
        # per position: the second packed trajectory's logits equal its logits alone
        n0, n1 = len(examples[0]), len(examples[1])
        alone = model(input_ids=torch.tensor([examples[1].input_ids]), use_cache=False).logits[0]
        in_row = model(input_ids=packed["input_ids"][:1], position_ids=packed["position_ids"][:1],
                       use_cache=False).logits[0, n0 : n0 + n1]
    assert float((in_row - alone).abs().max()) < 1e-4
    assert abs(float(leaky) - float(loss_padded)) > 0.05
    n_tokens = sum(ex.n_loss_tokens for ex in examples)
    assert int((packed["labels"][:, 1:] != IGNORE_INDEX).sum()) == n_tokens
    torch.testing.assert_close(loss_packed, loss_padded, rtol=0, atol=1e-3)
    torch.testing.assert_close(sparse, loss_packed, rtol=1e-6, atol=0)


def test_batch_plan_is_deterministic_shardable_and_pads_by_wrapping() -> None:
    lengths = [10, 50, 20, 40, 30, 60, 70]
    kwargs = dict(seed=3, micro_batch_size=1, grad_accum=2, world_size=2, epochs=2, max_steps=None,
                  packing=False, group_by_length=True, max_length=100)
    steps = plan_steps(lengths, **kwargs)  # type: ignore[arg-type]
    assert steps == plan_steps(lengths, **kwargs)  # type: ignore[arg-type]
    assert len(steps) == 4 and all(len(step) == 4 for step in steps)  # 2 processes x 2 accumulation
    epoch0 = [i for step in steps[:2] for mb in step for row in mb for i in row]
    assert set(epoch0) == set(range(7)) and len(epoch0) == 8  # 7 examples, 1 wrapped repeat
    assert steps[:2] != steps[2:]  # each epoch reshuffles
    packed = plan_steps(lengths, **{**kwargs, "packing": True, "world_size": 1})  # type: ignore[arg-type]
    for step in packed:
        for mb in step:
            assert all(sum(lengths[i] for i in row) <= 100 for row in mb)
    capped = plan_steps(lengths, **{**kwargs, "max_steps": 5})  # type: ignore[arg-type]
    assert len(capped) == 5 and capped[:4] == steps
    with pytest.raises(ValueError, match="does not fit"):
        plan_steps([150], **{**kwargs, "packing": True})  # type: ignore[arg-type]


def test_eval_split_holds_out_whole_questions(tok) -> None:  # type: ignore[no-untyped-def]
    trajs = [make_traj(f"q/{i // 2}", sample_index=i % 2) for i in range(10)]
    examples, _ = encode_examples(trajs, tok, max_length=4096)
    train, evals = split_eval(examples, fraction=0.2, max_examples=None, seed=0)
    assert len(evals) == 2 and len(train) == 8
    assert not {e.group for e in train} & {e.group for e in evals}


def test_overlong_and_foreign_token_ids_are_handled(tok) -> None:  # type: ignore[no-untyped-def]
    short, long = make_traj("a/0/0"), make_traj("a/0/1", model_turns=("x " * 3000 + "<<<1>>>",), outputs=())
    examples, stats = encode_examples([short, long], tok, max_length=512)
    assert stats.dropped_too_long == 1 and len(examples) == 1
    ids, _ = trajectory_features(short, tok)
    foreign = make_traj("a/0/2")
    foreign.prompt_ids, foreign.completion_ids, foreign.mask = [5, 6, 7], [8, 9], [1, 1]  # another vocab's ids
    examples, stats = encode_examples([foreign], tok, max_length=4096)
    assert stats.retokenized == 1 and examples[0].input_ids == ids


def _config(tmp_path: Path, data: Path, model: Path, **train: object) -> SFTConfig:
    base = {
        "lr": 3e-3, "warmup_ratio": 0.0, "micro_batch_size": 2, "grad_accum": 1, "max_length": 1024,
        "eval_fraction": 0.0, "save_every": None, "max_grad_norm": 1.0,
    }
    return SFTConfig.model_validate({
        "model": str(model), "data": [str(data)], "out": str(tmp_path), "seed": 0,
        "train": {**base, **train}, "logging": {"report_to": ["jsonl"]},
    })


def _model_segments(mask: list[int]) -> list[tuple[int, int]]:
    """(start, end) of each run of model tokens in a loss mask."""
    spans, start = [], None
    for i, m in enumerate([*mask, 0]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            spans.append((start, i))
            start = None
    return spans


def _overfit(tmp_path: Path, tiny_model_dir: Path, steps: int) -> tuple[Path, list[float], list[Trajectory]]:
    """Train the tiny model on 3 trajectories at a constant high rate; returns (final dir, losses, data)."""
    trajs = toy_dataset(3)
    data = write_dataset(tmp_path / "sft.jsonl", trajs)
    final = train_sft(_config(tmp_path / "run", data, tiny_model_dir, max_steps=steps, micro_batch_size=3, lr=2e-2,
                              warmup_ratio=0.1, min_lr_ratio=1.0))
    losses = [r["loss"] for r in read_metrics(tmp_path / "run") if "loss" in r]
    assert len(losses) == steps
    return final, losses, trajs


def test_overfit_loss_falls_fast_variant(tmp_path: Path, tiny_model_dir: Path) -> None:
    final, losses, _ = _overfit(tmp_path, tiny_model_dir, steps=30)
    assert losses[0] / losses[-1] > 5, f"loss fell only from {losses[0]:.3f} to {losses[-1]:.3f}"
    assert (final / "r1ci_sft.json").exists() and (final / "sft_config.yaml").exists()
    from r1ci.models import load_model

    loaded = load_model(str(final), device="cpu")  # the saved HF folder loads like any model
    assert loaded.tokenizer.chat_template and loaded.model.config.use_cache


@pytest.mark.slow
def test_overfit_tiny_model_reproduces_a_trajectory_greedily(tmp_path: Path, tiny_model_dir: Path, tok) -> None:  # type: ignore[no-untyped-def]
    final, losses, trajs = _overfit(tmp_path, tiny_model_dir, steps=80)
    assert losses[0] / losses[-1] > 50

    from r1ci.models import load_model

    loaded = load_model(str(final), device="cpu")
    for index, target in enumerate(trajs):
        ids, mask = trajectory_features(target, tok)
        segments = _model_segments(mask)
        assert len(segments) == 2  # code turn, then the answer turn (+ end-of-turn token)
        # every model segment of one trajectory, and the first of the others, given the real context
        for start, end in segments if index == 1 else segments[:1]:
            context = torch.tensor([ids[:start]])
            with torch.no_grad():
                out = loaded.model.generate(context, attention_mask=torch.ones_like(context),
                                            max_new_tokens=end - start, do_sample=False, pad_token_id=tok.pad_token_id)
            assert out[0, start:].tolist() == ids[start:end], (
                f"trajectory {index}: greedy {tok.decode(out[0, start:])!r} != {tok.decode(ids[start:end])!r}"
            )


def test_interrupt_then_resume_gives_the_same_weights_as_a_straight_run(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import r1ci.train.sft as sft

    data = write_dataset(tmp_path / "sft.jsonl", toy_dataset(6))
    straight = train_sft(_config(tmp_path / "a", data, tiny_model_dir, max_steps=4, save_every=2, lr=1e-3))
    assert [p.name for p in (tmp_path / "a" / "checkpoints").iterdir()] == ["step-2"]  # every 2 steps, not the end

    # run b is interrupted (Ctrl-C) during its third step: it saves step 2 and re-raises
    real_step, calls = sft._train_step, []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(sft, "_train_step", flaky)
    cfg = _config(tmp_path / "b", data, tiny_model_dir, max_steps=4, save_every=None, lr=1e-3)
    with pytest.raises(KeyboardInterrupt):
        train_sft(cfg)
    monkeypatch.setattr(sft, "_train_step", real_step)
    assert [p.name for p in (tmp_path / "b" / "checkpoints").iterdir()] == ["step-2"]
    resumed = train_sft(cfg.model_copy(update={"resume": True}))

    a, b = load_file(str(straight / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6)
    base = load_file(str(tiny_model_dir / "model.safetensors"))
    assert any(not torch.equal(a[k], base[k]) for k in a)  # training really changed the weights
    assert [r["step"] for r in read_metrics(tmp_path / "b") if "loss" in r] == [1, 2, 3, 4]
    # resuming on other data is refused
    other = write_dataset(tmp_path / "other.jsonl", toy_dataset(5))
    with pytest.raises(RuntimeError, match="different data"):
        train_sft(_config(tmp_path / "b", other, tiny_model_dir, max_steps=4).model_copy(update={"resume": True}))


def test_lora_saves_a_merged_model_and_keeps_the_adapter(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_dataset(tmp_path / "sft.jsonl", toy_dataset(6))
    cfg = _config(tmp_path / "run", data, tiny_model_dir, max_steps=3, eval_fraction=0.3, eval_every=2, lr=1e-2)
    cfg = cfg.model_copy(update={"lora": cfg.lora.model_copy(update={"enabled": True, "r": 4, "keep_adapter": True})})
    final = train_sft(cfg)
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").exists()
    merged = load_file(str(final / "model.safetensors"))
    assert not any("lora" in k for k in merged)
    base = load_file(str(tiny_model_dir / "model.safetensors"))
    assert any(not torch.equal(merged[k], base[k]) for k in base if k in merged)
    rows = read_metrics(tmp_path / "run")
    assert [r["step"] for r in rows if "eval/loss" in r] == [2, 3]  # every 2 steps and at the end
    summary = json.loads((final / "r1ci_sft.json").read_text())
    assert summary["lora"] is True and summary["eval_trajectories"] >= 1


def test_cli_train_runs_with_overrides(tmp_path: Path, tiny_model_dir: Path) -> None:
    from typer.testing import CliRunner

    from r1ci.cli import app

    data = write_dataset(tmp_path / "sft.jsonl", toy_dataset(4))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("train:\n  lr: 1.0e-3\n  eval_fraction: 0.0\n  save_every: null\nlogging:\n  report_to: [jsonl]\n")
    result = CliRunner().invoke(app, [
        "sft", "train", "--config", str(recipe), "--model", str(tiny_model_dir), "--data", str(data),
        "--out", str(tmp_path / "run"), "--max-steps", "2", "-o", "train.micro_batch_size=2",
        "-o", "train.packing=true", "-o", "train.gradient_checkpointing=true",
    ])
    assert result.exit_code == 0, result.output
    assert Path(result.output.strip().splitlines()[-1]) == tmp_path / "run" / "final"
    assert len([r for r in read_metrics(tmp_path / "run") if "loss" in r]) == 2
    bad = CliRunner().invoke(app, ["sft", "train", "--config", str(recipe), "-o", "train.lrr=1"])
    assert bad.exit_code == 2 and "lrr" in bad.output


def test_cli_runs_as_a_module_for_accelerate_launch() -> None:
    import subprocess
    import sys

    # `accelerate launch -m r1ci.cli sft train ...` runs the package as a module
    res = subprocess.run([sys.executable, "-m", "r1ci.cli", "sft", "train", "--help"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0 and "--resume" in res.stdout


def test_step_normaliser_counts_every_process_share(tok) -> None:  # type: ignore[no-untyped-def]
    examples, _ = encode_examples(toy_dataset(4), tok, max_length=4096)
    step = [[[0], [1]], [[2], [3]]]
    assert step_loss_tokens(step, examples) == sum(e.n_loss_tokens for e in examples)
