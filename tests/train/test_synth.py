"""Synthesis end to end with the scripted reference teacher, the real rollout engine and the real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1ci.rollout import read_jsonl
from r1ci.train.synth import ALL_FILE, GENERATED, SFT_FILE, STATS_FILE, SynthConfig, synthesize
from r1ci.train.teacher import ReferenceTeacher

TASKS = "gcd,number_multiply"


def _cfg(out: Path, **kw: object) -> SynthConfig:
    base: dict[str, object] = {"tasks": TASKS, "questions_per_task": 3, "samples_per_question": 2, "out": str(out),
                               "question_seed": 11}
    return SynthConfig.model_validate({**base, **kw})


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(_cfg(tmp_path_factory.mktemp("synth") / "run"))


def test_scripted_teacher_makes_verified_multi_turn_trajectories(synth_dir: Path) -> None:
    from r1ci import tasks

    kept = read_jsonl(synth_dir / SFT_FILE)
    assert len(kept) == 12  # 2 tasks x 3 questions x 2 samples, all verified
    for t in kept:
        assert t.task in TASKS.split(",") and t.reward == 1.0 and t.num_code_turns == 1 and t.exec_errors == 0
        kinds = [s.kind for s in t.segments]
        assert kinds == ["model", "interpreter", "model"]
        assert "```python" in t.segments[0].text and "Code Execution Results:" in t.segments[1].text
        gold = t.metadata["gold"]
        assert gold in t.segments[1].text  # the real interpreter printed the answer...
        assert t.extracted_answer == gold  # ...and the teacher read it back into <<<answer>>>
        assert t.prompt_ids and len(t.mask) == len(t.completion_ids) and 0 in t.mask and t.stop_reason == "answer"
        assert t.metadata["synth_reason"] == "kept"
        q = next(q for q in tasks.get(t.task).questions(3, seed=11) if q.id == t.question_id)
        assert tasks.get(t.task).reference_program(q).strip() in t.segments[0].text
    # two samples of one question are phrased differently (not thrown away as duplicates)
    first = [t for t in kept if t.question_id == kept[0].question_id]
    assert len(first) == 2 and first[0].model_text != first[1].model_text


def test_outputs_load_with_datasets_and_record_stats(synth_dir: Path) -> None:
    import datasets

    ds = datasets.load_dataset("json", data_files=str(synth_dir / SFT_FILE), split="train")
    assert len(ds) == 12 and {"segments", "messages", "prompt_ids", "mask", "reward"} <= set(ds.column_names)
    assert ds[0]["segments"][1]["kind"] == "interpreter"
    stats = json.loads((synth_dir / STATS_FILE).read_text())
    assert stats["generated"] == 12 and stats["kept"] == 12 and stats["questions"] == 6
    assert set(stats["per_task"]) == {"gcd", "number_multiply"} and stats["kept_code_use_rate"] == 1.0
    assert stats["config"]["split"] == "train" and "torch" in stats["versions"]
    assert len(read_jsonl(synth_dir / ALL_FILE)) == 12


def test_resume_continues_without_redoing_finished_questions(tmp_path: Path, synth_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import r1ci.rollout.engine as engine

    out = tmp_path / "run"
    out.mkdir()
    lines = (synth_dir / GENERATED).read_text().splitlines()
    # "killed" after 2 full questions and one sample of the third, mid-way through writing a line
    (out / GENERATED).write_text("\n".join(lines[:5]) + "\n" + lines[5][:50])
    (out / "synth_config.yaml").write_text((synth_dir / "synth_config.yaml").read_text())
    asked: list[str] = []
    real = engine.run_rollouts

    def spy(backend, questions, cfg, **kw):  # type: ignore[no-untyped-def]
        asked.extend(q.id for q in questions)
        return real(backend, questions, cfg, **kw)

    monkeypatch.setattr(engine, "run_rollouts", spy)
    cfg = _cfg(out)
    with pytest.raises(FileExistsError, match="--resume"):
        synthesize(cfg)
    synthesize(cfg.model_copy(update={"resume": True}))
    written = [json.loads(line)["question_id"] for line in lines[:5]]
    done = {qid for qid in written if written.count(qid) == 2}
    everything = {t.question_id for t in read_jsonl(synth_dir / SFT_FILE)}
    assert len(done) == 2 and set(asked) == everything - done and len(asked) == 4  # the partial one is redone

    def essence(path: Path) -> list[tuple[object, ...]]:
        return [(t.question_id, t.metadata["sample_index"], t.completion_ids, t.reward) for t in read_jsonl(path)]

    assert essence(out / SFT_FILE) == essence(synth_dir / SFT_FILE)  # the same data as an uninterrupted run

    # resuming a finished run re-filters without generating; other generation settings are refused
    asked.clear()
    synthesize(cfg.model_copy(update={"resume": True, "filters": cfg.filters.model_copy(update={"max_per_task": 2})}))
    assert asked == [] and len(read_jsonl(out / SFT_FILE)) == 4
    with pytest.raises(ValueError, match="samples_per_question"):
        synthesize(_cfg(out, samples_per_question=3, resume=True))


def test_teacher_writes_no_answer_when_the_program_fails() -> None:
    from r1ci import tasks

    q = tasks.get("gcd").questions(1, seed=0)[0]
    teacher = ReferenceTeacher([q])
    first = teacher(q.prompt, "", 0)
    assert first.rstrip().endswith("```") and "print(" in first
    failed = teacher(q.prompt, first + "\nCode Execution Results:\n```output\nTraceback (most recent call last):\n"
                     "NameError: x\n```\n", 1)
    assert "<<<" not in failed
    with pytest.raises(ValueError, match="no reference program"):
        no_ref = next(n for n in tasks.names() if tasks.get(n).reference_program is None)  # every train task has one
        ReferenceTeacher(tasks.get(no_ref).questions(1))


def test_cli_synth_and_train_on_its_output(tmp_path: Path, tiny_model_dir: Path) -> None:
    from typer.testing import CliRunner

    from r1ci.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["sft", "synth", "--backend", "scripted", "--model", "reference", "--tasks", "gcd",
                              "--questions-per-task", "2", "--samples-per-question", "1", "--out",
                              str(tmp_path / "synth"), "-o", f"tokenizer={tiny_model_dir}"])
    assert res.exit_code == 0, res.output
    assert len(read_jsonl(tmp_path / "synth" / SFT_FILE)) == 2
    res = runner.invoke(app, ["sft", "synth", "--split", "test", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "training split only" in res.output
    res = runner.invoke(app, ["sft", "train", "--model", str(tiny_model_dir), "--data", str(tmp_path / "synth"),
                              "--out", str(tmp_path / "sft"), "--max-steps", "1", "-o", "train.eval_fraction=0",
                              "-o", "logging.report_to=[jsonl]"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sft" / "final" / "model.safetensors").exists()
