"""The runner with the scripted backend on two small in-test tasks: outputs, resume, refusals."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import r1ci.tasks
from r1ci.config import ConfigError
from r1ci.eval.runner import EvalConfig, evaluate, select_tasks
from r1ci.rollout import RolloutConfig
from r1ci.rollout.backends.scripted import ScriptedBackend, calculator_script
from r1ci.tasks.base import Question, Sample, Task, generated_questions


def _sum_sampler(name: str) -> Callable[[random.Random, int], Sample]:
    def sample(rng: random.Random, difficulty: int) -> Sample:
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        return Sample(f"[{name}] What is {a} + {b}?", str(a + b), {"a": a, "b": b})

    return sample


def _check(answer: str, q: Question) -> bool:
    return answer.strip() == q.answer


FAKE_TASKS = {
    name: Task(name, source, generated_questions(name, _sum_sampler(name), 1), _check)
    for name, source in (("sum_code", "symbench"), ("sum_text", "bbh"), ("sum_gym", "reasoning_gym"),
                         ("sum_code2", "symbench"))
}
FAKE_SPLIT = {"sum_code": "test", "sum_text": "test", "sum_gym": "train", "sum_code2": "test"}


@pytest.fixture(autouse=True)
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A four-task registry: the runner and the engine's grader both resolve tasks through r1ci.tasks."""

    def get(name: str) -> Task:
        if name not in FAKE_TASKS:
            raise KeyError(f"unknown task {name!r}; known: {sorted(FAKE_TASKS)}")
        return FAKE_TASKS[name]

    def names(suite: str | None = None, split: str | None = None) -> list[str]:
        return [n for n, t in FAKE_TASKS.items()
                if (suite is None or t.source == suite) and (split is None or FAKE_SPLIT[n] == split)]

    monkeypatch.setattr(r1ci.tasks, "get", get, raising=False)
    monkeypatch.setattr(r1ci.tasks, "names", names, raising=False)


class CountingScript:
    """sum_code* questions: compute with code, then answer (right). Others: answer in text, wrongly."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, prompt: str, so_far: str, turn: int) -> str:
        self.calls[prompt] += 1
        if prompt.startswith("[sum_code"):
            return calculator_script(prompt, so_far, turn)
        return "Roughly a hundred. <<<100>>>"


@dataclass
class FakeResult:
    stdout: str
    stderr: str = ""
    status: str = "ok"
    truncated: bool = False


class ArithmeticExecutor:
    """Runs only `print(<integer arithmetic>)`, in process: enough for the calculator script."""

    def run_many(self, codes: list[str], *, timeout_s: float, memory_mb: int,
                 max_output_bytes: int) -> Sequence[FakeResult]:
        out = []
        for code in codes:
            m = re.fullmatch(r"print\(([\d\s+\-*]+)\)\s*", code)
            # eval only ever sees digits, spaces and + - *: checked by the regex above.
            out.append(FakeResult(f"{eval(m.group(1))}\n") if m else FakeResult("", "SyntaxError", "error"))
        return out


@pytest.fixture
def script() -> CountingScript:
    return CountingScript()


def _cfg(out: Path, **kw: Any) -> EvalConfig:
    base: dict[str, Any] = {"model": "scripted", "backend": "scripted", "tasks": ["sum_code", "sum_text"],
                            "samples_per_task": 3, "out": out, "progress": False}
    return EvalConfig.model_validate({**base, **kw})


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_evaluate_writes_every_artefact(tmp_path: Path, script: CountingScript) -> None:
    out = evaluate(_cfg(tmp_path / "run"), backend=ScriptedBackend(script, tokenizer=None),
                   executor=ArithmeticExecutor())
    recs = _lines(out / "trajectories.jsonl")
    assert len(recs) == 6
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(sum(r["reward"] for r in recs) / len(recs)) == 0.5
    assert metrics["per_task"]["sum_code"]["accuracy"] == 1.0 and metrics["per_task"]["sum_text"]["accuracy"] == 0.0
    assert metrics["per_source"]["bbh"]["macro_accuracy"] == 0.0
    assert metrics["code_use_rate"] == 0.5 and metrics["mean_code_turns"] == 0.5
    assert metrics["exec_error_rate"] == 0.0
    assert metrics["stop_reasons"] == {"answer": 6}
    assert metrics["complete"] is True and metrics["planned_samples"] == 6 and metrics["wall_time_s"] > 0
    for r in recs:
        assert {"task", "question_id", "reward", "segments", "num_code_turns"} <= set(r)
        assert {s["kind"] for s in r["segments"]} <= {"model", "interpreter"}
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["tasks"] == ["sum_code", "sum_text"] and config["config"]["rollout"]["mode"] == "ci"
    assert {"r1ci", "torch", "transformers", "python"} <= set(config["versions"])
    assert config["model"]["backend_model"] == "scripted"
    # Wilson 3/3: lower end n / (n + z²) = 3 / 6.8415; metrics.json carries the intervals too
    assert "| sum_code | symbench | 100.0% [43.9, 100.0] |" in (out / "report.md").read_text()
    assert metrics["per_task"]["sum_code"]["accuracy_ci"] == pytest.approx([3 / (3 + 1.959964**2), 1.0], abs=1e-5)
    assert len(metrics["macro_accuracy_ci"]) == 2 and len(metrics["accuracy_ci"]) == 2
    assert 'src="data:image/png;base64,' in (out / "report.html").read_text()


def test_resume_finishes_only_missing_samples(tmp_path: Path, script: CountingScript) -> None:
    cfg = _cfg(tmp_path / "run", samples_per_question=2)  # 2 tasks x 3 questions x 2 samples = 12
    seen = []

    def interrupt_after_three(traj: Any) -> None:
        seen.append(traj)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate(cfg, backend=ScriptedBackend(script, tokenizer=None), executor=ArithmeticExecutor(),
                 on_trajectory=interrupt_after_three)
    traj_path = tmp_path / "run" / "trajectories.jsonl"
    first = traj_path.read_text().splitlines()
    assert len(first) == 3  # each record was flushed as it finished
    partial = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert partial["complete"] is False and partial["samples"] == 3
    done = {(r["question_id"], r["metadata"]["sample_index"]) for r in map(json.loads, first)}

    # Without --resume the folder is refused; with it only the 9 missing samples are generated.
    with pytest.raises(ConfigError, match="--resume"):
        evaluate(cfg, backend=ScriptedBackend(script, tokenizer=None), executor=ArithmeticExecutor())
    all_questions = {q.id: q for name in ("sum_code", "sum_text") for q in FAKE_TASKS[name].questions(3, seed=0)}
    expected_calls = sum(
        (2 if "code" in q.task else 1)  # code path: two model turns per sample; text path: one
        for q in all_questions.values() for s in range(2) if (q.id, s) not in done
    )
    script.calls.clear()
    evaluate(cfg.model_copy(update={"resume": True}), backend=ScriptedBackend(script, tokenizer=None),
             executor=ArithmeticExecutor())
    assert sum(script.calls.values()) == expected_calls
    lines = traj_path.read_text().splitlines()
    assert lines[:3] == first  # finished samples are kept, not redone
    keys = Counter((r["question_id"], r["metadata"]["sample_index"]) for r in map(json.loads, lines))
    assert set(keys) == {(qid, s) for qid in all_questions for s in range(2)} and max(keys.values()) == 1
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["complete"] is True and metrics["samples"] == 12
    assert [s["interrupted"] for s in metrics["sessions"]] == [True, False]
    assert metrics["pass_at_k"] == 0.5 and metrics["pass_at_1"] == 0.5

    # Resuming a finished run generates nothing and just rewrites the reports.
    script.calls.clear()
    evaluate(cfg.model_copy(update={"resume": True}), backend=ScriptedBackend(script, tokenizer=None))
    assert sum(script.calls.values()) == 0


def test_resume_refuses_a_different_experiment(tmp_path: Path, script: CountingScript) -> None:
    cfg = _cfg(tmp_path / "run", samples_per_task=1)
    evaluate(cfg, backend=ScriptedBackend(script, tokenizer=None), executor=ArithmeticExecutor())
    other_mode = cfg.model_copy(update={"resume": True, "rollout": RolloutConfig(mode="text")})
    with pytest.raises(ConfigError, match=r"rollout\.mode: 'ci' in the saved run, 'text' now"):
        evaluate(other_mode, backend=ScriptedBackend(script, tokenizer=None))
    with pytest.raises(ConfigError, match="model: 'scripted' in the saved run, 'other' now"):
        evaluate(cfg.model_copy(update={"resume": True, "model": "other"}))
    # Where things run may change: batch size and executor are not part of the experiment.
    evaluate(cfg.model_copy(update={"resume": True, "batch_size": 2}), backend=ScriptedBackend(script, tokenizer=None))


def test_bad_selection_fails_before_touching_the_folder(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="unknown task 'nope'"):
        evaluate(_cfg(tmp_path / "run", tasks=["nope"]))
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match="--out"):
        evaluate(_cfg(None))


def test_suite_and_round_robin_task_selection(tmp_path: Path) -> None:
    assert select_tasks(EvalConfig(suite="test")) == ["sum_code", "sum_text", "sum_code2"]
    assert select_tasks(EvalConfig(suite="train")) == ["sum_gym"]
    assert select_tasks(EvalConfig(suite="symbench")) == ["sum_code", "sum_code2"]
    # Two tasks out of three test tasks: one per source before a second from the same source.
    assert select_tasks(EvalConfig(suite="test", max_tasks=2)) == ["sum_code", "sum_text"]
    assert select_tasks(EvalConfig(suite="all", max_tasks=3)) == ["sum_code", "sum_text", "sum_gym"]
    assert select_tasks(EvalConfig(tasks=["sum_gym", "sum_code", "sum_gym"])) == ["sum_gym", "sum_code"]


def test_cli_with_tiny_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    from typer.testing import CliRunner

    from r1ci.cli import app

    out = tmp_path / "cli-run"
    args = ["eval", "--model", str(tiny_model_dir), "--tasks", "sum_code,sum_text", "--mode", "text",
            "--samples-per-task", "2", "--max-new-tokens", "8", "--out", str(out)]
    res = CliRunner().invoke(app, args, terminal_width=200)
    assert res.exit_code == 0, res.output
    recs = _lines(out / "trajectories.jsonl")
    assert len(recs) == 4 and all(len(r["completion_ids"]) <= 8 for r in recs)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(sum(r["reward"] for r in recs) / 4)
    assert metrics["mean_completion_tokens"] == pytest.approx(sum(len(r["completion_ids"]) for r in recs) / 4)
    assert metrics["code_use_rate"] == 0.0  # text mode runs no code
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["rollout"]["max_new_tokens"] == 8 and config["model"]["path"] == str(tiny_model_dir)
    assert "macro accuracy" in res.output and "report.html" in res.output

    again = CliRunner().invoke(app, args, terminal_width=200)
    assert again.exit_code == 2 and "--resume" in again.output
    mismatch = CliRunner().invoke(app, [*args[:-2], "--mode", "ci", "--out", str(out), "--resume"],
                                  terminal_width=200)
    assert mismatch.exit_code == 2 and "rollout.mode" in mismatch.output


def test_resume_after_a_torn_write(tmp_path: Path, script: CountingScript) -> None:
    cfg = _cfg(tmp_path / "run", samples_per_task=2)
    evaluate(cfg, backend=ScriptedBackend(script, tokenizer=None), executor=ArithmeticExecutor())
    path = tmp_path / "run" / "trajectories.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])  # crash while writing record 3 of 4
    lost = [json.loads(line)["task"] for line in lines[2:]]
    script.calls.clear()
    evaluate(cfg.model_copy(update={"resume": True}), backend=ScriptedBackend(script, tokenizer=None),
             executor=ArithmeticExecutor())
    recs = _lines(path)  # every line parses again: the torn tail was cut before appending
    assert len(recs) == 4 and recs[:2] == [json.loads(line) for line in lines[:2]]
    assert sum(script.calls.values()) == sum(2 if t == "sum_code" else 1 for t in lost)  # only the lost redone


def test_reference_questions_for_symbench_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from r1ci.eval.runner import select_questions
    from r1ci.tasks.symbench.common import symbench_task

    (tmp_path / "symbench" / "dataset_gather").mkdir(parents=True)
    monkeypatch.setenv("R1CI_DATA_DIR", str(tmp_path))

    def parse(root: Path) -> list[Sample]:
        return [Sample(f"What is {i} + 1?", str(i + 1)) for i in range(5)]

    task = symbench_task("sum_ref", _sum_sampler("sum_ref"), _check, description="ref", reference=parse)
    monkeypatch.setitem(FAKE_TASKS, "sum_ref", task)
    qs = select_questions(EvalConfig(tasks=["sum_ref", "sum_text"], reference=True, samples_per_task=3))
    assert [q.id for q in qs] == ["sum_ref/ref/0", "sum_ref/ref/1", "sum_ref/ref/2",  # published set
                                  "sum_text/0/0", "sum_text/0/1", "sum_text/0/2"]  # bbh: no reference flag effect
    generated = select_questions(EvalConfig(tasks=["sum_ref"], samples_per_task=2))
    assert [q.id for q in generated] == ["sum_ref/0/0", "sum_ref/0/1"]


def test_cli_yaml_config_with_overrides_and_real_sandbox(tmp_path: Path) -> None:
    """YAML + CLI options + --set; the scripted calculator's code runs in the real local sandbox."""
    from typer.testing import CliRunner

    from r1ci.cli import app

    recipe = tmp_path / "eval.yaml"
    recipe.write_text(
        "backend: scripted\nbackend_options: {tokenizer: null, script: calculator}\n"
        "tasks: [sum_code]\nsamples_per_task: 5\nrollout: {mode: ci, max_code_turns: 3}\nprogress: false\n"
    )
    out = tmp_path / "yaml-run"
    res = CliRunner().invoke(app, ["eval", "--config", str(recipe), "--samples-per-task", "2",
                                   "--set", "rollout.temperature=0.5", "--out", str(out)], terminal_width=200)
    assert res.exit_code == 0, res.output
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["samples_per_task"] == 2  # CLI beats YAML
    assert config["rollout"] == {**config["rollout"], "mode": "ci", "max_code_turns": 3, "temperature": 0.5}
    recs = _lines(out / "trajectories.jsonl")
    assert len(recs) == 2 and all(r["reward"] == 1.0 and r["num_code_turns"] == 1 for r in recs)
    assert all(f"```output\n{r['extracted_answer']}\n```" in r["completion"] for r in recs)  # real execution
