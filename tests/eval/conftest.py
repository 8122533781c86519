"""Hand-made trajectory records (the dict form `Trajectory.to_dict()` writes) for metrics/report tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

CODE = "```python\nprint(6 * 7)\n```\n"
OUTPUT = "Code Execution Results:\n```output\n42\n```\n"

RecordFactory = Callable[..., dict[str, Any]]


def make_record(
    task: str,
    index: int,
    reward: float,
    segments: Sequence[tuple[str, str]],
    *,
    source: str = "symbench",
    sample: int = 0,
    exec_errors: int = 0,
    tokens: int = 10,
    stop: str = "answer",
) -> dict[str, Any]:
    """One record; `num_code_turns` is the number of interpreter segments, as the engine counts it."""
    from r1ci.tasks.answers import extract_answer

    text = "".join(t for k, t in segments if k == "model")
    return {
        "task": task,
        "question_id": f"{task}/0/{index}",
        "prompt": "q",
        "messages": [],
        "prompt_ids": [1, 2],
        "completion": "".join(t for _, t in segments),
        "segments": [{"kind": k, "text": t, "token_ids": []} for k, t in segments],
        "completion_ids": list(range(tokens)),
        "mask": [1] * tokens,
        "logprobs": None,
        "num_code_turns": sum(1 for k, _ in segments if k == "interpreter"),
        "exec_errors": exec_errors,
        "stop_reason": stop,
        "extracted_answer": extract_answer(text),
        "reward": reward,
        "grade_reason": "correct" if reward == 1.0 else "wrong",
        "metadata": {"source": source, "sample_index": sample, "mode": "ci", "model": "hand"},
    }


def sample_records() -> list[dict[str, Any]]:
    """Five samples over three tasks in two sources; the expected numbers are worked out in the tests."""
    return [
        # alpha (symbench): code then answer -> correct; 1 code turn, no error.
        make_record("alpha", 0, 1.0, [("model", "Compute.\n" + CODE), ("interpreter", OUTPUT),
                                      ("model", "So <<<42>>>")], tokens=20),
        # alpha: answer candidate first, then code to check it (self-check), the run errors once.
        make_record("alpha", 1, 0.0, [("model", "Guess <<<41>>>. Check:\n" + CODE), ("interpreter", OUTPUT),
                                      ("model", "Fix: <<<40>>>")], exec_errors=1, tokens=30),
        # beta (symbench): two code turns, both executions fail, no answer at all.
        make_record("beta", 0, 0.0, [("model", CODE), ("interpreter", OUTPUT),
                                     ("model", CODE), ("interpreter", OUTPUT), ("model", "hmm")],
                    exec_errors=2, tokens=40, stop="max_turns"),
        # gamma (bbh): text only, partial reward.
        make_record("gamma", 0, 0.5, [("model", "Thinking. <<<B>>>")], source="bbh", tokens=6),
        make_record("gamma", 1, 1.0, [("model", "<<<A>>>")], source="bbh", tokens=4, stop="eos"),
    ]


def write_run_folder(
    folder: Path, records: Sequence[dict[str, Any]], config: dict[str, Any] | None = None
) -> Path:
    """A run folder as `r1ci eval` leaves it (trajectories.jsonl, optionally config.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trajectories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if config is not None:
        (folder / "config.json").write_text(json.dumps({"config": config}))
    return folder


@pytest.fixture
def records() -> list[dict[str, Any]]:
    return sample_records()


@pytest.fixture
def record_factory() -> RecordFactory:
    return make_record


@pytest.fixture
def write_run() -> Callable[..., Path]:
    return write_run_folder
