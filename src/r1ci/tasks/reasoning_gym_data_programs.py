"""Short reference programs for the Reasoning-Gym datasets whose question states its data plainly.

For these datasets the question shows its inputs verbatim (an expression, a list of numbers, a word),
so the program a person (or a model) writes after reading it puts that data into Python literals and
computes the answer in a line or two: `print(math.gcd(198, 240))`, not a regex parser of its own
prompt. That is the form the scripted SFT teacher should show: a small model learns to copy the
question's values into a one-line computation, while a generic text parser is a program it cannot
imitate (an SFT run on parser programs scored 0% where the short form scored 72%; docs/results.md).

The literals are the question's *inputs* (Reasoning-Gym keeps them in `rg_metadata`), never the stored
answer; `r1ci tasks check` runs every program in the sandbox and compares its output with the gold.
The other datasets keep their question-parsing solvers (`reasoning_gym_programs.PROGRAMS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from r1ci.tasks.base import Question


def _inputs(q: Question) -> dict[str, Any]:
    return q.metadata["rg_metadata"]


def _expression(q: Question) -> str:
    return f"expression = {_inputs(q)['expression']!r}\nprint(eval(expression))\n"


def _floor_division_expression(q: Question) -> str:
    # the dataset evaluates `/` as floor division (exact except inside nested negations)
    return f"expression = {_inputs(q)['expression']!r}\nprint(eval(expression.replace('/', '//')))\n"


def _letter_counting(q: Question) -> str:
    m = _inputs(q)
    return (f"words = {m['span']!r}\nletter = {m['target_letter']!r}\n"
            "print(sum(word.lower().count(letter.lower()) for word in words))\n")


def _word_sorting(q: Question) -> str:
    m = _inputs(q)
    return (f"words = {m['transformed_words']!r}\n"
            f"print(', '.join(sorted(words, reverse={m['direction'] == 'descending'})))\n")


def _numbers_call(function: str) -> Callable[[Question], str]:
    def make(q: Question) -> str:
        return f"import math\nnumbers = {_inputs(q)['numbers']!r}\nprint(math.{function}(*numbers))\n"

    return make


def _spell_backward(q: Question) -> str:
    return f"word = {_inputs(q)['word']!r}\nprint(word[::-1])\n"


def _word_sequence_reversal(q: Question) -> str:
    return f"words = {_inputs(q)['words']!r}\nprint(', '.join(reversed(words)))\n"


def _count_bits(q: Question) -> str:
    return f"n = {_inputs(q)['number']!r}\nprint(bin(n).count('1'))\n"


DATA_PROGRAMS: dict[str, Callable[[Question], str]] = {
    "basic_arithmetic": _floor_division_expression,
    "chain_sum": _expression,
    "products": _expression,
    "letter_counting": _letter_counting,
    "word_sorting": _word_sorting,
    "gcd": _numbers_call("gcd"),
    "lcm": _numbers_call("lcm"),
    "spell_backward": _spell_backward,
    "word_sequence_reversal": _word_sequence_reversal,
    "count_bits": _count_bits,
}
