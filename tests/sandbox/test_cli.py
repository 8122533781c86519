"""`r1ci sandbox run | info | bench | serve` through typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from r1ci.cli import app

runner = CliRunner()


def test_run_code_prints_the_result() -> None:
    res = runner.invoke(app, ["sandbox", "run", "--code", "print(2**100)"])
    assert res.exit_code == 0, res.output
    assert "1267650600228229401496703205376" in res.stdout


def test_run_file_json(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text("import sys\nprint('partial')\nsys.exit(3)\n")
    res = runner.invoke(app, ["sandbox", "run", "--file", str(snippet), "--timeout", "5", "--json"])
    assert res.exit_code == 1  # the snippet failed
    data = json.loads(res.stdout)
    assert data["stdout"] == "partial\n" and data["exit_code"] == 3 and data["status"] == "error"
    assert {"stderr", "timed_out", "memory_exceeded", "duration_s", "truncated", "ok"} <= set(data)


def test_run_reports_timeouts_and_memory() -> None:
    slow = runner.invoke(app, ["sandbox", "run", "--code", "while True: pass", "--timeout", "1", "--json"])
    assert json.loads(slow.stdout)["status"] == "timeout" and slow.exit_code == 1
    big = runner.invoke(
        app, ["sandbox", "run", "--code", "b = bytearray(2**31)", "--memory-mb", "128", "--json"]
    )
    assert json.loads(big.stdout)["memory_exceeded"] is True


def test_run_needs_exactly_one_source() -> None:
    both = runner.invoke(app, ["sandbox", "run", "--code", "1", "--file", "x.py"])
    assert both.exit_code != 0 and "exactly one" in both.output
    neither = runner.invoke(app, ["sandbox", "run"])
    assert neither.exit_code != 0


def test_info_lists_layers() -> None:
    res = runner.invoke(app, ["sandbox", "info", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    from r1ci.sandbox.isolation import ALWAYS_ON, KERNEL_LAYERS

    assert {*KERNEL_LAYERS, *ALWAYS_ON} <= set(data["layers"])  # cgroup, seccomp, minimal_root, ...
    for name in KERNEL_LAYERS:  # each is on, or says why not
        assert data["layers"][name] or data["missing"][name]
    table = runner.invoke(app, ["sandbox", "info"])
    assert all(name in table.stdout for name in ("pid_namespace", "cgroup", "seccomp", "minimal_root"))


def test_bench_small_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    res = runner.invoke(app, ["sandbox", "bench", "--n", "8", "--workers", "2", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "throughput ratio" in res.stdout and "fork server" in res.stdout
    data = json.loads(out.read_text())
    assert data["fork"]["executions"] == 8 and data["fork"]["failures"] == 0
    assert data["subprocess"]["executions"] == 8 and data["throughput_ratio"] > 1


def test_serve_help() -> None:
    res = runner.invoke(app, ["sandbox", "serve", "--help"])
    assert res.exit_code == 0
    assert "--port" in res.stdout and "--workers" in res.stdout
