"""GRPO actually learns: the embedded SmolLM2-135M raises its mean reward within a few steps (CPU, slow).

Task and reward (documented in configs/rl/demo.yaml): SymBench `number_multiply` at difficulty 1,
code-interpreter rollouts, reward = verifier + 0.5 x format term (a final `<<<answer>>>` in the
model's own text). The 135M model almost never multiplies correctly, so what it can learn in a few
steps is the answer protocol: at the start about 5-15% of its rollouts end with `<<<...>>>`; GRPO
with G = 8 finds the groups where some do and pushes toward them. Fixed seed; the bound is loose.
Same run from the command line (the README's walkthrough):

    r1ci rl train --config configs/rl/demo.yaml --out runs/demo/rl
"""

from __future__ import annotations

from pathlib import Path

import pytest

from r1ci.config import load_config
from r1ci.train.grpo_config import GRPOConfig
from r1ci.train.logging import read_metrics

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "rl" / "demo.yaml"


@pytest.mark.slow
def test_grpo_raises_mean_reward_on_smollm2(smollm2_dir: Path, tmp_path: Path) -> None:
    from r1ci.train.grpo import train_grpo

    cfg = load_config(GRPOConfig, RECIPE, [
        f"out={tmp_path}", "train.max_steps=4", "train.save_every=null", "logging.report_to=none",
        "data.tasks=[number_multiply]", "data.questions_per_task=8", "optim.lr=2e-5",
    ])
    train_grpo(cfg)
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    first = rows[0]["reward"]
    late = (rows[2]["reward"] + rows[3]["reward"]) / 2
    assert late >= first + 0.15, [r["reward"] for r in rows]
    assert rows[-1]["answer_rate"] > rows[0]["answer_rate"]
