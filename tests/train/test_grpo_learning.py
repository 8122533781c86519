"""GRPO actually learns: the embedded SmolLM2-135M raises its mean reward within a few steps (CPU, slow).

Setup = configs/rl/demo_text.yaml (the README walkthrough, `r1ci rl train --config
configs/rl/demo_text.yaml`), shrunk to one task and 3 steps: SymBench `number_multiply` at difficulty
1, text-mode rollouts, reward = verifier + 1.0 x format term (a final `<<<answer>>>` in the model's
own text). The raw 135M model almost never multiplies correctly and ends only ~3% of its answers
with the protocol; what GRPO can teach it in a few steps is that protocol (measured: reward 0.03 at
step 1, 0.94 at step 2). Fixed seed; the bound is far below what a working loop reaches.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from r1ci.config import load_config
from r1ci.train.grpo_config import GRPOConfig
from r1ci.train.metric_sinks import read_metrics

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "rl" / "demo_text.yaml"


@pytest.mark.slow
@pytest.mark.timeout(3600)  # ~1-3 min on an idle 2-core CPU; far longer on a shared, loaded one
def test_grpo_raises_mean_reward_on_smollm2(smollm2_dir: Path, tmp_path: Path) -> None:
    from r1ci.train.grpo import train_grpo

    cfg = load_config(GRPOConfig, RECIPE, [
        f"out={tmp_path}", "train.max_steps=3", "train.save_every=null", "logging.report_to=none",
        "data.tasks=[number_multiply]", "data.questions_per_task=16",
    ])
    train_grpo(cfg)
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in rows] == [1, 2, 3]
    first = rows[0]["reward"]
    late = (rows[1]["reward"] + rows[2]["reward"]) / 2
    assert late >= first + 0.25, [r["reward"] for r in rows]
    assert rows[-1]["answer_rate"] > rows[0]["answer_rate"]
