"""DDP through `accelerate launch`: two CPU processes (gloo) train SFT and GRPO to the same final model.

Runs the real launcher the README documents for multi-GPU (`accelerate launch -m r1ci.cli ...`), with
`--multi_gpu --num_processes 2` on a machine without CUDA (gloo), on the tiny random Llama. Both trainers
are compared numerically against one process on the same global batch (loss, gradient norm, weights);
the end-to-end GRPO run checks the plumbing (sharded questions, gathered groups, one set of metrics and
checkpoints written by the main process).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from r1ci.train.metric_sinks import read_metrics

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_ENV = {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def _launch_cmd(target: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # `--multi_gpu` is the DDP launcher of configs/accelerate/ddp_8gpu.yaml (torchrun underneath); with
    # no CUDA the processes join one gloo process group on CPU.
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(_free_port()), *target]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env={**os.environ, **_ENV})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def _launch(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    res = _launch_cmd(["-m", "r1ci.cli", *args], tmp_path)
    # really distributed, not two lone runs (rich may wrap the header line anywhere)
    assert re.search(r"2\s+process\(es\)", res.stdout), res.stdout[-3000:]
    return res


@pytest.mark.timeout(900)
def test_grpo_update_two_processes_match_one_process(tiny_model_dir: Path, tmp_path: Path) -> None:
    """One GRPO update on the same 4 groups: split over 2 processes or all on one, the summed loss, the
    gradient norm and the updated weights agree (token-level normalisation over the global batch, DDP's
    gradient average undone, `scale_rewards: batch` over the global batch's rewards)."""
    import torch

    script = str(Path(__file__).parent / "grpo_ddp_step.py")
    _launch_cmd([script, str(tiny_model_dir), str(tmp_path / "ddp"), "batch"], tmp_path)
    one = subprocess.run([sys.executable, script, str(tiny_model_dir), str(tmp_path / "one"), "batch"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path, env={**os.environ, **_ENV})
    assert one.returncode == 0, one.stderr[-3000:]
    ranks = [json.loads((tmp_path / "ddp" / f"rank-{r}.json").read_text()) for r in (0, 1)]
    single = json.loads((tmp_path / "one" / "rank-0.json").read_text())
    assert sum(r["model_tokens"] for r in ranks) == single["model_tokens"] > 0
    assert sum(r["loss"] for r in ranks) == pytest.approx(single["loss"], rel=1e-4, abs=1e-6)
    assert ranks[0]["grad_norm"] == pytest.approx(single["grad_norm"], rel=1e-4)
    assert single["grad_norm"] > 0
    ddp, ref = torch.load(tmp_path / "ddp" / "params.pt"), torch.load(tmp_path / "one" / "params.pt")
    from safetensors.torch import load_file

    start = load_file(tiny_model_dir / "model.safetensors")
    assert ddp.keys() == ref.keys()
    for name, value in ref.items():
        assert torch.allclose(ddp[name], value, atol=1e-6, rtol=1e-4), name
    assert any(not torch.equal(ref[n], start[n]) for n in start)  # the step changed the weights


@pytest.mark.timeout(900)
def test_grpo_two_processes(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "rl"
    _launch([
        "rl", "train", "--config", str(ROOT / "configs" / "rl" / "demo.yaml"), "--model", str(tiny_model_dir),
        "--out", str(out), "--max-steps", "2", "-o", "rollout.mode=text", "-o", "rollout.max_new_tokens=8",
        "-o", "grpo.group_size=2", "-o", "grpo.questions_per_step=4", "-o", "data.questions_per_task=2",
        "-o", "logging.report_to=none", "-o", "train.save_every=1", "-o", "train.keep_checkpoints=1",
    ], tmp_path)
    rows = read_metrics(out)
    assert [r["step"] for r in rows] == [1, 2]  # one row per step, written once (main process)
    assert all(0.0 <= r["reward"] <= 1.0 for r in rows)
    assert json.loads((out / "final" / "r1ci_rl.json").read_text())["steps"] == 2
    assert (out / "final" / "config.json").exists()
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step-2"]


@pytest.mark.timeout(900)
def test_sft_two_processes_match_one_process(tiny_model_dir: Path, tmp_path: Path) -> None:
    """2 processes × micro-batch 1 take the same optimizer steps as 1 process × micro-batch 2."""
    import torch
    from safetensors.torch import load_file

    sys.path.insert(0, str(Path(__file__).parent))
    from sft_helpers import toy_dataset, write_dataset

    data = write_dataset(tmp_path / "sft.jsonl", toy_dataset(8))
    common = ["sft", "train", "--model", str(tiny_model_dir), "--data", str(data), "--max-steps", "2",
              "-o", "train.lr=1e-3", "-o", "train.eval_fraction=0.0", "-o", "train.save_every=null",
              "-o", "train.grad_accum=1", "-o", "train.group_by_length=false", "-o", "logging.report_to=[jsonl]"]
    _launch([*common, "--out", str(tmp_path / "ddp"), "-o", "train.micro_batch_size=1"], tmp_path)
    single = subprocess.run([sys.executable, "-m", "r1ci.cli", *common, "--out", str(tmp_path / "one"),
                             "-o", "train.micro_batch_size=2"], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = load_file(tmp_path / "ddp" / "final" / "model.safetensors")
    one = load_file(tmp_path / "one" / "final" / "model.safetensors")
    start = load_file(tiny_model_dir / "model.safetensors")
    assert ddp.keys() == one.keys()
    for name in ddp:
        assert torch.allclose(ddp[name], one[name], atol=1e-5), name
    assert any(not torch.equal(ddp[n], start[n]) for n in ddp)  # it trained
    assert len([r for r in read_metrics(tmp_path / "ddp") if "loss" in r]) == 2
