"""Executor behaviour: results, batching, async, sessions, leaks, restarts, fallbacks, and the pieces."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import socket
import time

import pytest
from pydantic import ValidationError

from r1ci.sandbox import (
    ExecutionResult,
    LocalExecutor,
    SandboxLimits,
    execute,
    execute_many,
    get_executor,
    local,
)
from r1ci.sandbox.bench import leak_check, sandbox_processes, temp_leftovers, wait_quiet
from r1ci.sandbox.guard import SandboxViolation, make_hook
from r1ci.sandbox.isolation import KERNEL_LAYERS
from r1ci.sandbox.result import BoundedBuffer, classify

# ------------------------------------------------------------------------------------------ results


def test_success_result_fields(executor: LocalExecutor) -> None:
    r = executor.run("print(2**100)")
    assert isinstance(r, ExecutionResult)
    assert r.stdout == "1267650600228229401496703205376\n" and r.stderr == ""
    assert (r.exit_code, r.status, r.ok) == (0, "ok", True)
    assert not (r.timed_out or r.memory_exceeded or r.truncated)
    assert 0 < r.duration_s < 5
    assert r.to_dict()["ok"] is True and ExecutionResult.from_dict(r.to_dict()) == r


def test_traceback_reads_like_python(executor: LocalExecutor) -> None:
    r = executor.run("x = 1\ny = x / 0")
    assert (r.status, r.exit_code) == ("error", 1)
    assert 'File "<code>", line 2, in <module>' in r.stderr
    assert "y = x / 0" in r.stderr and r.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "r1ci" not in r.stderr  # no sandbox frames in the snippet's traceback


def test_syntax_error_and_stdin(executor: LocalExecutor) -> None:
    bad = executor.run("def f(:\n  pass")
    assert bad.status == "error" and "SyntaxError" in bad.stderr
    echoed = executor.run("import sys\nprint(sys.stdin.read().upper())", stdin="hello")
    assert echoed.stdout == "HELLO\n"


def test_preloaded_modules_cost_nothing(executor: LocalExecutor) -> None:
    r = executor.run(
        "import time\nt = time.perf_counter()\nimport numpy, sympy, fractions, itertools\n"
        "print(time.perf_counter() - t < 0.05, sympy.factor(sympy.Symbol('x')**2 - 1))"
    )
    assert r.stdout == "True (x - 1)*(x + 1)\n"


def test_run_many_keeps_order_and_runs_concurrently(executor: LocalExecutor) -> None:
    # each job reports when it ran; concurrency = two jobs' run intervals overlap (no wall-clock
    # threshold, which a loaded machine would break)
    codes = [f"import time\nt = time.time()\ntime.sleep(0.3)\nprint({i}, t, time.time())" for i in range(8)]
    results = executor.run_many(codes)
    rows = [r.stdout.split() for r in results]
    assert [int(row[0]) for row in rows] == list(range(8))
    spans = sorted((float(row[1]), float(row[2])) for row in rows)
    assert any(b_start < a_end for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_arun_with_asyncio(executor: LocalExecutor) -> None:
    async def main() -> list[ExecutionResult]:
        return await asyncio.gather(*(executor.arun(f"print({i} * {i})") for i in range(6)))

    assert [r.stdout for r in asyncio.run(main())] == [f"{i * i}\n" for i in range(6)]


def test_module_level_execute_helpers() -> None:
    r = execute("print('hi')", timeout_s=5, memory_mb=512, max_output_bytes=100)
    assert r.ok and r.stdout == "hi\n"
    out = execute_many(["print(1)", "1/0", "print(3)"], timeout_s=5)
    assert [x.status for x in out] == ["ok", "error", "ok"]


# ----------------------------------------------------------------------------------------- sessions


def test_session_keeps_variables_between_turns(executor: LocalExecutor) -> None:
    sid = "trajectory-1"
    assert executor.run("import math\nx = 41\nopen('notes.txt', 'w').write('kept')", session_id=sid).ok
    r = executor.run("x += 1\nprint(x, math.pi > 3, open('notes.txt').read())", session_id=sid)
    assert r.stdout == "42 True kept\n" and r.extra["session_alive"]
    other = executor.run("print('x' in globals())", session_id="trajectory-2")
    assert other.stdout == "False\n"  # sessions are isolated from each other
    failed = executor.run("raise ValueError('turn fails')", session_id=sid)
    assert failed.status == "error" and "ValueError: turn fails" in failed.stderr
    assert executor.run("print(x)", session_id=sid).stdout == "42\n"  # an error does not end the session
    executor.close_session(sid)
    executor.close_session("trajectory-2")


def test_session_timeout_restarts_fresh(executor: LocalExecutor) -> None:
    sid = "trajectory-timeout"
    executor.run("y = 7", session_id=sid)
    r = executor.run("while True:\n    pass", session_id=sid, timeout_s=1)
    assert r.status == "timeout" and r.timed_out and not r.extra["session_alive"]
    after = executor.run("print(y)", session_id=sid)
    assert after.status == "error" and "NameError" in after.stderr  # a fresh child, variables gone
    executor.close_session(sid)


def test_session_idle_expiry() -> None:
    with LocalExecutor(workers=1, session_idle_s=0.5) as ex:
        ex.run("z = 1", session_id="s")
        assert ex.run("print(z)", session_id="s").stdout == "1\n"
        time.sleep(2.0)
        assert "NameError" in ex.run("print(z)", session_id="s").stderr
        assert not any(wait_quiet(ex).values())


# ----------------------------------------------------------------------------------- leaks / faults


def test_no_leaks_after_many_executions(executor: LocalExecutor) -> None:
    """200 executions, a third of them leaving a daemon behind: no zombie, orphan or temp file remains."""
    report = leak_check(200, ex=executor)
    assert report.executions == 200
    assert report.clean, report
    assert temp_leftovers(executor) == []


def test_cgroup_stray_is_reported_not_waited_away() -> None:
    """The leak check polls out a spare being forked, but a process that stays in a slot's cgroup is a stray."""
    import subprocess

    from r1ci.sandbox.bench import cgroup_leftovers

    with LocalExecutor(workers=1) as ex:
        ex.run("print(1)")
        dirs = ex.cgroup_dirs()
        if not dirs:
            pytest.skip("no cgroup layer on this host")
        assert cgroup_leftovers(ex) == []
        slot = next(os.path.join(dirs[0], n) for n in sorted(os.listdir(dirs[0])) if n.startswith("slot"))
        stray = subprocess.Popen(["sleep", "30"])
        try:
            with open(os.path.join(slot, "cgroup.procs"), "w") as f:
                f.write(str(stray.pid))
            found = cgroup_leftovers(ex, timeout_s=0.5)
            assert found == [f"{slot}/cgroup.procs: {stray.pid}"]
        finally:
            stray.kill()
            stray.wait()


def test_fork_server_death_is_survived() -> None:
    with LocalExecutor(workers=1) as ex:
        first_server, first_root = ex.server_pid(), ex.workroot()
        future = ex.submit("import time\ntime.sleep(30)")
        time.sleep(0.5)
        os.kill(first_server, signal.SIGKILL)
        r = future.result(timeout=30)
        assert r.status == "killed" and "fork server died" in r.stderr
        assert ex.run("print('back')").stdout == "back\n"
        assert ex.server_pid() != first_server
        assert first_root is None or not os.path.exists(first_root)  # the dead server's workdirs are gone


def test_fallback_without_kernel_layers(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every kernel layer off (what a non-root user gets) the guard and cleanup still hold."""
    monkeypatch.setattr(local, "_warned_layers", set())  # the warning fires once per process
    with caplog.at_level(logging.WARNING, logger="r1ci.sandbox"):
        ex = LocalExecutor(workers=1, disable_layers=KERNEL_LAYERS)
        ex.wait_ready()
    with ex:
        assert not any(getattr(ex.layers, name) for name in KERNEL_LAYERS)
        assert ex.info()["layers"]["audit_guard"] and ex.info()["layers"]["rlimits"]
        assert ex.run("print(6 * 7)").stdout == "42\n"
        assert "os.fork is not allowed" in ex.run("import os\nos.fork()").stderr
        assert "network" in ex.run("import socket\nsocket.socket()").stderr
        assert "not allowed" in ex.run("open('/tmp/r1ci-fallback-probe', 'w')").stderr
        assert not os.path.exists("/tmp/r1ci-fallback-probe")
        # A ctypes double fork escapes the guard; the subreaper sweep must still kill it.
        daemon = (
            "import ctypes, os, time\nlibc = ctypes.CDLL(None)\n"
            "if libc.fork() == 0:\n    os.setsid()\n    if libc.fork() == 0:\n        time.sleep(600)\n"
            "    os._exit(0)\nprint('ok')"
        )
        assert ex.run(daemon).stdout == "ok\n"
        assert not any(wait_quiet(ex).values())
        assert ex.run("print('timeout next')", timeout_s=1).ok
        assert ex.run("while True:\n    pass", timeout_s=1).status == "timeout"
        assert temp_leftovers(ex) == []
    assert any("is OFF" in rec.message for rec in caplog.records)


# ------------------------------------------------------------------------------------ configuration


def test_bad_input_raises_clear_errors(executor: LocalExecutor) -> None:
    with pytest.raises(ValidationError):
        SandboxLimits(timeout_s=0)
    with pytest.raises(ValidationError):
        executor.run("print(1)", memory_mb=-5)
    with pytest.raises(TypeError, match="code must be a str"):
        executor.run(b"print(1)")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"unknown executor options \['timeout'\]"):
        executor.run("print(1)", timeout=5)  # type: ignore[call-arg]  # a typo must not pass silently
    with pytest.raises(TypeError, match="list of code strings"):
        executor.run_many("print(1)")
    with pytest.raises(ValueError, match="unknown layers"):
        LocalExecutor(disable_layers=["selinux"])
    with pytest.raises(ValueError, match="unknown sandbox executor"):
        get_executor("ftp://example.com")


def test_info_reports_layers(executor: LocalExecutor) -> None:
    info = executor.info()
    assert set(KERNEL_LAYERS) <= set(info["layers"])
    assert {"numpy", "sympy", "math", "itertools", "collections", "re", "fractions"} <= set(info["preloaded"])
    assert info["workers"] == 2
    for name in KERNEL_LAYERS:  # every layer is either on or explained
        assert info["layers"][name] or info["missing"][name]
    if os.geteuid() == 0:
        assert all(info["layers"][name] for name in KERNEL_LAYERS), info["missing"]


# ------------------------------------------------------------------------------------------- pieces


def test_classify() -> None:
    assert classify(0, killed_for=None, memory_error=False) == ("ok", False, False)
    assert classify(1, killed_for=None, memory_error=False) == ("error", False, False)
    assert classify(1, killed_for=None, memory_error=True) == ("memory", False, True)
    assert classify(-9, killed_for="timeout", memory_error=False) == ("timeout", True, False)
    assert classify(-signal.SIGXCPU, killed_for=None, memory_error=False) == ("timeout", True, False)
    assert classify(1, killed_for=None, memory_error=False, cpu_exceeded=True) == ("timeout", True, False)
    assert classify(-11, killed_for=None, memory_error=False) == ("killed", False, False)
    assert classify(-9, killed_for="output", memory_error=False) == ("killed", False, False)


def test_bounded_buffer_keeps_a_prefix_and_counts_the_rest() -> None:
    buf = BoundedBuffer(5)
    for chunk in (b"abc", b"defgh", b"ij"):
        buf.write(chunk)
    assert (buf.kept, buf.dropped, buf.truncated) == (5, 5, True)
    assert buf.text().startswith("abcde\n[r1ci sandbox: output truncated")


def test_guard_policy(tmp_path: pytest.TempPathFactory) -> None:
    work = str(tmp_path)
    hook = make_hook(work, deny_processes=True)
    hook("open", (os.path.join(work, "ok.txt"), "w", 0))  # inside: allowed
    hook("open", ("/etc/hostname", "r", 0))  # reading: allowed
    hook("open", ("/dev/null", "w", 0))
    with pytest.raises(SandboxViolation, match="only the working directory"):
        hook("open", ("/etc/evil", "w", 0))
    with pytest.raises(SandboxViolation):
        hook("open", (os.path.join(work, "..", "escape"), None, os.O_WRONLY | os.O_CREAT))
    with pytest.raises(SandboxViolation):
        hook("os.rename", (os.path.join(work, "a"), "/tmp/b", None, None))
    with pytest.raises(SandboxViolation, match="no network"):
        hook("socket.__new__", (None, socket.AF_INET, socket.SOCK_STREAM, 0))
    hook("socket.__new__", (None, socket.AF_UNIX, socket.SOCK_STREAM, 0))
    with pytest.raises(SandboxViolation, match="pid namespace"):
        hook("os.fork", ())
    with pytest.raises(SandboxViolation):
        hook("os.kill", (1, signal.SIGKILL))
    hook("os.kill", (os.getpid(), 0))
    relaxed = make_hook(work, deny_processes=False)
    relaxed("os.fork", ())  # with a pid namespace the kernel contains processes


def test_sandbox_processes_sees_running_snippets(executor: LocalExecutor) -> None:
    future = executor.submit("import time\ntime.sleep(2)")
    deadline = time.monotonic() + 5
    while not sandbox_processes(executor)["busy"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes(executor)["busy"], "the leak checker must see a running snippet"
    assert future.result().ok
    assert not any(wait_quiet(executor).values())
