"""BIG-Bench-Hard: loading, seeded sampling, per-format answer normalisation, the download fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1ci import tasks
from r1ci.tasks import bbh
from r1ci.tasks.answers import wrap_answer
from r1ci.tasks.base import Question


@pytest.fixture(autouse=True)
def _needs_data(data_root: Path) -> None:
    """Skips (via the shared fixture) when the reference data folder is absent."""


def score(name: str, index: int, answer: str) -> float:
    q = bbh.example_question(name, index)
    return tasks.get(name).score(q, f"Reasoning...\n{wrap_answer(answer)}")


def test_27_tasks_named_after_the_file_stems(data_root: Path) -> None:
    names = tasks.names(suite="bbh")
    stems = sorted(p.stem for p in (data_root / "bbh" / "bbh").glob("*.json"))
    assert len(stems) == 27
    assert sorted(n.removeprefix("bbh_") for n in names) == stems
    assert all(n.startswith("bbh_") for n in names)


def test_published_targets_score_one() -> None:
    q = bbh.example_question("bbh_boolean_expressions", 0)
    assert q.prompt.startswith("not ( True ) and ( True ) is")
    assert q.answer == "False" and q.id == "bbh_boolean_expressions/0"
    assert score("bbh_boolean_expressions", 0, "False") == 1.0
    assert score("bbh_boolean_expressions", 0, "True") == 0.0
    assert score("bbh_multistep_arithmetic_two", 0, "24") == 1.0
    assert score("bbh_object_counting", 0, "8") == 1.0
    assert score("bbh_date_understanding", 0, "(B)") == 1.0


@pytest.mark.parametrize(
    ("answer", "reward"),
    [
        ("(B)", 1.0), ("B", 1.0), ("B)", 1.0), ("b", 1.0), ("B.", 1.0), ("(B) 12/25/1937", 1.0),
        ("12/25/1937", 1.0), ("**(B)**", 1.0),
        ("(A)", 0.0), ("A", 0.0), ("12/11/1937", 0.0), ("(Z)", 0.0), ("B or C", 0.0), ("", 0.0),
    ],
)  # fmt: skip
def test_multiple_choice_forms(answer: str, reward: float) -> None:
    # date_understanding/0: options (A) 12/11/1937 ... (B) 12/25/1937; target (B)
    assert score("bbh_date_understanding", 0, answer) == reward


def test_multiple_choice_target_given_as_text() -> None:
    # Three published targets are option text that the options split at a comma.
    q = bbh.example_question("bbh_movie_recommendation", 163)
    assert q.answer == "Monsters, Inc"
    task = tasks.get("bbh_movie_recommendation")
    assert task.score(q, "<<<Monsters, Inc>>>") == 1.0
    assert task.score(q, "<<<(A)>>>") == 0.0
    assert task.score(q, wrap_answer(task.extra["corrupt"](q.answer, q))) == 0.0


def test_option_text_matches_only_when_unique() -> None:
    options = {"A": "rita", "B": "sue and bob too", "C": "rita"}
    assert bbh.choice_letter("sue and bob too", options) == "B"
    assert bbh.choice_letter("rita", options) is None
    assert bbh.choice_letter("(C) rita", options) == "C"


@pytest.mark.parametrize(
    ("answer", "reward"),
    [("False", 1.0), ("false", 1.0), ("FALSE.", 1.0), ("True", 0.0), ("0", 0.0), ("No", 0.0)],
)
def test_true_false(answer: str, reward: float) -> None:
    assert score("bbh_boolean_expressions", 0, answer) == reward


def test_yes_no_and_valid_invalid() -> None:
    assert bbh.example_question("bbh_navigate", 0).answer == "No"
    assert score("bbh_navigate", 0, "no") == 1.0
    assert score("bbh_navigate", 0, "Yes") == 0.0
    assert bbh.example_question("bbh_sports_understanding", 0).answer == "no"
    assert score("bbh_sports_understanding", 0, "No") == 1.0
    assert bbh.example_question("bbh_formal_fallacies", 0).answer == "invalid"
    assert score("bbh_formal_fallacies", 0, "Invalid") == 1.0
    assert score("bbh_formal_fallacies", 0, "valid") == 0.0


@pytest.mark.parametrize(
    ("answer", "reward"),
    [("24", 1.0), ("24.0", 1.0), ("+24", 1.0), ("24.", 1.0), ("25", 0.0), ("twenty-four", 0.0)],
)
def test_numbers(answer: str, reward: float) -> None:
    assert score("bbh_multistep_arithmetic_two", 0, answer) == reward


def test_word_sorting_normalisation() -> None:
    gold = bbh.example_question("bbh_word_sorting", 0).answer
    assert gold == "syndrome therefrom"
    assert score("bbh_word_sorting", 0, "syndrome therefrom") == 1.0
    assert score("bbh_word_sorting", 0, "  Syndrome   therefrom ") == 1.0
    assert score("bbh_word_sorting", 0, "syndrome, therefrom") == 1.0
    assert score("bbh_word_sorting", 0, "syndrome\ntherefrom") == 1.0
    assert score("bbh_word_sorting", 0, "therefrom syndrome") == 0.0
    assert score("bbh_word_sorting", 0, "syndrome") == 0.0
    assert score("bbh_word_sorting", 0, "syndrome therefrom therefrom") == 0.0


def test_dyck_normalisation() -> None:
    q = bbh.example_question("bbh_dyck_languages", 1)
    assert q.prompt.split("Input:")[1].split("\n")[0].strip() == "< [ ["
    assert q.answer == "] ] >"
    task = tasks.get("bbh_dyck_languages")
    for good in ("<<<] ] > >>>", "<<<]]> >>>", "<<< ] ]  > >>>", "<<<\n] ]\n>\n>>>"):
        assert task.score(q, good) == 1.0, good
    for bad in ("<<<] ] >>>", "<<<] > ] >>>", "<<<] ] ) >>>", "<<<] ] > > >>>", "<<<>>>"):
        assert task.score(q, bad) == 0.0, bad
    # a final ">" flush against the wrapper is kept (the extractor takes the last ">>>" of a run of ">")
    assert task.score(q, "<<<] ] >>>>") == 1.0
    assert task.score(q, "<<<] ]>>>> then more text") == 1.0
    assert "separated by spaces" in q.prompt


def test_prompt_carries_format_and_answer_instruction() -> None:
    q = bbh.example_question("bbh_date_understanding", 0)
    assert "Answer with the letter of the correct option only" in q.prompt
    assert q.prompt.rstrip().endswith("in the format <<<answer>>>.")
    assert q.metadata["options"]["B"] == "12/25/1937"


def test_questions_are_a_seeded_sample_of_the_examples() -> None:
    task = tasks.get("bbh_navigate")
    a = task.questions(10, seed=0)
    assert a == task.questions(10, seed=0)
    assert a[:4] == task.questions(4, seed=0)
    b = task.questions(10, seed=1)
    assert [q.id for q in a] != [q.id for q in b]
    assert len({q.id for q in a}) == 10
    for q in a:
        index = int(q.id.split("/")[1])
        assert q == Question(
            q.id,
            q.task,
            q.prompt,
            q.answer,
            {**bbh.example_question("bbh_navigate", index).metadata, "seed": 0},
        )


def test_n_larger_than_the_task_returns_every_example_once() -> None:
    qs = tasks.get("bbh_penguins_in_a_table").questions(10_000, seed=3)
    assert len(qs) == 146
    assert sorted(int(q.id.split("/")[1]) for q in qs) == list(range(146))


def test_reference_programs_solve_every_example() -> None:
    import contextlib
    import io

    for name in (
        "bbh_multistep_arithmetic_two",
        "bbh_boolean_expressions",
        "bbh_word_sorting",
        "bbh_dyck_languages",
    ):
        task = tasks.get(name)
        assert task.reference_program is not None
        for q in task.questions(1000):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(task.reference_program(q), {})
            assert task.score(q, wrap_answer(out.getvalue())) == 1.0, (q.id, out.getvalue(), q.answer)


# --- data location and the download fallback ---------------------------------------------------


@pytest.fixture
def empty_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("R1CI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("R1CI_CACHE", str(tmp_path / "cache"))
    bbh._load_examples.cache_clear()
    return tmp_path


def test_missing_file_is_downloaded_once_into_the_cache(
    empty_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = {"canary": "x", "examples": [{"input": "True and False is", "target": "False"}]}
    calls: list[str] = []

    def fake_download(url: str, timeout_s: float = 30.0) -> bytes:
        calls.append(url)
        return json.dumps(payload).encode()

    monkeypatch.setattr(bbh, "_download", fake_download)
    path = bbh.data_file("boolean_expressions")
    assert path == empty_data / "cache" / "data" / "bbh" / "bbh" / "boolean_expressions.json"
    assert calls == [bbh.BBH_URL.format(stem="boolean_expressions")]
    assert bbh.data_file("boolean_expressions") == path  # cached: no second download
    assert len(calls) == 1
    q = tasks.get("bbh_boolean_expressions").questions(5)
    assert [x.answer for x in q] == ["False"]


def test_offline_without_data_gives_a_clear_error(empty_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, timeout_s: float = 30.0) -> bytes:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(bbh, "_download", offline)
    with pytest.raises(bbh.BBHDataError, match=r"R1CI_DATA_DIR.*suzgunmirac/BIG-Bench-Hard"):
        tasks.get("bbh_navigate").questions(3)


def test_a_downloaded_file_that_is_not_bbh_is_rejected(
    empty_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bbh, "_download", lambda url, timeout_s=30.0: b'{"rows": []}')
    with pytest.raises(bbh.BBHDataError, match="not a BIG-Bench-Hard file"):
        bbh.data_file("navigate")
    assert not (empty_data / "cache" / "data" / "bbh" / "bbh" / "navigate.json").exists()


def test_a_one_option_example_still_has_a_wrong_answer() -> None:
    # snarks #88 is published truncated ("(A) The NB"): the near-miss names a letter with no option
    q = bbh.example_question("snarks", 88)
    assert list(q.metadata["options"]) == ["A"]
    wrong = tasks.get("bbh_snarks").extra["corrupt"](q.answer, q)
    assert wrong == "(B)"
    assert tasks.get("bbh_snarks").score(q, wrap_answer(wrong)) == 0.0
    assert tasks.get("bbh_snarks").score(q, wrap_answer(q.answer)) == 1.0
