"""`r1ci tasks list | show | export` through the typer app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1ci import tasks
from r1ci.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture(autouse=True)
def _builtin_split(monkeypatch: pytest.MonkeyPatch) -> None:
    from r1ci import tasks

    monkeypatch.delenv("R1CI_SPLIT_FILE", raising=False)
    tasks.use_split(None)


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["tasks", *args], env=WIDE)
    return result.exit_code, result.output


def totals(output: str) -> dict[str, tuple[int, int, int]]:
    rows = re.findall(r"│\s*(symbench|bbh|reasoning_gym|all)\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)\s*│", output)
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


def test_list_shows_all_144_tasks_with_totals() -> None:
    code, out = run("list")
    assert code == 0, out
    assert "148 tasks shown; 144 registered: 107 train / 37 test (+ 4 extra tasks outside the split)" in out
    assert totals(out) == {
        "symbench": (27, 10, 37),
        "bbh": (20, 7, 27),
        "reasoning_gym": (60, 20, 80),
        "all": (107, 37, 144),
    }
    assert re.search(r"│ game24\s+│ symbench\s+│ train\s+│ 1-5\s+│", out)
    assert re.search(r"│ bbh_navigate\s+│ bbh\s+│ train\s+│ -\s+│ yes", out)
    assert re.search(r"│ bbh_snarks\s+│ bbh\s+│ test\s+│ -\s+│", out)
    assert re.search(r"│ knapsack\s+│ symbench\s+│ extra\s+│ 1-5\s+│", out)
    assert re.search(r"│ basic_arithmetic\s+│ reasoning_gym\s+│ train\s+│ 1-5\s+│ yes", out)


def test_list_filters_by_suite_and_split() -> None:
    code, out = run("list", "--suite", "bbh", "--split", "test")
    assert code == 0, out
    shown = re.findall(r"│ (bbh_\w+)\s+│", out)
    assert shown == [
        "bbh_causal_judgement", "bbh_disambiguation_qa", "bbh_movie_recommendation", "bbh_ruin_names",
        "bbh_salient_translation_error_detection", "bbh_snarks", "bbh_sports_understanding",
    ]  # fmt: skip
    assert "7 tasks shown" in out
    code, out = run("list", "--split", "validation")
    assert code == 2 and "unknown split 'validation'" in out


def test_show_prints_questions_with_answers() -> None:
    from r1ci import tasks

    code, out = run("show", "gcd", "--n", "2", "--seed", "3", "--difficulty", "2")
    assert code == 0, out
    for q in tasks.get("gcd").questions(2, seed=3, difficulty=2):
        assert q.id in out
        assert f"answer: {q.answer}" in out
    assert "split=train" in out and "difficulties=1-5" in out


def test_show_escapes_brackets_and_prints_reference_programs() -> None:
    code, out = run("show", "bbh_dyck_languages", "--n", "1", "--program")
    assert code == 0, out
    assert "Input: " in out and "reference program:" in out and "def solve_dyck_languages" in out


def test_show_reference_questions_of_a_symbench_task(data_root: Path) -> None:
    code, out = run("show", "game24", "--reference", "--n", "1")
    assert code == 0, out
    assert "game24/ref/0" in out


def test_show_errors_are_clear() -> None:
    code, out = run("show", "bbh_navgate")
    assert code == 2 and "did you mean bbh_navigate" in out
    code, out = run("show", "bbh_navigate", "--reference")
    assert code == 2 and "SymBench" in out
    code, out = run("show", "bbh_navigate", "--difficulty", "2")
    assert code == 2 and "no difficulty knob" in out
    code, out = run("show", "gcd", "--difficulty", "7")
    assert code == 2 and "has difficulties [1, 2, 3, 4, 5], got 7" in out


def test_export_command_writes_file_and_manifest(tmp_path: Path) -> None:
    code, out = run(
        "export", "--suite", "bbh", "--split", "test", "--n", "2", "--seed", "5", "--out", str(tmp_path)
    )
    assert code == 0, out
    rows = [json.loads(line) for line in (tmp_path / "questions.jsonl").read_text().splitlines()]
    assert len(rows) == 14 and {r["split"] for r in rows} == {"test"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["n_per_task"] == 2
    code, out = run("export", "--format", "csv", "--out", str(tmp_path))
    assert code == 2 and "format must be one of" in out


def test_check_prints_the_invariants_table_and_fails_on_a_broken_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run("check", "--tasks", "gcd,bbh_navigate", "--n", "2", "--no-processes")
    assert code == 0, out
    assert re.search(r"│ gcd\s+│ reasoning_gym\s+│ train\s+│ 10/10\s+│ ok\s+│ 0/\d+\s+│ yes\s+│ 10/10\s+│", out), out
    assert re.search(r"│ bbh_navigate\s+│ bbh\s+│ train\s+│ 10/10\s+│", out)
    assert "2/2 tasks pass" in out
    # a user's own task module, found through R1CI_TASK_MODULES, with a checker that accepts anything
    (tmp_path / "my_broken_tasks.py").write_text(
        "from r1ci.tasks import Task\n"
        "from r1ci.tasks.base import Sample, generated_questions\n"
        "def sample(rng, d):\n"
        "    return Sample('Say a number.', str(rng.randint(1, 9)))\n"
        "TASKS = [Task(name='my_broken', source='symbench', check=lambda a, q: True,\n"
        "              make_questions=generated_questions('my_broken', sample, 1))]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("R1CI_TASK_MODULES", "my_broken_tasks")
    tasks.reload()
    try:
        code, out = run("check", "--tasks", "my_broken", "--n", "2", "--no-processes")
    finally:
        monkeypatch.delenv("R1CI_TASK_MODULES")
        tasks.reload()
    assert code == 1, out
    assert "FAIL" in out and "garbage" in out and "0/1 tasks pass" in out
    code, out = run("check", "--tasks", "gcdd")
    assert code == 2 and "did you mean gcd" in out
