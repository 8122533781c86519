"""String insertion: one pass of pattern-triggered insertions over a letter string.

Semantics (shared with the published set, checked over all 200 of its golds): every occurrence of
a rule's pattern is found in the *original* string (occurrences may overlap) and the rule's
character is inserted right after it. All patterns of one question have the same length, so at
most one rule fires at any position and the result is unique.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    join_and,
    metadata_program,
    published_samples,
    strip_wrapping,
)

DESCRIPTION = "Apply one round of pattern-triggered character insertions to a string."
_ALPHABET = "ABCDEFG"

# difficulty -> (alphabet size, number of rules, pattern length, string length range)
_LEVELS: dict[int, tuple[int, int, int, tuple[int, int]]] = {
    1: (4, 3, 3, (8, 12)),
    2: (5, 4, 4, (12, 18)),
    3: (5, 5, 4, (18, 26)),
    4: (6, 5, 4, (26, 36)),
    5: (7, 6, 4, (36, 50)),
}


def solve_string_insertion(data: dict) -> str:
    """Insert each rule's character after every (possibly overlapping) match in the original string."""
    s = data["string"]
    rules = {pattern: char for pattern, char in data["rules"]}
    width = len(data["rules"][0][0])
    out = []
    for i, ch in enumerate(s):
        out.append(ch)
        window = s[i + 1 - width : i + 1] if i + 1 >= width else ""
        if window in rules:
            out.append(rules[window])
    return "".join(out)


def _problem(letters: str, rules: list[list[str]], s: str) -> str:
    names = join_and(letters)
    lines = [
        f"Given a string consisting of the characters {names}, define the operation T as follows:",
        "",
        *(f"{i}. If there is a substring {p} in the string, insert the character {c} right after that substring."
          for i, (p, c) in enumerate(rules, 1)),
        "",
        f"Question: Given the string {s}, what will the string be after one operation T?",
        "All matches are found in the original string (matches may overlap); each match gets its own "
        "inserted character, and the insertions are carried out from left to right.",
        "Return the answer with the format <<<a string>>>, for example <<<ABCDE>>>.",
    ]
    return "\n".join(lines)


def sample(rng: random.Random, difficulty: int) -> Sample:
    n_letters, n_rules, width, (lo, hi) = _LEVELS[difficulty]
    letters = _ALPHABET[:n_letters]
    patterns: list[str] = []
    while len(patterns) < n_rules:
        p = "".join(rng.choice(letters) for _ in range(width))
        if p not in patterns and len(set(p)) > 1:
            patterns.append(p)
    rules = [[p, rng.choice(letters)] for p in patterns]
    s = list(rng.choice(letters) for _ in range(rng.randint(lo, hi)))
    # Plant one or two patterns so every question has at least one insertion to make.
    for _ in range(rng.randint(1, 2)):
        p = rng.choice(patterns)
        at = rng.randint(0, len(s) - width)
        s[at : at + width] = list(p)
    text = "".join(s)
    data = {"string": text, "rules": rules}
    return Sample(_problem(letters, rules, text), solve_string_insertion(data), data)


def check(answer: str, q: Question) -> bool:
    guess = re.sub(r"\s+", "", strip_wrapping(answer)).upper()
    return q.answer is not None and guess == q.answer


def corrupt(gold: str, q: Question) -> str:
    # Near misses: forget the last insertion, or insert once too often.
    s = q.metadata["string"]
    return first_rejected(gold, q, check, [s, gold[:-1], gold + gold[-1], gold[1:]])


reference_program = metadata_program(solve_string_insertion, "string", "rules")


_RULE_RE = re.compile(r"substring (\w+) in the string, insert the character (\w)")


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    rules = [[p, c] for p, c in _RULE_RE.findall(problem)]
    return Sample(problem, sol["modified_string"], {"string": sol["original_string"], "rules": rules})


reference = published_samples("string_insertion", _from_published)
