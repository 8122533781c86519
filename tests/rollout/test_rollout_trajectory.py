"""Trajectory records: validation and lossless JSONL round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from r1ci.rollout.trajectory import Segment, Trajectory, read_jsonl, write_jsonl


def _traj(i: int) -> Trajectory:
    segs = [Segment("model", "a ```python\nprint('é')\n```", [5, 6, 7]), Segment("interpreter", "\nout\n", [8, 9]),
            Segment("model", "<<<é>>>", [10])]
    return Trajectory(
        task="toy", question_id=f"toy/0/{i}", prompt="Q \u2603", messages=[{"role": "user", "content": "Q"}],
        prompt_ids=[1, 2, 3], completion="".join(s.text for s in segs), segments=segs,
        completion_ids=[5, 6, 7, 8, 9, 10], mask=[1, 1, 1, 0, 0, 1],
        logprobs=[-0.1, -1e-9, -2.5, 0.0, 0.0, -0.30000000000000004], num_code_turns=1, exec_errors=0,
        stop_reason="answer", extracted_answer="é", reward=1.0, grade_reason="correct",
        metadata={"source": "symbench", "sample_index": i, "nested": {"a": [1, 2]}},
    )


def test_jsonl_round_trip_is_lossless(tmp_path: Path) -> None:
    trajs = [_traj(0), _traj(1)]
    path = write_jsonl(tmp_path / "sub" / "t.jsonl", trajs[:1])
    write_jsonl(path, trajs[1:], append=True)
    back = read_jsonl(path)
    assert back == trajs
    assert back[0].model_text == "a ```python\nprint('é')\n```<<<é>>>"
    assert back[0].logprobs == trajs[0].logprobs  # floats exactly


def test_validation_errors() -> None:
    t = _traj(0).to_dict()
    with pytest.raises(ValueError, match="mask"):
        Trajectory.from_dict({**t, "mask": [1]})
    with pytest.raises(ValueError, match="stop_reason"):
        Trajectory.from_dict({**t, "stop_reason": "done"})
    with pytest.raises(ValueError, match="segment kind"):
        Segment("tool", "x")  # type: ignore[arg-type]


def test_read_jsonl_reports_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"task": "x"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1"):
        read_jsonl(p)
