"""Letters: count a letter in a string and list its 1-based positions ("how many r's in strawberry").

Generator: a random lowercase string of the level's length in which the target letter is planted a
chosen number of times (the rest avoids it), so the count is controlled rather than left to chance.
Checker: the answer must be `Count: N, Positions: [p1, p2, ...]` with the right count and exactly
the right positions (any order, no repeats).

Reference set: the whole `Letters` folder (6620 strings from 5 to 800 characters; folder names give
the target letter).
"""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

from r1ci.tasks.base import Question, Sample

DESCRIPTION = "Count a letter in a string and list its 1-based positions."

# difficulty -> (min length, max length, min count, max count)
LEVELS: dict[int, tuple[int, int, int, int]] = {
    1: (5, 10, 1, 3),
    2: (10, 20, 1, 5),
    3: (20, 30, 2, 6),
    4: (50, 100, 5, 15),
    5: (150, 400, 15, 60),
}

_ANSWER_RE = re.compile(
    r"count\s*[:=]\s*(\d+)\s*[,;]?\s*positions\s*[:=]\s*\[([\d\s,]*)\]", re.IGNORECASE
)


def positions_of(word: str, letter: str) -> list[int]:
    return [i + 1 for i, ch in enumerate(word) if ch == letter]


def format_answer(word: str, letter: str) -> str:
    pos = positions_of(word, letter)
    return f"Count: {len(pos)}, Positions: [{', '.join(map(str, pos))}]"


def problem_text(word: str, letter: str) -> str:
    return (
        f"How many '{letter}'s are in the word '{word}' and what are their positions? "
        "The position in the word counts from 1 not 0.\n"
        "Respond in the format <<<Count: X, Positions: [Y, Z, ...]>>>, such as "
        "<<<Count: 2, Positions: [1, 3]>>> (use <<<Count: 0, Positions: []>>> if the letter is absent)."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    lo, hi, cmin, cmax = LEVELS[difficulty]
    length = rng.randint(lo, hi)
    letter = rng.choice(string.ascii_lowercase)
    count = min(rng.randint(cmin, cmax), length)
    others = [c for c in string.ascii_lowercase if c != letter]
    chars = [rng.choice(others) for _ in range(length)]
    for i in rng.sample(range(length), count):
        chars[i] = letter
    word = "".join(chars)
    return Sample(problem_text(word, letter), format_answer(word, letter), {"word": word, "letter": letter})


def check(answer: str, q: Question) -> bool:
    m = _ANSWER_RE.fullmatch(answer.strip().rstrip("."))
    if m is None:
        return False
    listed = [int(t) for t in re.findall(r"\d+", m.group(2))]
    expected = positions_of(q.metadata["word"], q.metadata["letter"])
    return int(m.group(1)) == len(expected) and sorted(listed) == expected


def reference(root: Path) -> list[Sample]:
    """Ordered by length band, then letter, expected count and index (the folder names)."""
    base = root / "Letters"
    if not base.is_dir():
        raise FileNotFoundError(f"SymBench reference folder {base} not found; set R1CI_DATA_DIR")
    bands = sorted(base.iterdir(), key=lambda p: int(p.name.split("_")[4]))
    out = []
    for band in bands:
        items = sorted(band.iterdir(), key=lambda p: (p.name.split("_")[0], int(p.name.split("_")[1]),
                                                      int(p.name.split("_")[2])))
        for item in items:
            word = json.loads((item / "test_words.json").read_text(encoding="utf-8"))
            letter = item.name.split("_")[0]
            out.append(Sample(problem_text(word, letter), format_answer(word, letter),
                              {"word": word, "letter": letter, "band": band.name, "item": item.name}))
    return out


def corrupt(gold: str, q: Question) -> str:
    """Right positions, count off by one."""
    m = _ANSWER_RE.fullmatch(gold)
    if m is None:
        return ""
    return f"Count: {int(m.group(1)) + 1}, Positions: [{m.group(2)}]"


def reference_program(q: Question) -> str:
    word, letter = q.metadata["word"], q.metadata["letter"]
    return (
        f"word = {word!r}\nletter = {letter!r}\n"
        "positions = [i + 1 for i, ch in enumerate(word) if ch == letter]\n"
        "print(f\"Count: {len(positions)}, Positions: [{', '.join(map(str, positions))}]\")\n"
    )
