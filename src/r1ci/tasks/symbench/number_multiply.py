"""Number multiplication: the exact product of several signed integers of given digit lengths.

A task that is trivial with an interpreter and error-prone in text, which is why SymBench has it:
it measures whether a model knows when to reach for code. Difficulty sets the digit lengths, from
two short factors up to two 20-digit factors (the published "varied complexity" range).

Reference set: `number_multiply/digit_*` (300 questions; factors of 1, 2, 3, 4 digits);
`VARIANTS["varied_complexity"]` reads `number_multiply_varied_complexity` (4..20-digit pairs).
"""

from __future__ import annotations

import ast
import math
import random
import re
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import group_dirs, sample_dirs
from r1ci.tasks.symbench.common import ReferenceParser

DESCRIPTION = "Exact product of several signed integers of growing digit lengths."

# difficulty -> digit-length patterns to choose from
LEVELS: dict[int, tuple[tuple[int, ...], ...]] = {
    1: ((2, 2), (1, 3), (2, 3)),
    2: ((1, 2, 4), (1, 3, 4)),
    3: ((1, 2, 2, 4), (4, 4), (3, 5)),
    4: ((8, 8), (2, 3, 4, 5), (6, 7)),
    5: ((12, 12), (16, 16), (20, 20)),
}

_INT_ANSWER = re.compile(r"[+-]?\d{1,3}(,\d{3})+|[+-]?\d+")


def _factor(rng: random.Random, digits: int) -> int:
    value = rng.randint(10 ** (digits - 1) if digits > 1 else 1, 10**digits - 1)
    return -value if rng.random() < 0.3 else value


def problem_text(numbers: list[int]) -> str:
    expr = "*".join(str(n) for n in numbers)
    return (
        f"What is the result of {expr}?\n"
        "Give the exact integer (no rounding, no scientific notation), e.g. <<<-18432128>>>."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    pattern = rng.choice(LEVELS[difficulty])
    numbers = [_factor(rng, d) for d in pattern]
    return Sample(problem_text(numbers), str(math.prod(numbers)), {"numbers": numbers})


def parse_integer(answer: str) -> int | None:
    """`-18432128`, `-18,432,128` or `18432128.0`; None for anything else."""
    text = answer.strip().replace(" ", "").replace("_", "")
    if text.endswith(".0"):
        text = text[:-2]
    if len(text) > 200 or not _INT_ANSWER.fullmatch(text):
        return None
    return int(text.replace(",", ""))


def check(answer: str, q: Question) -> bool:
    value = parse_integer(answer)
    return value is not None and value == math.prod(q.metadata["numbers"])


def _read(root: Path, folder: str) -> list[Sample]:
    out = []
    for group in group_dirs(root / folder, 1):
        for d in sample_dirs(group):
            numbers = [int(x) for x in ast.literal_eval((d / "input_value_list.txt").read_text().strip())]
            gold = int((d / "target_answer.txt").read_text().strip())
            out.append(Sample(problem_text(numbers), str(gold),
                              {"numbers": numbers, "group": group.name, "sample": d.name}))
    return out


def reference(root: Path) -> list[Sample]:
    return _read(root, "number_multiply")


VARIANTS: dict[str, ReferenceParser] = {
    "varied_complexity": lambda root: _read(root, "number_multiply_varied_complexity"),
}


def corrupt(gold: str, q: Question) -> str:
    """Off by one in the last digit: the classic near miss of a text-only multiplication."""
    return str(int(gold) + 1)


def reference_program(q: Question) -> str:
    numbers = q.metadata["numbers"]
    return f"import math\n\nprint(math.prod({numbers!r}))\n"
