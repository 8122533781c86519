"""`scripts/gpu_evidence.sh --dry-run`: the GPU lease's script runs end to end on CPU with a tiny random model."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_evidence_dry_run_writes_the_evidence(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "R1CI_GPU_RUN_DIR": str(tmp_path / "run"), "PYTHON": str(REPO / ".venv" / "bin" / "python")}
    res = subprocess.run(["bash", str(REPO / "scripts" / "gpu_evidence.sh"), "--dry-run", "--out", str(out)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for name in ("report.md", "summary.json", "outcomes.jsonl", "device.json", "machine.json", "reward_curves.png",
                 "experiment.log"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["arms"]) == {"sft", "uniform", "curriculum"}
    assert summary["vs_uniform"]["curriculum"]["fresh"]["questions"] == 4
    assert summary["tokens_per_s"]["eval"] and json.loads((out / "device.json").read_text())["cuda"] is False
    assert not (out / "tiny-model").exists()  # the dry run cleans its model up


def test_gpu_evidence_refuses_without_a_model(tmp_path: Path) -> None:
    res = subprocess.run(["bash", str(REPO / "scripts" / "gpu_evidence.sh"), "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "--model" in res.stderr
    res = subprocess.run(["bash", str(REPO / "scripts" / "gpu_evidence.sh"), "--bogus"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "unknown argument --bogus" in res.stderr
