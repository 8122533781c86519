"""Evaluation: run a model over the task suite, compute metrics from trajectories, write reports.

    from r1ci.eval import EvalConfig, evaluate, load_run, write_report
    out = evaluate(EvalConfig(model="default", suite="test", samples_per_task=5, out="runs/base"))
    write_report([load_run("runs/base", "base"), load_run("runs/grpo", "grpo")], "runs/compare")

Layout: `runner.py` (questions → rollouts → trajectories.jsonl, resumable), `metrics.py` (numbers
from records only), `report.py` (Markdown/HTML over one or several named runs), `plots.py`.
"""

from r1ci.eval.metrics import compute_metrics, summarize
from r1ci.eval.report import Run, build_report, compare_runs, load_run, write_report
from r1ci.eval.runner import EvalConfig, evaluate, rebuild_report, select_questions, select_tasks

__all__ = [
    "EvalConfig",
    "Run",
    "build_report",
    "compare_runs",
    "compute_metrics",
    "evaluate",
    "load_run",
    "rebuild_report",
    "select_questions",
    "select_tasks",
    "summarize",
    "write_report",
]
