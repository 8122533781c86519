"""`r1ci solve`: one question shown turn by turn (scripted backend and the tiny HF model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rollout_fakes import SubprocessExecutor
from typer.testing import CliRunner

from r1ci.cli import app


class ClosingExecutor(SubprocessExecutor):
    closed = False

    def close(self) -> None:
        ClosingExecutor.closed = True


@pytest.fixture
def fake_sandbox(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    specs: list[str] = []

    def get_executor(spec: str = "local") -> ClosingExecutor:
        specs.append(spec)
        return ClosingExecutor()

    import r1ci.sandbox

    monkeypatch.setattr(r1ci.sandbox, "get_executor", get_executor)
    return specs


def test_solve_scripted_shows_turns_and_checks_answer(fake_sandbox: list[str], tmp_path: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "t.json"
    res = CliRunner().invoke(app, ["solve", "What is 12*(3+4)?", "--backend", "scripted", "--model",
                                   str(tiny_model_dir), "--answer", "84", "--json-out", str(out)])
    assert res.exit_code == 0, res.output
    for needle in ("question", "model · turn 1", "print(12*(3+4))", "interpreter output", "84", "final", "correct"):
        assert needle in res.output
    assert res.output.index("interpreter") < res.output.index("model · turn 2")
    traj = json.loads(out.read_text())
    assert traj["extracted_answer"] == "84" and traj["reward"] == 1.0 and traj["num_code_turns"] == 1
    assert fake_sandbox == ["local"] and ClosingExecutor.closed


def test_solve_hf_tiny_model_text_mode(tiny_model_dir: Path) -> None:
    res = CliRunner().invoke(app, ["solve", "Say hi.", "--model", str(tiny_model_dir), "--mode", "text",
                                   "--max-new-tokens", "8", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "model · turn 1" in res.output and "stop: length" in res.output


def test_solve_rejects_flags_of_other_backends() -> None:
    res = CliRunner().invoke(app, ["solve", "x", "--backend", "scripted", "--base-url", "http://x"])
    assert res.exit_code == 2 and "--base-url" in res.output and "scripted" in res.output
    res = CliRunner().invoke(app, ["solve", "x", "--backend", "nope"])
    assert res.exit_code == 2 and "unknown backend" in res.output
