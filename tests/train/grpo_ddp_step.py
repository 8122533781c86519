"""One GRPO `update_policy` step on fixed groups, for the 2-processes-vs-1 test (test_multiprocess.py).

    python grpo_ddp_step.py MODEL OUT SCALE                      # one process: every group
    accelerate launch --multi_gpu --num_processes 2 grpo_ddp_step.py MODEL OUT SCALE   # groups split by rank

The groups are fixed (no sampling), so both runs see the same global batch: the losses, gradient norm
and updated weights must agree. SGD (not Adam, whose first step is lr * sign(gradient)) makes the
weights show the gradient's scale, so a wrong DDP normalisation cannot hide. OUT/rank-R.json holds the
step's metrics; the main process writes OUT/params.pt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from r1ci.rollout.protocol import RolloutConfig
from r1ci.rollout.trajectory import Segment, Trajectory
from r1ci.train.grpo import StepBatch, make_lr_scheduler, update_policy
from r1ci.train.grpo_config import GRPOConfig, GRPOSettings, OptimSettings
from r1ci.train.scaffold import make_accelerator

GROUP_SIZE = 2


def groups() -> list[list[Trajectory]]:
    """4 groups x 2 samples of different lengths and rewards, an interpreter token masked out in some."""
    out = []
    for g in range(4):
        group = []
        for s in range(GROUP_SIZE):
            n = 3 + (g + 2 * s) % 4
            completion = [100 + 7 * g + 3 * s + i for i in range(n)]
            mask = [0 if (i == 1 and s == 0) else 1 for i in range(n)]  # an interpreter token
            reward = [1.0, 0.0, 0.5, 1.0, 0.0, 0.25, 1.0, 1.0][2 * g + s]
            group.append(Trajectory(
                "toy", f"toy/{g}", "p", [], [1, 2, 3 + g], "x", [Segment("model", "x", completion)],
                completion, mask, None, 0, 0, "answer", reward=reward))
        out.append(group)
    return out


def main(model_dir: str, out: str, scale: str) -> None:
    from transformers import AutoModelForCausalLM

    cfg = GRPOConfig(
        model=model_dir, out=out, rollout=RolloutConfig(mode="text", temperature=1.0, max_new_tokens=16),
        grpo=GRPOSettings(group_size=GROUP_SIZE, questions_per_step=4, micro_batch_size=1, scale_rewards=scale),
        optim=OptimSettings(lr=0.5, max_grad_norm=1e9),
    )
    acc = make_accelerator("fp32")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=cfg.optim.lr)
    model, optimizer = acc.prepare(model, optimizer)
    scheduler = make_lr_scheduler(optimizer, cfg)
    everything = groups()
    mine = everything[acc.process_index :: acc.num_processes]
    batch = StepBatch(mine, mine, 0, len(everything), 1, 0.0, 0.0)
    metrics = update_policy(cfg, model, None, optimizer, scheduler, acc, batch, pad_id=0)
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / f"rank-{acc.process_index}.json").write_text(json.dumps(metrics))
    if acc.is_main_process:
        state = acc.unwrap_model(model).state_dict()
        torch.save({k: v.detach().cpu() for k, v in state.items()}, Path(out) / "params.pt")
    acc.wait_for_everyone()


if __name__ == "__main__":
    main(*sys.argv[1:4])
