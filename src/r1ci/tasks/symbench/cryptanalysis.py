"""Cryptanalysis: deduce a lock's digits and letters from guesses with Mastermind-style feedback.

Generator: a random password (distinct digits, then distinct letters); random guesses are added,
each with its feedback, until exactly one password fits all of them. The digit part and the letter
part get independent feedback, so the candidate sets are filtered separately (90..720 digit
candidates times 650 letter candidates would be too slow to enumerate jointly). Higher levels use
three digits and add redundant guesses. Checker: the password as a list of characters, e.g.
`["5", "3", "F", "A"]` (a bare `53FA` is accepted), compared exactly: the solution is unique.

Reference set: `cryptanalysis` (100 questions, two digits and two letters).
"""

from __future__ import annotations

import itertools
import json
import operator
import random
import string
from functools import lru_cache
from pathlib import Path

import numpy as np

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import cells, read_question_folder

DESCRIPTION = "Deduce a digits-and-letters password from Mastermind-style guess feedback."

# difficulty -> (digits in the lock, letters in the lock, redundant extra guesses)
LEVELS: dict[int, tuple[int, int, int]] = {1: (2, 2, 0), 2: (2, 2, 2), 3: (3, 2, 0), 4: (3, 2, 2), 5: (3, 2, 4)}

_COUNT = {1: "one", 2: "two", 3: "three"}
Signature = tuple[int, int, int, str]


def signature(secret: tuple[str, ...], guess: tuple[str, ...]) -> Signature:
    """(right place, wrong place, absent, direction of the absent ones: 'low', 'high' or '').

    Called for every candidate password after every guess, hence the C-level builtins.
    """
    right = sum(map(operator.eq, guess, secret))
    shared = set(guess).intersection(secret)
    absent = [g for g in guess if g not in shared]
    direction = ""
    if absent:
        if max(absent) < min(secret):
            direction = "low"
        elif min(absent) > max(secret):
            direction = "high"
    return right, len(shared) - right, len(absent), direction


def describe(sig: Signature, total: int, noun: str, low: str, high: str) -> str:
    right, wrong_place, absent, direction = sig

    def amount(k: int) -> str:
        if k == total:
            return "both" if total == 2 else "all"
        return _COUNT[k]

    def plural(k: int) -> str:
        return f"{amount(k)} {noun}{'s are' if k > 1 else ' is'}"

    parts = []
    if right:
        parts.append(f"{plural(right)} correct and in the correct position{'s' if right > 1 else ''}")
    if wrong_place:
        parts.append(f"{plural(wrong_place)} correct but in the wrong position{'s' if wrong_place > 1 else ''}")
    if absent:
        tail = {"low": f" and {low}", "high": f" and {high}", "": ""}[direction]
        parts.append(f"{plural(absent)} incorrect{tail}")
    return "; ".join(parts)


def feedback(secret_digits: tuple[str, ...], secret_letters: tuple[str, ...], guess: str) -> str:
    nd = len(secret_digits)
    d = describe(signature(secret_digits, tuple(guess[:nd])), nd, "number", "too small", "too large")
    ltr = describe(signature(secret_letters, tuple(guess[nd:])), len(secret_letters), "letter",
                   "too early in the alphabet", "too late in the alphabet")
    return f"{d}; {ltr}."


def problem_text(n_digits: int, n_letters: int, guesses: list[tuple[str, str]]) -> str:
    conditions = "\n".join(f"{i}. Guess: {g}, Feedback: {fb}" for i, (g, fb) in enumerate(guesses, 1))
    example = json.dumps(list("XYZW"[: n_digits + n_letters]) if n_digits + n_letters <= 4
                         else [f"C{i + 1}" for i in range(n_digits + n_letters)])
    return (
        f"Please deduce the correct password based on the following {len(guesses)} known conditions:\n"
        f"A certain combination lock consists of {n_digits} numbers (digits 0-9) followed by {n_letters} letters "
        "(A-Z), with neither the numbers nor the letters repeating. Feedback compares the guess with the password "
        "position by position: 'correct and in the correct position' and 'correct but in the wrong position' "
        "have their usual meaning; an incorrect number is 'too small' / 'too large' when it is smaller / larger "
        "than every number in the password (an incorrect letter is 'too early' / 'too late in the alphabet' "
        "likewise); when several are incorrect, the direction is given only if it holds for all of them.\n"
        f"{conditions}\n"
        f"Please provide your answer in the format <<< {example} >>>, listing the {n_digits} numbers and then the "
        f"{n_letters} letters of the password, each as a one-character string."
    )


@lru_cache(maxsize=8)
def _all_candidates(alphabet: str, k: int) -> np.ndarray:
    """Every k-permutation of the alphabet as rows of character codes."""
    return np.array([[ord(ch) for ch in p] for p in itertools.permutations(alphabet, k)], dtype=np.int16)


_DIRECTION_CODE = {"": 0, "low": 1, "high": 2}


def _compatible(cands: np.ndarray, guess: tuple[str, ...], sig: Signature) -> np.ndarray:
    """The candidate rows whose `signature` against `guess` equals `sig` (vectorised: this runs for
    hundreds of candidates per guess, and a Python loop made generation 10x slower)."""
    g = np.array([ord(ch) for ch in guess], dtype=np.int16)
    right = (cands == g).sum(axis=1)
    present = (cands[:, :, None] == g[None, None, :]).any(axis=1)  # guess symbol j occurs in candidate
    common = present.sum(axis=1)
    absent = len(guess) - common
    absent_max = np.where(present, -1, g).max(axis=1)
    absent_min = np.where(present, 10_000, g).min(axis=1)
    low = (absent > 0) & (absent_max < cands.min(axis=1))
    high = (absent > 0) & ~low & (absent_min > cands.max(axis=1))
    direction = np.where(low, 1, np.where(high, 2, 0))
    mask = ((right == sig[0]) & (common - right == sig[1]) & (absent == sig[2])
            & (direction == _DIRECTION_CODE[sig[3]]))
    return cands[mask]


def _guess_part(rng: random.Random, alphabet: str, secret: tuple[str, ...]) -> tuple[str, ...]:
    """Distinct symbols; each slot reuses a password symbol a third of the time so feedback is informative
    (uniform guesses mostly answer 'all incorrect' and need twenty-odd conditions)."""
    out: list[str] = []
    while len(out) < len(secret):
        pick = rng.choice(secret) if rng.random() < 0.35 else rng.choice(alphabet)
        if pick not in out:
            out.append(pick)
    return tuple(out)


def sample(rng: random.Random, difficulty: int) -> Sample:
    nd, nl, extra = LEVELS[difficulty]
    digits = tuple(rng.sample(string.digits, nd))
    letters = tuple(rng.sample(string.ascii_uppercase, nl))
    digit_cands = _all_candidates(string.digits, nd)
    letter_cands = _all_candidates(string.ascii_uppercase, nl)
    guesses: list[tuple[str, str]] = []
    seen = set()
    while len(digit_cands) > 1 or len(letter_cands) > 1 or extra > 0:
        redundant = len(digit_cands) == 1 and len(letter_cands) == 1
        gd = _guess_part(rng, string.digits, digits)
        gl = _guess_part(rng, string.ascii_uppercase, letters)
        guess = "".join(gd + gl)
        if guess in seen or (gd == digits and gl == letters):
            continue
        seen.add(guess)
        digit_cands = _compatible(digit_cands, gd, signature(digits, gd))
        letter_cands = _compatible(letter_cands, gl, signature(letters, gl))
        guesses.append((guess, feedback(digits, letters, guess)))
        extra -= redundant
    answer = list(digits + letters)
    meta = {"answer": answer, "guesses": [g for g, _ in guesses]}
    return Sample(problem_text(nd, nl, guesses), json.dumps(answer), meta)


def parse_password(answer: str, length: int) -> list[str] | None:
    toks = cells(answer)
    if toks is None:
        return None
    if len(toks) == 1 and len(toks[0]) == length:
        toks = list(toks[0])
    return [t.upper() for t in toks]


def check(answer: str, q: Question) -> bool:
    expected: list[str] = q.metadata["answer"]
    return parse_password(answer, len(expected)) == expected


def reference(root: Path) -> list[Sample]:
    out = []
    for question, sol in read_question_folder(root / "cryptanalysis"):
        answer = [str(x) for x in sol["answer"]]
        out.append(Sample(question, json.dumps(answer), {"answer": answer}))
    return out


def corrupt(gold: str, q: Question) -> str:
    """The two numbers swapped (right digits, wrong positions)."""
    ans = list(q.metadata["answer"])
    ans[0], ans[1] = ans[1], ans[0]
    return json.dumps(ans)
