"""One GRPO step, r1ci vs TRL's `GRPOTrainer`: same model, batch, completion length and loss settings.

    .venv/bin/python benchmarks/grpo_step_bench.py [--questions 4 --group 8 --length 64 --steps 3]
    .venv/bin/python benchmarks/grpo_step_bench.py --arch smollm2 --length 256    # SmolLM2-135M shape

Needs TRL (benchmark-only dependency): `pip install 'r1ci[bench]'`.

Both sides: a randomly initialised Llama with SmolLM2's tokenizer and chat template (random weights
almost never sample an end-of-turn token, so every completion runs to exactly `--length` tokens on
both sides: equal work), the same chat prompts (system + user), Q questions x G samples per step at
temperature 1, one optimizer step per batch (mu = 1), beta 0, clip 0.2/0.28, token-level loss
(TRL `loss_type="dapo"`), one micro-batch, AdamW at the same lr, reward = completion length parity.
r1ci runs its own loop (`train_grpo`: multi-turn engine in text mode, masks, metrics); TRL runs
`GRPOTrainer.train()`. Times are per optimizer step (generation + reward + loss + backward + step),
median over `--steps` after one warm-up step, on whatever device both pick (CPU here; CUDA if present).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(width=140)

ARCHS: dict[str, dict[str, int]] = {
    # hidden, intermediate, layers, heads, kv heads
    "small": {"hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 4, "num_attention_heads": 4,
              "num_key_value_heads": 2},
    "smollm2": {"hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
                "num_key_value_heads": 3},
}


def make_model(arch: str, folder: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from r1ci.models import resolve_model_path

    tok = AutoTokenizer.from_pretrained(resolve_model_path("default"))
    cfg = LlamaConfig(vocab_size=len(tok), max_position_embeddings=2048, bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, tie_word_embeddings=True, **ARCHS[arch])
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def prompts(n: int) -> list[str]:
    return [f"Compute {17 + i} * {23 + 2 * i} and explain each step. Output the final answer as <<<answer>>>."
            for i in range(n)]


def run_r1ci(model: Path, args: argparse.Namespace, out: Path) -> dict[str, float]:
    from r1ci.rollout.protocol import RolloutConfig
    from r1ci.tasks.base import Grade, Question
    from r1ci.train.grpo import train_grpo
    from r1ci.train.grpo_config import (
        GenerationSettings,
        GRPOConfig,
        GRPOSettings,
        OptimSettings,
        TrainSettings,
    )
    from r1ci.train.metric_sinks import LoggingConfig, read_metrics

    qs = [Question(id=f"bench/{i}", task="bench", prompt=p, answer=None) for i, p in enumerate(prompts(args.questions))]
    cfg = GRPOConfig(
        model=str(model), out=str(out), seed=0,
        rollout=RolloutConfig(mode="text", temperature=1.0, max_new_tokens=args.length,
                              max_tokens_per_turn=args.length, stop_at_answer=False),
        grpo=GRPOSettings(group_size=args.group, questions_per_step=args.questions, beta=0.0, epsilon_low=0.2,
                          epsilon_high=0.28, loss_aggregation="token", micro_batch_size=args.questions * args.group),
        optim=OptimSettings(lr=1e-6, max_grad_norm=1.0),
        generation=GenerationSettings(batch_size=args.questions * args.group),
        train=TrainSettings(max_steps=args.steps + 1, save_every=None),
        logging=LoggingConfig(report_to="none"),
    )
    train_grpo(cfg, questions=qs, grader=lambda q, text: Grade(float(len(text) % 2), "parity"))
    rows = read_metrics(out)[1:]  # drop the warm-up step
    return {
        "step_s": statistics.median(r["time_step"] for r in rows),
        "generation_s": statistics.median(r["time_rollout"] for r in rows),
        "training_s": statistics.median(r["time_training"] for r in rows),
        "completion_tokens": statistics.mean(r["response_length"] for r in rows),
    }


def run_trl(model: Path, args: argparse.Namespace, out: Path) -> dict[str, float]:
    if importlib.util.find_spec("trl") is None:
        raise SystemExit("TRL is not installed: pip install 'r1ci[bench]'  (or: pip install trl)")
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from r1ci.rollout.protocol import RolloutConfig, build_messages

    rcfg = RolloutConfig(mode="text")
    data = Dataset.from_list([{"prompt": build_messages(p, rcfg)} for p in prompts(args.questions)])
    lengths: list[float] = []

    def parity(completions: list[Any], **_: Any) -> list[float]:
        texts = [c[0]["content"] if isinstance(c, list) else c for c in completions]
        return [float(len(t) % 2) for t in texts]

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self._t = 0.0

        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self._t = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            self.times.append(time.perf_counter() - self._t)

        def on_log(self, *a: Any, logs: dict[str, float] | None = None, **k: Any) -> None:
            if logs and "completions/mean_length" in logs:
                lengths.append(logs["completions/mean_length"])

    import torch

    cuda = torch.cuda.is_available()
    targs = GRPOConfig(
        output_dir=str(out), per_device_train_batch_size=args.questions * args.group, num_generations=args.group,
        gradient_accumulation_steps=1, max_completion_length=args.length, temperature=1.0, top_p=1.0, top_k=0,
        learning_rate=1e-6, beta=0.0, epsilon=0.2, epsilon_high=0.28, loss_type="dapo", num_iterations=1,
        scale_rewards="group", max_steps=args.steps + 1, logging_steps=1, save_strategy="no", report_to=[],
        use_cpu=not cuda, bf16=False, max_grad_norm=1.0, disable_dropout=True, seed=0,
        lr_scheduler_type="constant", warmup_steps=0, dataloader_num_workers=0,
    )
    timer = StepTimer()
    policy = AutoModelForCausalLM.from_pretrained(model)
    tok = AutoTokenizer.from_pretrained(model)
    trainer = GRPOTrainer(model=policy, reward_funcs=parity, args=targs, train_dataset=data, processing_class=tok,
                          callbacks=[timer])
    trainer.train()
    return {"step_s": statistics.median(timer.times[1:]), "generation_s": float("nan"),
            "training_s": float("nan"), "completion_tokens": statistics.mean(lengths[1:]) if lengths[1:] else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=sorted(ARCHS), default="small")
    ap.add_argument("--questions", type=int, default=4)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3, help="timed steps (after one warm-up step)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = make_model(args.arch, Path(tmp) / "model")
        ours = run_r1ci(model, args, Path(tmp) / "r1ci")
        theirs = run_trl(model, args, Path(tmp) / "trl")
    table = Table(title=f"One GRPO step: {args.questions} questions x {args.group} samples x {args.length} tokens, "
                        f"arch {args.arch} (median of {args.steps})")
    for col in ("implementation", "step (s)", "generation (s)", "training (s)", "completion tokens"):
        table.add_column(col, justify="left" if col == "implementation" else "right")
    for name, r in (("r1ci train_grpo", ours), ("TRL GRPOTrainer", theirs)):
        table.add_row(name, f"{r['step_s']:.2f}", f"{r['generation_s']:.2f}", f"{r['training_s']:.2f}",
                      f"{r['completion_tokens']:.1f}")
    console.print(table)
    console.print(f"r1ci / TRL step time: {ours['step_s'] / theirs['step_s']:.2f}x")


if __name__ == "__main__":
    main()
