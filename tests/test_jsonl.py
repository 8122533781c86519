"""r1ci.jsonl: the one broken-line policy, the append-flush writer, the atomic rewrite."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from r1ci.jsonl import JsonlWriter, append_records, read_records, write_records


def test_torn_last_line_is_dropped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text('{"i": 0}\n{"i": 1}\n{"i": 2, "te')
    with caplog.at_level(logging.WARNING, logger="r1ci.jsonl"):
        assert read_records(p) == [{"i": 0}, {"i": 1}]
    assert "a.jsonl:3" in caplog.text and "torn" in caplog.text


def test_corrupt_line_before_the_last_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "b.jsonl"
    p.write_text('{"i": 0}\nnot json\n{"i": 2}\n')
    with pytest.raises(ValueError, match=r"b\.jsonl:2 is not valid JSON"):
        read_records(p)


def test_blank_lines_are_skipped_and_a_missing_file_can_read_empty(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    p.write_text('\n{"i": 0}\n\n')
    assert read_records(p) == [{"i": 0}]
    assert read_records(tmp_path / "none.jsonl", missing_ok=True) == []
    with pytest.raises(FileNotFoundError):
        read_records(tmp_path / "none.jsonl")


def test_append_after_a_torn_line_cuts_it_off_first(tmp_path: Path) -> None:
    """Without the cut the new record would be glued onto the torn one: a corrupt line mid-file."""
    p = tmp_path / "d.jsonl"
    p.write_text('{"i": 0}\n{"i": 1, "x"')
    append_records(p, [{"i": 1}, {"i": 2}])
    assert p.read_text() == '{"i": 0}\n{"i": 1}\n{"i": 2}\n'


def test_writer_flushes_every_record(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    with JsonlWriter(p, append=False) as w:
        w.write({"text": "ü"})
        assert json.loads(p.read_text(encoding="utf-8")) == {"text": "ü"}  # on disk before close
        with pytest.raises(ValueError):
            w.write({"x": float("nan")})  # NaN is a bug upstream, never written


def test_rewrite_is_atomic_and_leaves_no_temp_file(tmp_path: Path) -> None:
    p = tmp_path / "f.jsonl"
    write_records(p, [{"i": 0}, {"i": 1}])
    write_records(p, [{"i": 5}])
    assert read_records(p) == [{"i": 5}]
    assert [q.name for q in tmp_path.iterdir()] == ["f.jsonl"]


def test_curriculum_estimates_no_longer_skip_a_corrupt_line(tmp_path: Path) -> None:
    """curriculum.read_estimates used to skip bad lines anywhere, silently dropping questions."""
    from r1ci.tasks.base import Question
    from r1ci.train.curriculum import QuestionEstimate, read_estimates, write_estimates

    p = tmp_path / "est.jsonl"
    write_estimates(p, [QuestionEstimate(Question(f"t/{i}", "t", "p", "a"), 2, 1.0, "s") for i in range(3)])
    lines = p.read_text().splitlines()
    p.write_text("\n".join([lines[0], lines[1][:10], lines[2]]) + "\n")
    with pytest.raises(ValueError, match=r"est\.jsonl:2"):
        read_estimates(p)
    p.write_text("\n".join([lines[0], lines[1], lines[2][:10]]))  # torn last line: two estimates kept
    assert [e.id for e in read_estimates(p)] == ["t/0", "t/1"]
