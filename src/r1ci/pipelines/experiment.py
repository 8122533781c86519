"""`r1ci experiment`: does GRPO teach the SFT model something outside the noise, and does the curriculum help?

One SFT start, several RL arms with the same budget, one fresh evaluation set shared by every arm, and
paired statistics over it. Stages (each resumable: a stage is done when `OUT/<stage>/DONE` exists, and
an interrupted stage continues from what it left on disk):

    synth, sft        the one SFT start every arm shares (scripted reference teacher, masked SFT)
    pilot             sampled pass rates of the SFT model on candidate (task, difficulty) pairs; the
                      pairs whose mean pass rate lies in the mid-range band are kept (GRPO gets no
                      signal from a group that is all right or all wrong). Measured, not guessed, and
                      the same estimates are the offline curriculum's input
    train-<arm>       GRPO per RL arm: same start, seed, steps, questions per step and group size;
                      the arms differ only in how questions are drawn (`ARMS`)
    eval-<arm>        greedy evaluation of every arm (and of the SFT start, arm `sft`) on the same
                      fresh questions of the chosen tasks (a new seed, none seen in SFT or RL) and on
                      held-out test tasks
    report            outcomes.jsonl (one line per arm and question), summary.json, report.md/.html
                      with every accuracy's 95% interval, paired differences and the reward curves

The numbers a reader compares come only from `outcomes.jsonl` (`summarize_outcomes`), so anyone can
recompute them from the committed file.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from rich.console import Console
from rich.rule import Rule

from r1ci.config import StrictModel, build_config, check_resume_config, dump_config, load_yaml
from r1ci.pipelines.stages import check_stages, merged, sft_stage, synth_stage

console = Console(stderr=True)

CPU_SAMPLING: dict[str, Any] = {"temperature": 1.0, "max_new_tokens": 256, "max_tokens_per_turn": 128,
                                "stop_at_answer": True}
"""Sampled rollouts on CPU (pilot and RL): stop at the first answer and cut a rambling turn (rounds run
in lock-step, so one rambling sample holds its whole batch)."""


def curriculum_for(arm: str, estimates: Path) -> dict[str, Any]:
    """The `curriculum:` section of an RL arm (merged over the shared `rl.curriculum`)."""
    return ARMS[arm](estimates)


ARMS: dict[str, Callable[[Path], dict[str, Any]]] = {
    # every pool question equally likely, one stage: the baseline the paper's +3.4% comes from
    "uniform": lambda est: {"estimates": None},
    # the paper's multi-stage curriculum from the pilot's offline pass-rate estimates
    "curriculum": lambda est: {"estimates": str(est), "online": False},
    # beyond the paper: the same stages, re-ranked from the pass rates seen in the RL groups
    "curriculum_online": lambda est: {"estimates": str(est), "online": True},
}
"""RL arms: name -> the curriculum settings that make it (everything else is shared)."""
BASELINE = "sft"
"""The no-RL arm: the SFT start itself, evaluated like the others."""


class PilotSettings(StrictModel):
    """Where to train: measured pass rates of the SFT model on candidate tasks and difficulties."""

    tasks: list[str] = Field(default_factory=lambda: ["letter_counting", "number_multiply", "basic_arithmetic"])
    """Candidate training-split tasks (the scripted SFT teacher needs their reference programs)."""
    difficulties: list[int] = Field(default_factory=lambda: [1, 2])
    """Candidate difficulty levels (tasks without levels are measured once at their default)."""
    questions_per_candidate: int = Field(8, ge=1)
    """Questions per (task, difficulty); those of the chosen pairs become the RL pool."""
    rollouts: int = Field(4, ge=2)
    """Samples per question for the pass rate (also the offline curriculum's estimate)."""
    seed: int = 2000
    """Question seed of the pilot/RL pool (difficulty d uses seed + d, so ids never collide)."""
    band: tuple[float, float] = (0.15, 0.85)
    """Mean pass rate a (task, difficulty) must have to be trained on (mid-range: GRPO gets signal)."""
    max_tasks: int = Field(3, ge=1)
    """Keep at most this many tasks (one difficulty each), those with the highest mean potential."""
    rollout: dict[str, Any] = Field(default_factory=lambda: dict(CPU_SAMPLING))

    @field_validator("band")
    @classmethod
    def _band(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 <= v[0] < v[1] <= 1.0:
            raise ValueError(f"pilot.band must be two pass rates 0 <= lo < hi <= 1, got {list(v)}")
        return v


class EvalSettings(StrictModel):
    """The fresh evaluation set every arm is measured on (greedy, with the interpreter)."""

    questions: int = Field(300, ge=1)
    """Fresh questions in total, split evenly over the chosen tasks (rounded up)."""
    seed: int = 0
    """Question seed (difficulty d uses seed + d); questions whose prompt was an SFT or RL prompt are skipped."""
    test_tasks: list[str] = Field(default_factory=lambda: ["statistical_counting", "binary_alternation",
                                                           "bbh_boolean_expressions", "string_splitting"])
    """Held-out test-split tasks (never trained on): does anything transfer?"""
    test_questions_per_task: int = Field(10, ge=0)
    max_new_tokens: int = 200
    batch_size: int | None = 48
    """Sequences generated together (greedy: a wide batch amortises CPU forward passes)."""
    stop_at_answer: bool = True
    """Stop each sample at its first answer (the reward reads it; rambling on only costs time)."""


class ExperimentConfig(StrictModel):
    """The learning experiment (`configs/experiment_cpu.yaml`). `synth`, `sft`, `rl` are partial configs
    merged over `SynthConfig`, `SFTConfig`, `GRPOConfig`: any of their keys can be set here or with `-o`."""

    model: str = "default"
    """Base model for SFT: `default` (embedded SmolLM2-135M-Instruct), a hub id, a folder or a .gguf."""
    out: str = "runs/experiment"
    backend: Literal["auto", "hf", "vllm"] = "auto"
    """Generation backend of the evaluations; auto = vllm when installed (continuous batching and prefix
    caching: 6.6x the hf backend's tokens/s on 2 CPU cores), else hf. RL generates with
    `rl.generation.backend` (auto here: a colocated vLLM engine re-loaded after every update)."""
    pilot_backend: Literal["auto", "hf", "vllm"] = "auto"
    """Backend of the pilot's sampled rollouts (seeded sampling; auto as above)."""
    backend_options: dict[str, Any] = Field(default_factory=dict)
    """Extra options for the evaluation/pilot backend (e.g. vLLM's `max_model_len`)."""
    arms: list[str] = Field(default_factory=lambda: [BASELINE, "uniform", "curriculum", "curriculum_online"])
    """`sft` (no RL) plus RL arms from `ARMS`."""
    synth_tasks: list[str] = Field(default_factory=lambda: [
        "gcd", "lcm", "basic_arithmetic", "chain_sum", "products", "number_multiply", "count_bits",
        "letter_counting", "spell_backward", "word_sequence_reversal"])
    synth_seed: int = 1000
    rl_seed: int = 3000
    """GRPO sampling seed (the same for every arm)."""
    synth: dict[str, Any] = Field(default_factory=lambda: {"questions_per_task": 6})
    sft: dict[str, Any] = Field(default_factory=lambda: {
        "train": {"lr": 1e-4, "epochs": 1, "micro_batch_size": 1, "grad_accum": 4, "max_length": 1024,
                  "warmup_ratio": 0.1, "min_lr_ratio": 0.1, "eval_fraction": 0.1, "save_every": 10,
                  "keep_checkpoints": 1},
        "logging": {"report_to": "none"},
    })
    pilot: PilotSettings = Field(default_factory=PilotSettings)
    rl: dict[str, Any] = Field(default_factory=lambda: {
        "grpo": {"group_size": 4, "questions_per_step": 3, "micro_batch_size": 6},
        "optim": {"lr": 1e-5},
        "rollout": dict(CPU_SAMPLING),
        "curriculum": {"num_stages": 2, "steps_per_stage": 6, "reestimate_every": 3},
        "train": {"max_steps": 12, "save_every": 2, "keep_checkpoints": 1},
        "generation": {"backend": "auto"},
        "logging": {"report_to": "none"},
    })
    eval: EvalSettings = Field(default_factory=EvalSettings)

    @field_validator("arms")
    @classmethod
    def _known_arms(cls, arms: list[str]) -> list[str]:
        unknown = [a for a in arms if a != BASELINE and a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arm(s) {unknown}; choose from {[BASELINE, *ARMS]}")
        if len(set(arms)) != len(arms):
            raise ValueError(f"arms must be distinct, got {arms}")
        return arms

    @model_validator(mode="after")
    def _baseline_first(self) -> ExperimentConfig:
        if BASELINE not in self.arms:
            raise ValueError(f"arms must include {BASELINE!r}: every RL gain is measured against it")
        return self


def load_experiment_config(path: str | Path | None = None, overrides: list[str] | None = None,
                           flags: Mapping[str, Any] | None = None) -> ExperimentConfig:
    """Defaults < YAML < `-o` overrides < explicit flags; every stage's config is built once to fail early."""
    data = merged(ExperimentConfig().model_dump(mode="json"), load_yaml(path))
    cfg = build_config(ExperimentConfig, data, overrides, flags, source=path)
    _validate_stages(cfg)
    return cfg


def resolve_backend(name: str) -> str:
    """`auto` -> vllm when the package is importable (continuous batching), else the in-process hf backend."""
    if name != "auto":
        return name
    return "vllm" if importlib.util.find_spec("vllm") is not None else "hf"


# ---------------------------------------------------------------- stage configs


def _synth_config(cfg: ExperimentConfig, out: Path, resume: bool) -> Any:
    return synth_stage(tokenizer=cfg.model, tasks=cfg.synth_tasks, seed=cfg.synth_seed, out=out, resume=resume,
                       section=cfg.synth)


def _sft_config(cfg: ExperimentConfig, out: Path, synth_dir: Path, resume: bool) -> Any:
    return sft_stage(model=cfg.model, data=synth_dir, out=out, resume=resume, section=cfg.sft)


def _rl_config(cfg: ExperimentConfig, arm: str, out: Path, model: Path, estimates: Path, resume: bool) -> Any:
    from r1ci.train.grpo_config import GRPOConfig

    data = merged({"model": str(model), "out": str(out), "resume": resume, "seed": cfg.rl_seed}, cfg.rl)
    data["curriculum"] = merged(data.get("curriculum", {}), curriculum_for(arm, estimates))
    return GRPOConfig.model_validate(data)


def _eval_config(cfg: ExperimentConfig, model: str, tasks: list[str], out: Path, resume: bool) -> Any:
    from r1ci.eval.runner import EvalConfig

    return EvalConfig.model_validate({
        "model": model, "backend": resolve_backend(cfg.backend), "backend_options": cfg.backend_options,
        "suite": "all", "tasks": tasks, "seed": cfg.eval.seed, "batch_size": cfg.eval.batch_size,
        "rollout": {"mode": "ci", "temperature": 0.0, "max_new_tokens": cfg.eval.max_new_tokens,
                    "stop_at_answer": cfg.eval.stop_at_answer},
        "out": str(out), "resume": resume, "progress": False,
    })


def _validate_stages(cfg: ExperimentConfig) -> None:
    """Build every stage's config now, so a bad key (`-o rl.optim.lrr=1`) fails before hours of work."""
    from r1ci.train.grpo_config import GRPOConfig
    from r1ci.train.sft import SFTConfig
    from r1ci.train.synth import SynthConfig

    out = Path(cfg.out)
    checks: list[tuple[str, type, Callable[[], Any]]] = [
        ("synth.", SynthConfig, lambda: _synth_config(cfg, out / "synth", False)),
        ("sft.", SFTConfig, lambda: _sft_config(cfg, out / "sft", out / "synth", False)),
        *((f"rl ({arm}): rl.", GRPOConfig,
           (lambda a=arm: _rl_config(cfg, a, out / f"train-{a}", out / "sft" / "final", out / "x.jsonl", False)))
          for arm in cfg.arms if arm != BASELINE),
    ]
    check_stages(checks, "ExperimentConfig")
    from r1ci import tasks as registry

    for name in [*cfg.pilot.tasks, *cfg.eval.test_tasks]:
        registry.get(name)  # a typo fails now, listing the known tasks


# ---------------------------------------------------------------- pilot: where is the SFT model mid-range?


def candidate_questions(pilot: PilotSettings) -> dict[tuple[str, int | None], list[Any]]:
    """(task, difficulty) -> its pilot questions (seed + difficulty keeps ids of two levels apart)."""
    from r1ci import tasks as registry

    out: dict[tuple[str, int | None], list[Any]] = {}
    for name in pilot.tasks:
        task = registry.get(name)
        levels: list[int | None] = [d for d in pilot.difficulties if d in task.difficulties] if task.difficulties \
            else [None]
        for level in levels:
            out[(name, level)] = task.questions(pilot.questions_per_candidate, seed=pilot.seed + (level or 0),
                                                difficulty=level)
    return out


def select_candidates(rates: Mapping[tuple[str, int | None], Sequence[float]], pilot: PilotSettings) -> dict[str, Any]:
    """Pick the training (task, difficulty) pairs from measured per-question pass rates.

    A pair qualifies when its mean pass rate lies in `pilot.band`; per task the level with the highest
    mean potential p(1 − p) is kept (it is the expected reward variance of a group, i.e. GRPO's signal),
    and the `max_tasks` tasks with the most potential win. Returns the table and the choice.
    """
    from r1ci.train.curriculum import potential

    table = []
    for (task, level), ps in sorted(rates.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        mean = sum(ps) / len(ps)
        pot = sum(potential(p) for p in ps) / len(ps)
        table.append({"task": task, "difficulty": level, "questions": len(ps), "pass_rate": mean,
                      "mean_potential": pot, "informative": sum(0.0 < p < 1.0 for p in ps),
                      "in_band": pilot.band[0] <= mean <= pilot.band[1]})
    best: dict[str, dict[str, Any]] = {}
    for row in table:
        if row["in_band"] and (row["task"] not in best or row["mean_potential"] > best[row["task"]]["mean_potential"]):
            best[row["task"]] = row
    chosen = sorted(best.values(), key=lambda r: -r["mean_potential"])[: pilot.max_tasks]
    if not chosen:
        lines = "\n".join(f"  {r['task']} d={r['difficulty']}: pass rate {r['pass_rate']:.2f}" for r in table)
        raise RuntimeError(
            f"no candidate has a mean pass rate in the band {list(pilot.band)}:\n{lines}\n"
            "Add candidate tasks/difficulties (-o pilot.tasks=[...], -o pilot.difficulties=[...]) or widen "
            "pilot.band; then --resume reuses the measured ones."
        )
    return {"band": list(pilot.band), "table": table,
            "chosen": [{"task": r["task"], "difficulty": r["difficulty"]} for r in chosen]}


def run_pilot(cfg: ExperimentConfig, out: Path, sft_model: Path) -> dict[str, Any]:
    """Estimate pass rates of every candidate (resumable), choose the mid-range ones, write the RL pool."""
    from r1ci.rollout import RolloutConfig, get_backend
    from r1ci.train.curriculum import write_estimates
    from r1ci.train.estimate import estimate_pass_rates

    out.mkdir(parents=True, exist_ok=True)
    candidates = candidate_questions(cfg.pilot)
    questions = [q for qs in candidates.values() for q in qs]
    rollout = RolloutConfig.model_validate({"mode": "ci", **cfg.pilot.rollout})
    name = resolve_backend(cfg.pilot_backend)
    backend = get_backend(name, model=str(sft_model), **(cfg.backend_options if name == resolve_backend(cfg.backend)
                                                         else {}))
    try:
        estimates = estimate_pass_rates(backend, questions, rollouts=cfg.pilot.rollouts, rollout_cfg=rollout,
                                        out=out / "estimates.jsonl", seed=cfg.pilot.seed, progress=False)
    finally:
        backend.close()
    by_id = {e.id: e for e in estimates}
    rates = {key: [by_id[q.id].pass_rate for q in qs] for key, qs in candidates.items()}
    selection = select_candidates(rates, cfg.pilot)
    chosen = {(c["task"], c["difficulty"]) for c in selection["chosen"]}
    pool = [by_id[q.id] for key, qs in candidates.items() if key in chosen for q in qs]
    write_estimates(out / "pool_estimates.jsonl", pool)
    selection["pool_questions"] = len(pool)
    selection["pool_informative"] = sum(0.0 < e.pass_rate < 1.0 for e in pool)
    selection["estimate_rollouts"] = len(questions) * cfg.pilot.rollouts
    (out / "selection.json").write_text(json.dumps(selection, indent=2) + "\n")
    return selection


# ---------------------------------------------------------------- the evaluation sets


def _prompts_seen(out: Path) -> set[str]:
    """Prompts of every SFT trajectory and RL pool question (an eval question must be none of them)."""
    from r1ci.jsonl import read_records
    from r1ci.train.curriculum import read_estimates

    seen = {str(r.get("prompt")) for r in read_records(out / "synth" / "sft.jsonl", missing_ok=True)}
    seen |= {e.question.prompt for e in read_estimates(out / "pilot" / "estimates.jsonl")}
    return seen


def eval_sets(cfg: ExperimentConfig, out: Path) -> dict[str, list[Any]]:
    """`fresh`: new questions of the chosen (task, difficulty) pairs; `heldout`: the test tasks."""
    from r1ci import tasks as registry

    chosen = json.loads((out / "pilot" / "selection.json").read_text())["chosen"]
    seen = _prompts_seen(out)
    per_task = math.ceil(cfg.eval.questions / len(chosen))
    fresh: list[Any] = []
    for c in chosen:
        task, level = registry.get(c["task"]), c["difficulty"]
        # generate extra so that dropping repeats of training prompts still leaves `per_task`
        pool = task.questions(per_task * 2 + 20, seed=cfg.eval.seed + (level or 0), difficulty=level)
        unseen = [q for q in pool if q.prompt not in seen]
        fresh += unseen[:per_task]
    heldout = [q for name in cfg.eval.test_tasks
               for q in registry.get(name).questions(cfg.eval.test_questions_per_task, seed=cfg.eval.seed)]
    return {"fresh": fresh, "heldout": heldout} if heldout else {"fresh": fresh}


# ---------------------------------------------------------------- outcomes and their statistics


def outcome_rows(arm: str, eval_set: str, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One line per question: reward 1 when fully correct, else 0 (greedy: one sample per question)."""
    from r1ci.eval.metrics import is_correct

    return [{"arm": arm, "eval_set": eval_set, "question_id": str(r["question_id"]), "task": str(r["task"]),
             "reward": int(is_correct(float(r.get("reward") or 0.0)))} for r in records]


def summarize_outcomes(rows: Sequence[Mapping[str, Any]], baseline: str = BASELINE) -> dict[str, Any]:
    """Accuracy with Wilson interval per arm and eval set; paired Δ vs the baseline and curriculum vs uniform.

    A pure function of the outcome rows (bootstrap seed 0), so a committed summary can be recomputed.
    """
    from r1ci.eval.stats import paired_difference, wilson_interval

    by: dict[tuple[str, str], dict[str, tuple[str, float]]] = defaultdict(dict)
    for r in rows:
        by[(str(r["arm"]), str(r.get("eval_set", "fresh")))][str(r["question_id"])] = (str(r["task"]), float(r["reward"]))
    arms = list(dict.fromkeys(str(r["arm"]) for r in rows))
    sets = list(dict.fromkeys(str(r.get("eval_set", "fresh")) for r in rows))
    out: dict[str, Any] = {"arms": {}, "vs_baseline": {}, "vs_uniform": {}, "baseline": baseline}
    for arm in arms:
        out["arms"][arm] = {}
        for s in sets:
            o = by.get((arm, s), {})
            if o:
                correct = sum(v for _, v in o.values())
                out["arms"][arm][s] = {"questions": len(o), "correct": correct, "accuracy": correct / len(o),
                                       "ci": list(wilson_interval(correct, len(o)))}

    def pair(a: str, b: str) -> dict[str, Any]:
        return {s: paired_difference(by[(a, s)], by[(b, s)]).to_dict() for s in sets if by.get((a, s)) and by.get((b, s))}

    for arm in arms:
        if arm != baseline and baseline in arms:
            out["vs_baseline"][arm] = pair(baseline, arm)
        if arm.startswith("curriculum") and "uniform" in arms:
            out["vs_uniform"][arm] = pair("uniform", arm)
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _pp(d: Mapping[str, Any]) -> str:
    lo, hi = d["ci"]
    return f"{100 * d['delta']:+.1f} pp [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary tables (also pasted into docs/results.md; a test recomputes them from the outcomes)."""
    sets = list(dict.fromkeys(s for a in summary["arms"].values() for s in a))
    base = summary["baseline"]
    head = ["arm"]
    for s in sets:
        head += [f"{s} accuracy [95% CI]", f"{s} Δ vs {base} [95% CI], McNemar p"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm, by_set in summary["arms"].items():
        cells = [arm]
        for s in sets:
            m = by_set.get(s)
            lo, hi = (m["ci"] if m else (0.0, 0.0))
            cells.append(f"{_pct(m['accuracy'])} [{100 * lo:.1f}, {100 * hi:.1f}] (n={m['questions']})" if m else "–")
            d = summary["vs_baseline"].get(arm, {}).get(s)
            cells.append(f"{_pp(d)}, p={d['p_value']:.3g}" if d else "–")
        lines.append("| " + " | ".join(cells) + " |")
    if summary["vs_uniform"]:
        lines += ["", "| curriculum − uniform | " + " | ".join(f"{s}: Δ [95% CI], McNemar p" for s in sets) + " |",
                  "|" + "---|" * (len(sets) + 1)]
        for arm, by_set in summary["vs_uniform"].items():
            cells = [f"{arm} − uniform"]
            for s in sets:
                d = by_set.get(s)
                cells.append(f"{_pp(d)}, p={d['p_value']:.3g}" if d else "–")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def read_outcomes(path: str | Path) -> list[dict[str, Any]]:
    from r1ci.jsonl import read_records

    return list(read_records(path))


# ---------------------------------------------------------------- report


def reward_curves_plot(out: Path, arms: Sequence[str]) -> Any:
    """Batch reward per GRPO step for each RL arm; dashed lines where a curriculum arm changed stage."""
    from r1ci.eval.plots import Plot, new_figure, render_png
    from r1ci.train.metric_sinks import read_metrics

    fig = new_figure(7.5, 3.6)
    ax = fig.add_subplot(111)
    colours = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00")
    for j, arm in enumerate(a for a in arms if a != BASELINE):
        path = out / f"train-{arm}"
        rows = [r for r in read_metrics(path) if "reward" in r] if (path / "metrics.jsonl").exists() else []
        if not rows:
            continue
        colour = colours[j % len(colours)]
        ax.plot([r["step"] for r in rows], [r["reward"] for r in rows], marker="o", markersize=3, color=colour,
                label=arm)
        for prev, row in pairwise(rows):
            if row.get("stage", 1) != prev.get("stage", 1):
                ax.axvline(row["step"] - 0.5, color=colour, linestyle="--", alpha=0.6)
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("mean batch reward")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Training reward per arm (dashed: curriculum stage boundary)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return Plot(name="reward_curves", caption="GRPO batch reward per step; dashed lines mark stage changes",
                png=render_png(fig))


def _training_rows(out: Path, arms: Sequence[str], timings: Mapping[str, float]) -> list[list[str]]:
    from r1ci.train.metric_sinks import read_metrics

    rows = []
    for arm in arms:
        if arm == BASELINE:
            continue
        metrics = [r for r in read_metrics(out / f"train-{arm}") if "reward" in r] \
            if (out / f"train-{arm}" / "metrics.jsonl").exists() else []
        if not metrics:
            continue
        zero = sum(r.get("zero_variance_frac", 0.0) for r in metrics) / len(metrics)
        rollouts = sum(r.get("groups_used", 0) for r in metrics)
        rows.append([arm, str(len(metrics)), f"{metrics[0]['reward']:.2f} → {metrics[-1]['reward']:.2f}",
                     f"{100 * zero:.0f}%", str(max(int(r.get("stage", 1)) for r in metrics)), str(rollouts),
                     f"{timings.get(f'train-{arm}', 0.0) / 60:.1f} min"])
    return rows


def throughput(out: Path, arms: Sequence[str]) -> dict[str, Any]:
    """Generated tokens per second: evaluation (completion tokens / wall time) and RL generation per arm."""
    from r1ci.train.metric_sinks import read_metrics

    rates: dict[str, Any] = {"eval": {}, "rl_generation": {}}
    for arm in arms:
        for folder in sorted((out / f"eval-{arm}").glob("*/metrics.json")):
            m = json.loads(folder.read_text())
            tokens = (m.get("mean_completion_tokens") or 0.0) * m["samples"]
            if m.get("wall_time_s"):
                rates["eval"][f"{arm}/{folder.parent.name}"] = tokens / m["wall_time_s"]
        path = out / f"train-{arm}"
        rows = [r for r in read_metrics(path) if "time_generation" in r] if (path / "metrics.jsonl").exists() else []
        gen_s = sum(r["time_generation"] for r in rows)
        if gen_s > 0:
            rates["rl_generation"][arm] = sum(r.get("model_tokens", 0.0) for r in rows) / gen_s
    return rates


def device_record() -> dict[str, Any]:
    """What ran the experiment: the accelerator and its peak memory in this process (GPU runs)."""
    import torch

    rec: dict[str, Any] = {"cuda": torch.cuda.is_available(), "torch": torch.__version__,
                           "cpu_threads": torch.get_num_threads()}
    if rec["cuda"]:
        rec.update({"gpu": torch.cuda.get_device_name(0),
                    "peak_memory_allocated_gib": torch.cuda.max_memory_allocated() / 2**30,
                    "peak_memory_reserved_gib": torch.cuda.max_memory_reserved() / 2**30})
    return rec


def write_experiment_report(out: Path, cfg: ExperimentConfig, timings: Mapping[str, float]) -> Path:
    """outcomes.jsonl -> summary.json + report.md/.html (eval tables with intervals, pilot, training, curves)."""
    from r1ci.eval.report import Section, Table, load_run, write_report

    rows = read_outcomes(out / "outcomes.jsonl")
    summary = summarize_outcomes(rows)
    summary["wall_time_s"] = dict(timings)
    summary["tokens_per_s"] = throughput(out, cfg.arms)
    if (out / "device.json").exists():
        summary["device"] = json.loads((out / "device.json").read_text())
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    selection = json.loads((out / "pilot" / "selection.json").read_text())

    headline = Section("Headline", notes=[
        "Greedy accuracy of every arm on the same questions; Δ is paired (B − A on shared questions, "
        "paired bootstrap 95% interval) with the exact McNemar p-value. An interval containing 0 is noise.",
        summary_markdown(summary),
    ])
    pilot_rows = [[r["task"], str(r["difficulty"]), str(r["questions"]), _pct(r["pass_rate"]),
                   f"{r['mean_potential']:.3f}", str(r["informative"]), "yes" if r["in_band"] else "no"]
                  for r in selection["table"]]
    chosen = ", ".join(f"{c['task']} (d={c['difficulty']})" for c in selection["chosen"])
    pilot = Section("Pilot: where the SFT model is mid-range", notes=[
        f"{cfg.pilot.rollouts} sampled rollouts per question; band {selection['band']}. Chosen: {chosen}; "
        f"RL pool {selection['pool_questions']} questions ({selection['pool_informative']} with 0 < p < 1)."],
        tables=[Table(["task", "difficulty", "questions", "pass rate", "mean p(1-p)", "0 < p < 1", "in band"],
                      pilot_rows)])
    training = Section("Training (same budget per arm)", tables=[Table(
        ["arm", "steps", "batch reward first → last", "zero-variance groups", "stages", "groups used", "time"],
        _training_rows(out, cfg.arms, timings))], plots=[reward_curves_plot(out, cfg.arms)])
    total = sum(timings.values())
    training.notes.append(f"Wall time of the whole experiment: {total / 60:.1f} min "
                          f"({', '.join(f'{k} {v / 60:.1f}' for k, v in timings.items())} min).")
    rates = summary["tokens_per_s"]
    training.notes.append("Generated tokens/s: evaluation " + (", ".join(
        f"{k} {v:.0f}" for k, v in rates["eval"].items()) or "–") + "; RL generation (trained tokens) " + (
        ", ".join(f"{k} {v:.0f}" for k, v in rates["rl_generation"].items()) or "–") + ".")
    dev = summary.get("device") or {}
    if dev.get("cuda"):
        training.notes.append(f"GPU: {dev['gpu']}, peak memory allocated {dev['peak_memory_allocated_gib']:.1f} GiB "
                              f"(reserved {dev['peak_memory_reserved_gib']:.1f} GiB).")
    runs = [load_run(out / f"eval-{arm}" / "fresh", arm) for arm in cfg.arms]
    paths = write_report(runs, out, title="r1ci experiment: does RL beat SFT, and does the curriculum help?",
                         lead_sections=[headline, pilot, training])
    return paths.markdown


# ---------------------------------------------------------------- the run


class StageRunner:
    """Runs named stages once: a `DONE` marker skips a finished stage; wall time accumulates in timings.json."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.timings_path = out / "timings.json"
        self.timings: dict[str, float] = json.loads(self.timings_path.read_text()) if self.timings_path.exists() \
            else {}

    def __call__(self, name: str, fn: Callable[[bool], Any]) -> None:
        folder = self.out / name
        if (folder / "DONE").exists():
            console.print(f"[dim]✓ {name}: done earlier, skipped[/dim]")
            return
        console.print(Rule(f"[bold]{name}[/bold]"))
        started = time.perf_counter()
        partial = folder.exists() and any(folder.iterdir())
        try:
            fn(partial)
        finally:  # an interrupted stage's time still counts
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
            self.timings_path.write_text(json.dumps(self.timings, indent=2))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "DONE").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))


def _eval_arm(cfg: ExperimentConfig, out: Path, arm: str, model: Path, sets: Mapping[str, list[Any]],
              executor: Any) -> None:
    from r1ci.eval.runner import evaluate, make_backend

    backend = None  # one engine per arm for all its sets (a vLLM start costs a minute on CPU)
    try:
        for name, questions in sets.items():
            folder = out / f"eval-{arm}" / name
            if (folder / "metrics.json").exists() and json.loads((folder / "metrics.json").read_text()).get("complete"):
                continue
            partial = folder.exists() and any(folder.iterdir())
            tasks = list(dict.fromkeys(q.task for q in questions))
            ecfg = _eval_config(cfg, str(model), tasks, folder, partial)
            backend = backend or make_backend(ecfg)
            evaluate(ecfg, questions=questions, executor=executor, backend=backend)
    finally:
        if backend is not None:
            backend.close()


def write_outcomes(out: Path, arms: Sequence[str], sets: Iterable[str]) -> Path:
    from r1ci.jsonl import read_records, write_records

    rows = [row for arm in arms for s in sets
            for row in outcome_rows(arm, s, read_records(out / f"eval-{arm}" / s / "trajectories.jsonl"))]
    return write_records(out / "outcomes.jsonl", rows)


def run_experiment(cfg: ExperimentConfig, *, resume: bool = False) -> Path:
    """Run (or, with `resume`, finish) the experiment; returns the path of `OUT/report.md`."""
    from r1ci.provenance import provenance
    from r1ci.train.grpo import train_grpo
    from r1ci.train.sft import train_sft
    from r1ci.train.synth import synthesize

    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()) and not resume:
        raise FileExistsError(f"{out} is not empty: pass --resume to continue that experiment, or a new --out")
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "experiment_config.yaml"
    if resume and saved.exists():
        # arms may change on resume: each arm is its own stages, and the report covers the arms named now
        check_resume_config(load_yaml(saved), cfg.model_dump(mode="json"), where=out, ignore=("arms",))
    dump_config(cfg, saved)
    (out / "provenance.json").write_text(json.dumps(provenance(cfg), indent=2, default=str))
    console.print(f"[bold]experiment[/] -> {out}  |  arms {', '.join(cfg.arms)}  |  backend "
                  f"{resolve_backend(cfg.backend)}")

    stage = StageRunner(out)
    sft_model = out / "sft" / "final"
    stage("synth", lambda r: synthesize(_synth_config(cfg, out / "synth", r)))
    stage("sft", lambda r: train_sft(_sft_config(cfg, out / "sft", out / "synth", r)))
    stage("pilot", lambda r: run_pilot(cfg, out / "pilot", sft_model))
    from r1ci.train.curriculum import read_estimates

    pool = [e.question for e in read_estimates(out / "pilot" / "pool_estimates.jsonl")]
    for arm in cfg.arms:
        if arm != BASELINE:
            stage(f"train-{arm}", lambda r, a=arm: train_grpo(
                _rl_config(cfg, a, out / f"train-{a}", sft_model, out / "pilot" / "pool_estimates.jsonl", r),
                questions=pool))
    sets = eval_sets(cfg, out)
    (out / "eval_sets.json").write_text(json.dumps({k: len(v) for k, v in sets.items()}) + "\n")
    from r1ci.sandbox import get_executor

    executor = get_executor("local")  # one sandbox for every evaluation (each start costs seconds)
    try:
        for arm in cfg.arms:
            model = sft_model if arm == BASELINE else out / f"train-{arm}" / "final"
            stage(f"eval-{arm}", lambda r, a=arm, m=model: _eval_arm(cfg, out, a, m, sets, executor))
    finally:
        executor.close()
    write_outcomes(out, cfg.arms, sets)
    (out / "device.json").write_text(json.dumps(device_record(), indent=2) + "\n")
    report = write_experiment_report(out, cfg, stage.timings)
    console.print(f"[bold green]experiment finished[/bold green]: {report} (outcomes: {out / 'outcomes.jsonl'})")
    return report
