"""Statistical counting: score the runs of repeated letters in a string.

Each maximal run of a letter that is at least the rule's minimum length adds the rule's score
once (this reproduces all 200 published golds). Our generator varies the scores, the minimum
run lengths and the alphabet.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    join_and,
    metadata_program,
    parse_number,
    published_samples,
)

DESCRIPTION = "Score the runs of repeated letters in a string under per-letter rules."
_WORDS = {2: "two", 3: "three", 4: "four"}

# difficulty -> (number of letters, string length range, max run threshold, max score)
_LEVELS = {1: (2, (5, 10), 2, 3), 2: (3, (10, 18), 2, 5), 3: (4, (18, 30), 3, 6), 4: (5, (30, 45), 3, 8),
           5: (7, (45, 70), 4, 9)}


def score_runs(data: dict) -> int:
    """Sum of rule scores over maximal runs of a letter at least `min_consecutive` long."""
    rules = {r["letter"]: r for r in data["rules"]}
    seq, total, i = data["sequence"], 0, 0
    while i < len(seq):
        j = i
        while j < len(seq) and seq[j] == seq[i]:
            j += 1
        rule = rules.get(seq[i])
        if rule is not None and j - i >= rule["min_consecutive"]:
            total += rule["score"]
        i = j
    return total


def _problem(rules: list[dict], seq: str) -> str:
    letters = [r["letter"] for r in rules]
    names = join_and(letters)
    lines = [
        f"The initial total score is 0. Given a string consisting of letters {names}, scan from front to back:",
        "",
        *(f"{i}. Every maximal run of {_WORDS[r['min_consecutive']]} or more consecutive {r['letter']}'s adds "
          f"{r['score']} to the total score (once per run, however long it is)."
          for i, r in enumerate(rules, 1)),
        "",
        f"What is the total score of the string {seq}?",
        "Return your answer with the format <<<number>>>, like <<<5>>> means the total score is 5.",
    ]
    return "\n".join(lines)


def sample(rng: random.Random, difficulty: int) -> Sample:
    n_letters, (lo, hi), max_run, max_score = _LEVELS[difficulty]
    letters = "ABCDEFG"[:n_letters]
    rules = [{"letter": c, "score": rng.randint(1, max_score), "min_consecutive": rng.randint(2, max_run)}
             for c in letters]
    # Runs of random length make streaks common enough to matter.
    seq = ""
    length = rng.randint(lo, hi)
    while len(seq) < length:
        seq += rng.choice(letters) * rng.choice((1, 1, 2, 3, 4))
    seq = seq[:length]
    data = {"sequence": seq, "rules": rules}
    return Sample(_problem(rules, seq), str(score_runs(data)), data)


def check(answer: str, q: Question) -> bool:
    guess = parse_number(answer)
    return guess is not None and q.answer is not None and guess == parse_number(q.answer)


def corrupt(gold: str, q: Question) -> str:
    return first_rejected(gold, q, check, [str(int(gold) + 1)])


reference_program = metadata_program(score_runs, "sequence", "rules")


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    data = {"sequence": sol["sequence"], "rules": sol["rules"]}
    return Sample(problem, str(sol["solution"]), data)


reference = published_samples("statistical_counting_dataset", _from_published)
