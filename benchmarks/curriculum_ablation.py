"""Curriculum vs uniform sampling for GRPO, same budget, one run: held-out accuracy of both and their gains.

    .venv/bin/python benchmarks/curriculum_ablation.py                     # CPU, tiny settings (~15 min)
    .venv/bin/python benchmarks/curriculum_ablation.py --model runs/paper/sft-qwen2.5-3b/final \\
        --tasks symbench,bbh,reasoning_gym --questions-per-task 50 --rollouts 8 --steps 200 \\
        --group-size 8 --questions-per-step 32 --max-new-tokens 2048 --format-reward 0 --lr 1e-6 \\
        --mode ci --eval-split test --eval-questions-per-task 20            # GPU, paper-like

What runs (same starting model, seed, steps, questions per step and group size in both arms):
1. the RL question pool (training tasks) and a held-out set: fresh questions of the same tasks
   (`--eval-split train`, default) or the held-out test tasks (`--eval-split test`, the paper's setting);
2. the start model's held-out score;
3. pass-rate estimates of the pool with K rollouts of the start model (the curriculum's input; its
   rollouts are reported, since the uniform arm does not spend them);
4. GRPO with uniform sampling over the pool, and GRPO walking the 4-stage improvement-potential
   curriculum (steps split evenly over the stages); each final model's held-out score.
"accuracy" is the verifier's (reward 1); "reward" adds the format term when --format-reward > 0,
which is what moves on CPU with a 135M model. Results also go to OUT/results.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from r1ci.rollout.engine import run_rollouts
from r1ci.rollout.protocol import RolloutConfig
from r1ci.tasks.base import Question
from r1ci.train.curriculum import CurriculumConfig
from r1ci.train.estimate import estimate_pass_rates, training_questions
from r1ci.train.grpo import train_grpo
from r1ci.train.grpo_batch import trajectory_reward
from r1ci.train.grpo_config import (
    DataSettings,
    GenerationSettings,
    GRPOConfig,
    GRPOSettings,
    OptimSettings,
    TrainSettings,
)
from r1ci.train.metric_sinks import LoggingConfig, read_metrics

console = Console(width=140)


def evaluate(model: str, questions: list[Question], rollout: RolloutConfig, format_reward: float,
             samples: int, seed: int) -> dict[str, float]:
    from r1ci.rollout.backends.hf import HFBackend

    backend = HFBackend.load(model)
    trajs = run_rollouts(backend, questions, rollout, samples_per_question=samples, seed=seed, progress=False)
    n = len(trajs)
    return {
        "accuracy": sum((t.reward or 0.0) >= 1.0 for t in trajs) / n,
        "reward": sum(trajectory_reward(t, format_reward) for t in trajs) / n,
        "answer_rate": sum(t.extracted_answer is not None for t in trajs) / n,
        "code_use_rate": sum(t.num_code_turns > 0 for t in trajs) / n,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--tasks", default="number_multiply,products", help="comma-separated task or suite names")
    ap.add_argument("--difficulty", type=int, default=1)
    ap.add_argument("--questions-per-task", type=int, default=8)
    ap.add_argument("--eval-split", choices=("train", "test"), default="train")
    ap.add_argument("--eval-questions-per-task", type=int, default=8)
    ap.add_argument("--eval-samples", type=int, default=2, help="samples per held-out question (temperature 1)")
    ap.add_argument("--rollouts", type=int, default=4, help="K for the pass-rate estimate")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--stages", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--questions-per-step", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=40)
    ap.add_argument("--mode", choices=("ci", "text"), default="text",
                    help="text by default: the raw 135M model never follows the code protocol (configs/rl/demo_text.yaml)")
    ap.add_argument("--format-reward", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench/curriculum_ablation")
    args = ap.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = [t for t in args.tasks.split(",") if t]
    rollout = RolloutConfig(mode=args.mode, temperature=1.0, max_new_tokens=args.max_new_tokens,
                            max_tokens_per_turn=args.max_new_tokens, max_code_turns=2 if args.mode == "ci" else 0,
                            max_output_chars=300, exec_timeout_s=5)
    pool = training_questions(tasks, "train", args.questions_per_task, args.seed, difficulty=args.difficulty)
    if args.eval_split == "train":
        held_out = training_questions(tasks, "train", args.eval_questions_per_task, args.seed + 1,
                                      difficulty=args.difficulty)
    else:
        held_out = training_questions(None, "test", args.eval_questions_per_task, args.seed + 1,
                                      allow_test=True, difficulty=args.difficulty)
    console.print(f"pool {len(pool)} questions ({', '.join(tasks)}), held-out {len(held_out)} "
                  f"({args.eval_split} split), {args.steps} steps x {args.questions_per_step} questions x "
                  f"{args.group_size} samples per arm")
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    start = evaluate(args.model, held_out, rollout, args.format_reward, args.eval_samples, args.seed)
    timings["eval_start"] = time.perf_counter() - t0

    from r1ci.rollout.backends.hf import HFBackend

    est_path = out / "estimates.jsonl"
    est_path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    estimates = estimate_pass_rates(HFBackend.load(args.model), pool, rollouts=args.rollouts, rollout_cfg=rollout,
                                    out=est_path, seed=args.seed, progress=False, format_reward=args.format_reward)
    timings["estimate"] = time.perf_counter() - t0
    informative = sum(0.0 < e.pass_rate < 1.0 for e in estimates)

    results: dict[str, Any] = {"start": start}
    steps_per_stage = max(1, args.steps // args.stages)
    for arm in ("uniform", "curriculum"):
        curriculum = CurriculumConfig(
            estimates=str(est_path) if arm == "curriculum" else None, num_stages=args.stages,
            steps_per_stage=steps_per_stage,
        )
        cfg = GRPOConfig(
            model=args.model, out=str(out / arm), seed=args.seed,
            data=DataSettings(tasks=tasks, questions_per_task=args.questions_per_task, seed=args.seed,
                              difficulty=args.difficulty),
            rollout=rollout,
            grpo=GRPOSettings(group_size=args.group_size, questions_per_step=args.questions_per_step,
                              format_reward=args.format_reward, micro_batch_size=8),
            optim=OptimSettings(lr=args.lr),
            generation=GenerationSettings(batch_size=args.group_size * args.questions_per_step),
            curriculum=curriculum,
            train=TrainSettings(max_steps=args.steps, save_every=None, keep_checkpoints=1),
            logging=LoggingConfig(report_to="none"),
        )
        t0 = time.perf_counter()
        final = train_grpo(cfg, questions=pool)
        timings[f"train_{arm}"] = time.perf_counter() - t0
        rows = read_metrics(out / arm)
        t0 = time.perf_counter()
        results[arm] = evaluate(str(final), held_out, rollout, args.format_reward, args.eval_samples, args.seed)
        timings[f"eval_{arm}"] = time.perf_counter() - t0
        results[arm]["train_reward_first"] = rows[0]["reward"]
        results[arm]["train_reward_last"] = rows[-1]["reward"]
        results[arm]["zero_variance_frac"] = sum(r["zero_variance_frac"] for r in rows) / len(rows)

    table = Table(title="GRPO: curriculum vs uniform sampling (same steps, batch, seed)")
    for col in ("arm", "held-out accuracy", "gain", "held-out reward", "gain", "zero-var groups (train)",
                "train reward first->last"):
        table.add_column(col, justify="left" if col == "arm" else "right")
    table.add_row("start", f"{start['accuracy']:.3f}", "-", f"{start['reward']:.3f}", "-", "-", "-")
    for arm in ("uniform", "curriculum"):
        r = results[arm]
        table.add_row(arm, f"{r['accuracy']:.3f}", f"{r['accuracy'] - start['accuracy']:+.3f}",
                      f"{r['reward']:.3f}", f"{r['reward'] - start['reward']:+.3f}",
                      f"{r['zero_variance_frac']:.2f}",
                      f"{r['train_reward_first']:.3f} -> {r['train_reward_last']:.3f}")
    console.print(table)
    console.print(f"curriculum estimate: {len(estimates)} questions x {args.rollouts} rollouts "
                  f"({informative} with 0 < p < 1); times (s): "
                  + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    results.update({"timings_s": timings, "args": vars(args), "estimate_rollouts": len(estimates) * args.rollouts,
                    "informative_questions": informative})
    (out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
