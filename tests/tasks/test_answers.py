"""The `<<<answer>>>` protocol: the last wrapper wins, read from the end."""

from __future__ import annotations

import time

import pytest

from r1ci.tasks.answers import extract_answer, wrap_answer


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("", None),
        ("no wrapper", None),
        ("<<<42>>>", "42"),
        ("first <<<1>>> then <<<2>>>", "2"),
        ("<<<] ) >>>>", "] ) >"),  # an answer ending in ">" flush against the wrapper
        ("<<<< > >>>", "< >"),
        ("<<<a>>> <<<b", "a"),  # an unclosed wrapper after the answer
        ("<<<a>>> and then >>>", "a"),
        ("<<<\nMove A\nMove B\n>>>", "Move A\nMove B"),
        ("<<<   >>>", ""),
        # a Brainf*ck program quoted in a code turn: unbalanced <<< / >>> before the answer
        ("```python\nprint(run('>>>>[-]<<<<<[>>>>+<-]>>>>>[<<<<<+>>>>>-]<<<<<<'))\n```\nIt printed 56. <<<56>>>", "56"),
        (">>> print(1)\n1\nSo the answer is <<<1>>>", "1"),
    ],
)
def test_the_last_wrapper_is_the_answer(text: str, answer: str | None) -> None:
    assert extract_answer(text) == answer


def test_wrap_answer_round_trips() -> None:
    for answer in ("42", "] ) >", "< >", "a\nb"):
        assert extract_answer(f"reasoning {wrap_answer(answer)}") == answer


def test_hostile_text_is_linear_time() -> None:
    started = time.perf_counter()
    for text in ("<<<" * 100_000, ">>>" * 100_000, "<" * 300_000 + ">>>", ("<<<a" + ">>>x") * 50_000):
        extract_answer(text)
    assert time.perf_counter() - started < 2.0
