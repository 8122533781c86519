"""Multi-turn code-interpreter rollouts vs single-turn generation, and the hf vs vllm backends.

    .venv/bin/python benchmarks/rollout_bench.py [--batch 8] [--turns 3] [--natural]
    .venv/bin/python benchmarks/rollout_bench.py --backends hf,vllm [--temperature 0]

--backends: the demo's own rollouts (configs/demo.yaml: its tasks, its RL rollout settings, its
group size) through the r1ci engine and the local sandbox on each backend in turn, in this one run:
model tokens per second of rollout wall time (engine start-up excluded, shown apart). hf runs at
the engine's CPU batch (8, or --batch); vllm takes every rollout at once. With --temperature 0 both
generate the same greedy ids, so both rows do exactly the same work.

Rows (same model, same prompts, same batch size, one process, run back to back):
- single-turn: plain `model.generate` of exactly L new tokens per sequence, where L is the mean
  number of model tokens per multi-turn rollout (the same amount of generated text, in one go).
- multi-turn: `run_rollouts` through the r1ci engine with the local sandbox. To get a fixed,
  realistic multi-turn shape from a 135M model, the words are forced by a logits hook (each rollout
  writes `--turns` code blocks running a prime sieve, then answers from the last output); every
  forward pass is the real model's. The hook's own cost counts against the multi-turn row.
- (--natural) multi-turn on task-like prompts with the model's own greedy words (shape varies).

Throughput counts model-generated tokens only (interpreter tokens are prefilled, not generated).
"Sandbox wait" is the share of wall time the loop sat blocked on executions after generation
(executions start the moment a sequence's code block closes, overlapping the rest of the batch).
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from r1ci.rollout import RolloutConfig, RolloutEngine
from r1ci.rollout.backends.hf import HFBackend
from r1ci.rollout.tokenize import encode_prompt, encode_text, end_of_turn_ids
from r1ci.tasks.answers import extract_answer
from r1ci.tasks.base import Grade, Question

console = Console(width=150)


def sieve_turn(step: int, n: int) -> str:
    return (
        f"Step {step}: count the primes below {n} with a sieve.\n```python\nN = {n}\n"
        "sieve = [True] * N\nsieve[0] = sieve[1] = False\nfor i in range(2, int(N ** 0.5) + 1):\n"
        "    if sieve[i]:\n        sieve[i * i :: i] = [False] * len(sieve[i * i :: i])\n"
        "print(sum(sieve))\n```\n"
    )


def make_script(turns: int) -> Callable[[str, int], str]:
    def script(context: str, turn: int) -> str:
        i = int(re.findall(r"Question (\d+):", context)[-1])
        if turn < turns:
            return sieve_turn(turn, 10_000 * (i + turn + 1))
        outputs = re.findall(r"```output\n(.*?)\n```", context, re.DOTALL)
        return f"The sieve printed {outputs[-1].strip()}, so that is the count. <<<{outputs[-1].strip()}>>>"

    return script


class Forcing:
    """Writes a script through the logits of the real model (benchmark only): every forward pass is
    the real model's, only the next-token choice is steered. `generate` is wrapped to see each row's
    full context (with a reused KV cache, forward passes only see the uncached tail)."""

    def __init__(self, model: Any, tokenizer: Any, script: Callable[[str, int], str]) -> None:
        self.model, self.tok, self.script = model, tokenizer, script
        self.eot = end_of_turn_ids(tokenizer)
        self.targets: list[list[int]] = []
        self.k: list[int] = []
        self.first = True

    def __enter__(self) -> Forcing:
        original = self.model.generate

        def generate(*args: Any, input_ids: Any, attention_mask: Any, **kwargs: Any) -> Any:
            self.targets, self.first = [], True
            for row, m in zip(input_ids.tolist(), attention_mask.tolist(), strict=True):
                text = self.tok.decode([t for t, keep in zip(row, m, strict=True) if keep])
                turn = text.rsplit("<|im_start|>assistant\n", 1)[-1].count("Code Execution Results:")
                self.targets.append(encode_text(self.tok, self.script(text, turn)) + self.eot)
            return original(*args, input_ids=input_ids, attention_mask=attention_mask, **kwargs)

        self.model.generate = generate
        self.handle = self.model.register_forward_hook(self.hook)
        return self

    def __exit__(self, *exc: Any) -> None:
        del self.model.generate  # back to the class method
        self.handle.remove()

    def hook(self, module: Any, args: Any, output: Any) -> Any:
        self.k = [0] * len(self.targets) if self.first else [k + 1 for k in self.k]
        self.first = False
        for b, (target, k) in enumerate(zip(self.targets, self.k, strict=True)):
            output.logits[b, -1, target[min(k, len(target) - 1)]] += 100.0
        return output


def grade(question: Question, text: str) -> Grade:
    got = extract_answer(text)
    return Grade(float(got == question.answer), "bench", got)


def run_multi(backend: HFBackend, questions: list[Question], cfg: RolloutConfig, batch: int,
              executor: Any) -> dict[str, Any]:
    engine = RolloutEngine(backend, cfg, executor=executor, grader=grade, batch_size=batch)
    trajs = engine.run(questions, progress=False)
    s = engine.stats
    return {
        "tokens": s.model_tokens, "wall": s.wall_s, "sandbox": s.sandbox_share, "exec_s": s.exec_s,
        "turns": statistics.mean(t.num_code_turns for t in trajs), "trajs": trajs,
        "reward": statistics.mean(t.reward or 0.0 for t in trajs),
    }


def run_single(backend: HFBackend, prompts: list[list[int]], new_tokens: int, batch: int) -> dict[str, Any]:
    import torch

    model, pad = backend.model, backend.pad_id
    total, start = 0, time.perf_counter()
    for b in range(0, len(prompts), batch):
        chunk = prompts[b : b + batch]
        width = max(map(len, chunk))
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in chunk], device=model.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk], device=model.device)
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False, pad_token_id=pad)
        total += (out.shape[1] - width) * len(chunk)
    return {"tokens": total, "wall": time.perf_counter() - start}


def demo_rollouts(recipe: Path, per_task: int) -> tuple[list[Question], RolloutConfig, int]:
    """The demo's RL rollouts: its tasks (train-seed questions), rollout settings and group size."""
    import yaml

    from r1ci import tasks

    demo = yaml.safe_load(recipe.read_text())
    questions = [q for name in demo["tasks"] for q in tasks.get(name).questions(per_task, seed=demo["rl_seed"])]
    rl = demo["rl"]
    return questions, RolloutConfig(**rl["rollout"]), int(rl["grpo"]["group_size"])


def _options(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs, values parsed as YAML (so `enforce_eager=true` is a bool)."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--vllm-option takes key=value, got {pair!r}")
        out[key] = yaml.safe_load(value)
    return out


def compare_backends(args: argparse.Namespace) -> None:
    from r1ci.rollout.backends import get_backend
    from r1ci.sandbox import get_executor

    questions, cfg, group = demo_rollouts(Path(args.recipe), args.per_task)
    if args.temperature is not None:
        cfg = cfg.model_copy(update={"temperature": args.temperature})
    executor = get_executor(args.sandbox)
    rows: dict[str, dict[str, Any]] = {}
    try:
        executor.run_many(["print(1)"], timeout_s=5, memory_mb=256, max_output_bytes=1024)
        for name in args.backends.split(","):
            t0 = time.perf_counter()
            backend = get_backend(name, args.model, **(_options(args.vllm_option) if name == "vllm" else {}))
            start_s = time.perf_counter() - t0
            batch = args.batch if name == "hf" else None
            warm = RolloutConfig(mode="text", max_new_tokens=8, max_tokens_per_turn=8)
            RolloutEngine(backend, warm, grader=grade, batch_size=batch).run(questions[:2], progress=False)
            engine = RolloutEngine(backend, cfg, executor=executor, batch_size=batch)
            trajs = engine.run(questions, samples_per_question=group, seed=args.seed, progress=False)
            rows[name] = {"stats": engine.stats, "start_s": start_s, "trajs": trajs,
                          "batch": engine.batch_size}
            backend.close()
    finally:
        executor.close()
    table = Table(title=f"demo rollouts · {args.model} · {len(questions)} questions x {group} samples · "
                  f"temperature {cfg.temperature} · max {cfg.max_new_tokens} tokens ({cfg.max_tokens_per_turn}/turn)")
    for col in ("backend", "batch", "start-up s", "model tokens", "rollout wall s", "tokens/s", "vs hf",
                "code turns/rollout", "reward", "sandbox wait"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    base = rows["hf"]["stats"].model_tokens / rows["hf"]["stats"].wall_s if "hf" in rows else None
    for name, r in rows.items():
        st = r["stats"]
        tps = st.model_tokens / st.wall_s
        trajs = r["trajs"]
        table.add_row(name, str(r["batch"]), f"{r['start_s']:.0f}", str(st.model_tokens), f"{st.wall_s:.1f}",
                      f"{tps:.1f}", f"{tps / base:.2f}x" if base else "-",
                      f"{statistics.mean(t.num_code_turns for t in trajs):.2f}",
                      f"{statistics.mean(t.reward or 0.0 for t in trajs):.2f}", f"{100 * st.sandbox_share:.1f}%")
    console.print(table)
    if cfg.temperature == 0 and {"hf", "vllm"} <= set(rows):
        same = sum(a.completion_ids == b.completion_ids for a, b in zip(rows["hf"]["trajs"], rows["vllm"]["trajs"],
                                                                          strict=True))
        console.print(f"greedy ids identical on {same}/{len(rows['hf']['trajs'])} rollouts")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--questions", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--turns", type=int, default=3, help="code turns per scripted rollout")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--sandbox", default="local", help="executor spec for r1ci.sandbox.get_executor")
    ap.add_argument("--natural", action="store_true", help="also run the model's own words on task prompts")
    ap.add_argument("--repeats", type=int, default=1,
                    help="alternate single/multi runs this many times and keep each one's best (shared CPUs are noisy)")
    ap.add_argument("--backends", default=None, help="compare backends on the demo's rollouts, e.g. hf,vllm")
    ap.add_argument("--recipe", default=str(Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"))
    ap.add_argument("--vllm-option", action="append", default=[],
                    help="--backends: a vllm.LLM option as key=value, e.g. enforce_eager=true (repeatable)")
    ap.add_argument("--per-task", type=int, default=2, help="--backends: questions per demo task")
    ap.add_argument("--temperature", type=float, default=None, help="--backends: override the demo's temperature")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.backends:
        compare_backends(args)
        return

    import torch

    from r1ci.sandbox import get_executor

    if args.threads:
        torch.set_num_threads(args.threads)
    backend = HFBackend.load(args.model)
    tok = backend.tokenizer
    cfg = RolloutConfig(max_code_turns=args.turns, max_new_tokens=2048, max_tokens_per_turn=512)
    questions = [Question(f"bench/{i}", "bench", f"Question {i}: how many primes are there below "
                          f"{10_000 * (i + args.turns)}? Use Python.", None) for i in range(args.questions)]
    executor = get_executor(args.sandbox)
    try:
        # Warm-up (first-call allocations, sandbox start) so neither row pays it.
        backend.model.generate(input_ids=torch.tensor([[1, 2, 3]]), max_new_tokens=4, pad_token_id=backend.pad_id)
        executor.run_many(["print(1)"], timeout_s=5, memory_mb=256, max_output_bytes=1024)

        multi: dict[str, Any] | None = None
        single: dict[str, Any] | None = None
        for _ in range(args.repeats):
            with Forcing(backend.model, tok, make_script(args.turns)):
                m = run_multi(backend, questions, cfg, args.batch, executor)
            per_seq = round(m["tokens"] / len(questions))
            prompts = [encode_prompt(tok, t.messages) for t in m["trajs"]]
            s = run_single(backend, prompts, per_seq, args.batch)
            multi = m if multi is None or m["wall"] < multi["wall"] else multi
            single = s if single is None or s["wall"] < single["wall"] else single
        assert multi is not None and single is not None
        natural = None
        if args.natural:
            nat_cfg = RolloutConfig(max_code_turns=args.turns, max_new_tokens=per_seq * 2, max_tokens_per_turn=per_seq)
            natural = run_multi(backend, questions, nat_cfg, args.batch, executor)
    finally:
        executor.close()

    table = Table(title=f"rollout throughput · {args.model} · batch {args.batch} · {torch.get_num_threads()} threads"
                  f" · {'cuda' if torch.cuda.is_available() else 'cpu'}")
    for col in ("mode", "model tokens", "wall s", "tokens/s", "vs single", "code turns/rollout", "sandbox wait"):
        table.add_column(col, justify="right" if col != "mode" else "left")
    base = single["tokens"] / single["wall"]
    table.add_row("single-turn (model.generate)", str(single["tokens"]), f"{single['wall']:.1f}", f"{base:.1f}",
                  "1.00x", "-", "-")
    rows = [("multi-turn (r1ci engine, scripted words)", multi)]
    if natural is not None:
        rows.append(("multi-turn (r1ci engine, model's words)", natural))
    for name, r in rows:
        tps = r["tokens"] / r["wall"]
        table.add_row(name, str(r["tokens"]), f"{r['wall']:.1f}", f"{tps:.1f}", f"{tps / base:.2f}x",
                      f"{r['turns']:.2f}", f"{100 * r['sandbox']:.1f}% ({r['exec_s']:.2f} s exec)")
    console.print(table)


if __name__ == "__main__":
    main()
