"""Checkpoint round trips (full model and LoRA), atomicity/pruning, and the metrics logger."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from r1ci.train.checkpoint import (
    checkpoint_dir,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from r1ci.train.metric_sinks import LoggingConfig, MetricsLogger, read_metrics, resolve_sinks


def _tiny(tiny_model_dir: Path) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)


def _train_steps(model: torch.nn.Module, opt: torch.optim.Optimizer, sched: object, n: int) -> None:
    for _ in range(n):
        ids = torch.randint(0, 100, (2, 8))  # draws from the torch RNG: resume must restore it
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        sched.step()  # type: ignore[attr-defined]
        opt.zero_grad()


def _params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_full_model_roundtrip_restores_weights_optimizer_scheduler_rng(tmp_path: Path, tiny_model_dir: Path) -> None:
    torch.manual_seed(1)
    model = _tiny(tiny_model_dir)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    _train_steps(model, opt, sched, 2)
    random.seed(5)
    np.random.seed(5)
    path = save_checkpoint(tmp_path, step=2, model=model, optimizer=opt, scheduler=sched,
                           extra_state={"epoch": 0, "cursor": 7})
    assert path == checkpoint_dir(tmp_path, 2) and (path / "meta.json").exists()
    expected_py, expected_np = random.random(), np.random.rand()
    _train_steps(model, opt, sched, 2)  # reference continuation
    reference = _params(model)

    model2 = _tiny(tiny_model_dir)  # fresh weights: everything must come from the checkpoint
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1e-3)
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, lambda s: 1.0 / (1 + s))
    state = load_checkpoint(path, model=model2, optimizer=opt2, scheduler=sched2)
    assert state == {"epoch": 0, "cursor": 7, "step": 2}
    assert sched2.last_epoch == 2
    assert random.random() == expected_py and np.random.rand() == expected_np
    # RNG: the python/numpy draws above consumed nothing from torch, so the continuation matches
    _train_steps(model2, opt2, sched2, 2)
    for key, value in reference.items():
        torch.testing.assert_close(model2.state_dict()[key], value, rtol=0, atol=1e-6)


def test_lora_checkpoint_saves_only_the_adapter_and_restores_it(tmp_path: Path, tiny_model_dir: Path) -> None:
    from peft import LoraConfig, get_peft_model

    def make() -> torch.nn.Module:
        torch.manual_seed(0)
        return get_peft_model(_tiny(tiny_model_dir), LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))

    model = make()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    _train_steps(model, opt, sched, 2)
    path = save_checkpoint(tmp_path, step=2, model=model, optimizer=opt, extra_state={})
    files = {p.name for p in (path / "model").iterdir()}
    assert "adapter_model.safetensors" in files and "model.safetensors" not in files
    trained = {k: v.clone() for k, v in model.state_dict().items() if "lora_" in k}
    assert any(v.abs().sum() > 0 for k, v in trained.items() if "lora_B" in k)

    model2 = make()
    opt2 = torch.optim.AdamW([p for p in model2.parameters() if p.requires_grad], lr=1e-2)
    load_checkpoint(path, model=model2, optimizer=opt2)
    for key, value in trained.items():
        torch.testing.assert_close(model2.state_dict()[key], value)
    assert opt2.state_dict()["state"].keys() == opt.state_dict()["state"].keys()


def test_latest_ignores_partial_saves_and_keep_last_prunes(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step=step, model=model, optimizer=opt, extra_state={"s": step}, keep_last=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-2", "step-3"]
    (tmp_path / "checkpoints" / "step-9.tmp").mkdir()  # a save killed half way
    (tmp_path / "checkpoints" / "step-10").mkdir()  # no meta.json: incomplete
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.name == "step-3"
    assert load_checkpoint(latest, model=torch.nn.Linear(3, 2), optimizer=None)["s"] == 3
    with pytest.raises(TypeError, match="JSON-serialisable"):
        save_checkpoint(tmp_path, step=4, model=model, optimizer=opt, extra_state={"bad": object()})
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint"):
        load_checkpoint(tmp_path / "checkpoints" / "step-10", model=model, optimizer=None)


def test_metrics_logger_writes_jsonl_and_truncates_on_resume(tmp_path: Path) -> None:
    cfg = LoggingConfig(report_to=["jsonl"])
    with MetricsLogger(tmp_path, cfg) as log:
        for step in range(1, 5):
            log.log({"loss": torch.tensor(1.0 / step), "lr": 1e-4}, step)
        log.log({"loss": 0.3}, 4, prefix="eval/")
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 4]
    assert rows[1]["loss"] == pytest.approx(0.5) and rows[-1]["eval/loss"] == pytest.approx(0.3)
    with MetricsLogger(tmp_path, cfg, resume_step=2) as log:  # resumed from step 2: rows 3, 4 are redone
        log.log({"loss": 0.25}, 3)
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3]
    MetricsLogger(tmp_path, cfg).close()  # a fresh run starts a fresh file
    assert read_metrics(tmp_path) == []
    disabled = MetricsLogger(tmp_path / "other", cfg, enabled=False)
    disabled.log({"loss": 1.0}, 1)
    assert not (tmp_path / "other").exists()
    assert json.loads(json.dumps(resolve_sinks("none"))) == ["jsonl"]
    with pytest.raises(ValueError, match="report_to"):
        resolve_sinks("everything")
