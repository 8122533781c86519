"""Exported question sets load with HF `datasets` and carry a manifest; test tasks stay out of train."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1ci import tasks
from r1ci.tasks.base import Question
from r1ci.tasks.export import COLUMNS, export_questions


@pytest.fixture(autouse=True)
def _builtin_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("R1CI_SPLIT_FILE", raising=False)
    tasks.use_split(None)


@pytest.fixture(scope="module")
def train_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_questions(tmp_path_factory.mktemp("train"), split="train", n=2, seed=3, progress=False)


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_train_export_has_every_training_task_and_no_test_task(train_export: Path) -> None:
    rows = _rows(train_export)
    assert len(rows) == 107 * 2
    assert {r["task"] for r in rows} == set(tasks.names(split="train"))
    assert {r["split"] for r in rows} == {"train"}
    assert not {r["task"] for r in rows} & set(tasks.names(split="test"))
    assert all(list(r) == list(COLUMNS) for r in rows)


def test_rows_are_the_questions_and_still_grade(train_export: Path) -> None:
    for row in _rows(train_export)[::23]:
        task = tasks.get(row["task"])
        assert row["source"] == task.source
        q = Question(row["id"], row["task"], row["prompt"], row["answer"], json.loads(row["metadata"]))
        assert q in task.questions(2, seed=3)
        assert task.score(q, f"<<<{q.answer} >>>") == 1.0


def test_manifest_records_how_the_file_was_made(train_export: Path) -> None:
    manifest = json.loads((train_export.parent / "manifest.json").read_text())
    assert manifest["rows"] == 214 and manifest["seed"] == 3 and manifest["n_per_task"] == 2
    assert manifest["split"] == "train" and manifest["split_origin"] == "built-in"
    assert [t["name"] for t in manifest["tasks"]] == tasks.names(split="train")
    assert all(t["rows"] == 2 for t in manifest["tasks"])
    assert manifest["versions"]["reasoning-gym"] == "0.1.25"
    assert manifest["versions"]["r1ci"]
    assert "created" not in manifest  # no timestamp: exports are identical run to run
    assert manifest["data_dir"] and manifest["file"] == "questions.jsonl"


def test_export_folder_loads_with_load_dataset_and_is_identical_run_to_run(
    train_export: Path, tmp_path: Path
) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(str(train_export.parent), cache_dir=str(tmp_path / "hf"))
    assert list(ds) == ["train"] and ds["train"].num_rows == 214  # the manifest is not read as data
    assert ds["train"].column_names == list(COLUMNS)
    again = export_questions(tmp_path / "again", split="train", n=2, seed=3, progress=False)
    for name in ("questions.jsonl", "manifest.json", "README.md"):
        assert (again.parent / name).read_bytes() == (train_export.parent / name).read_bytes(), name


def test_hf_datasets_loads_jsonl_and_parquet(train_export: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(
        "json", data_files=str(train_export), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert ds.num_rows == 214 and ds.column_names == list(COLUMNS)
    assert json.loads(ds[0]["metadata"]) == json.loads(_rows(train_export)[0]["metadata"])

    parquet = export_questions(tmp_path / "pq", split="test", suite="bbh", n=3, fmt="parquet", progress=False)
    assert parquet.name == "questions.parquet"
    ds = datasets.load_dataset(
        "parquet", data_files=str(parquet), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert ds.num_rows == 21 and set(ds["split"]) == {"test"}


def test_split_all_difficulty_and_task_selection(tmp_path: Path) -> None:
    path = export_questions(
        tmp_path / "a", split="all", tasks=["gcd", "acre", "bbh_navigate"], n=2, difficulty=5, progress=False
    )
    rows = _rows(path)
    assert [r["task"] for r in rows] == ["gcd", "gcd", "acre", "acre", "bbh_navigate", "bbh_navigate"]
    meta = [json.loads(r["metadata"]) for r in rows]
    assert [m.get("difficulty") for m in meta[:4]] == [5, 5, None, None]  # acre has no knob: ignored
    assert {r["split"] for r in rows} == {"train", "test"}


def test_bad_requests_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"not in the 'train' split"):
        export_questions(tmp_path, split="train", tasks=["bbh_snarks"], progress=False)
    with pytest.raises(tasks.UnknownTaskError, match="did you mean gcd"):
        export_questions(tmp_path, split="all", tasks=["gdc"], progress=False)
    with pytest.raises(ValueError, match="split must be 'train', 'test' or 'all'"):
        export_questions(tmp_path, split="dev", progress=False)
    with pytest.raises(ValueError, match="n must be >= 1"):
        export_questions(tmp_path, n=0, progress=False)
