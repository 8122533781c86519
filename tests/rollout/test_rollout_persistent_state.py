"""rollout.persistent_state: the code turns of one trajectory share one sandbox session (real executor)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rollout_fakes import make_task

from r1ci.rollout import RolloutConfig, run_rollouts
from r1ci.rollout.backends.scripted import ScriptedBackend, last_output
from r1ci.sandbox import LocalExecutor

TASK = make_task()


class RecordingExecutor(LocalExecutor):
    """The local pool, remembering which sessions the engine closed."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.closed: list[str] = []

    def close_session(self, session_id: str) -> None:
        self.closed.append(session_id)
        super().close_session(session_id)


@pytest.fixture(scope="module")
def executor() -> Iterator[RecordingExecutor]:
    with RecordingExecutor(workers=2) as ex:
        yield ex


def two_turns(prompt: str, so_far: str, turn: int) -> str:
    """Turn 0 defines a variable, turn 1 uses it, turn 2 answers with what turn 1 printed."""
    i = int(prompt.split(":")[0][1:])
    if turn == 0:
        return f"Store it.\n```python\nx = {i} + 40\n```"
    if turn == 1:
        return "Now use it.\n```python\nprint(x)\n```"
    return f"<<<{last_output(so_far).strip().splitlines()[-1]}>>>"


def run(executor: LocalExecutor, tok: Any, persistent: bool, n: int = 2) -> list[Any]:
    cfg = RolloutConfig(persistent_state=persistent, exec_timeout_s=5)
    return run_rollouts(
        ScriptedBackend(two_turns, tok),
        TASK.questions(n),
        cfg,
        executor=executor,
        grader=TASK.grade,
        progress=False,
    )


def test_variables_persist_across_turns_of_one_trajectory(
    executor: RecordingExecutor, tiny_tokenizer: Any
) -> None:
    trajectories = run(executor, tiny_tokenizer, persistent=True)
    outputs = [[s.text for s in t.segments if s.kind == "interpreter"] for t in trajectories]
    for i, out in enumerate(outputs):
        assert f"\n{i + 40}\n" in out[1], out  # turn 1 saw turn 0's variable
    # Each trajectory had its own session (no state crosses trajectories), closed when it finished.
    assert len(set(executor.closed)) == len(trajectories) == 2
    assert all(sid.startswith("rollout-") for sid in executor.closed)


def test_off_by_default_each_block_runs_fresh(executor: RecordingExecutor, tiny_tokenizer: Any) -> None:
    assert RolloutConfig().persistent_state is False
    executor.closed.clear()
    (t,) = run(executor, tiny_tokenizer, persistent=False, n=1)
    second = [s.text for s in t.segments if s.kind == "interpreter"][1]
    assert "NameError" in second
    assert executor.closed == []
