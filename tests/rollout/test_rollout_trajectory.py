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


def test_runs_of_every_backend_and_stage_load_together(tmp_path: Path, tiny_tokenizer: object) -> None:
    """One schema: an ids run (scripted backend, real tokenizer), a text-only run (openai backend on
    the FastAPI stub, one sample failing) and a synthesis file load as one dataset."""
    import json

    import datasets
    from openai_stub import Stub, serve
    from rollout_fakes import SubprocessExecutor, make_task

    from r1ci.rollout import RolloutConfig, run_rollouts
    from r1ci.rollout.backends.openai import OpenAIBackend
    from r1ci.rollout.backends.scripted import SCRIPTS, ScriptedBackend
    from r1ci.rollout.trajectory import METADATA_KEYS, dataset_features

    task = make_task()
    qs = task.questions(3)
    cfg = RolloutConfig()
    ids_run = run_rollouts(ScriptedBackend(SCRIPTS["calculator"], tiny_tokenizer), qs, cfg,
                           executor=SubprocessExecutor(), grader=task.grade, progress=False)
    stub = Stub(fail=[(400, {}, "bad sample")])
    with serve(stub) as url:
        api_run = run_rollouts(OpenAIBackend("stub-model", base_url=url, concurrency=1), qs, cfg,
                               executor=SubprocessExecutor(), grader=task.grade, progress=False)
    assert ids_run[0].completion_ids and not api_run[0].completion_ids
    assert [t.stop_reason for t in api_run].count("error") == 1
    hf_file = write_jsonl(tmp_path / "hf.jsonl", ids_run)
    api_file = write_jsonl(tmp_path / "api.jsonl", api_run)
    synth = tmp_path / "all.jsonl"  # what `r1ci sft synth` writes: a filter verdict per trajectory
    synth.write_text("".join(json.dumps({**t.to_dict(), "metadata": {**t.to_dict()["metadata"], "synth_reason": "kept"}}) + "\n"
                             for t in ids_run))
    for t in ids_run + api_run:
        assert list(t.to_dict()["metadata"]) == list(METADATA_KEYS)

    # one load over all files (the text-only file first: nothing in it says what its empty lists hold)
    files = [str(api_file), str(hf_file), str(synth)]
    both = datasets.load_dataset("json", data_files=files, features=dataset_features(), split="train")
    assert len(both) == 9
    assert both.features["prompt_ids"] == datasets.List(datasets.Value("int64"))
    assert both[0]["prompt_ids"] == [] and both[3]["prompt_ids"] == ids_run[0].prompt_ids
    assert [r["metadata"]["synth_reason"] for r in both][-3:] == ["kept"] * 3
    errors = [r["metadata"]["error"] for r in both if r["stop_reason"] == "error"]
    assert len(errors) == 1 and "bad sample" in errors[0]
    assert all(r["metadata"]["completion_tokens"] > 0 for r in both if r["stop_reason"] != "error")

    # runs loaded one by one concatenate too (JSON alone cannot say that an empty list holds ints,
    # so each load names the features; without them the text-only run's lists are List(null))
    alone = [datasets.load_dataset("json", data_files=f, features=dataset_features(), split="train") for f in files]
    joined = datasets.concatenate_datasets(alone)
    assert len(joined) == 9 and joined[4]["completion_ids"] == ids_run[1].completion_ids
    assert Trajectory.from_dict(both[4]) == ids_run[1]  # a dataset row is a trajectory again
