"""Math counting & probability: exact counting and probability questions (our own templates).

Answers are integers or fractions; equivalent forms are accepted (6/16 = 3/8 = \\frac{3}{8} =
0.375), a decimal is accepted only when it is within 5e-6 (relative) of a non-integer gold, and
an integer gold must be matched exactly. The reference set is the MATH "Counting & Probability"
training split.
"""

from __future__ import annotations

import random
from typing import Any

from r1ci.tasks.symbench._math_templates import MathTemplate, math_task

NAME = "math_counting"
_WORDS = {1: ["BOOK", "LEVEL", "APPLE", "EERIE"], 2: ["BANANA", "LETTER", "PEPPER", "COFFEE", "TATTOO"],
          3: ["BALLOON", "SUCCESS", "PARALLEL", "GOOGOL"], 4: ["COMMITTEE", "REFERENCE", "BOOKKEEPER"],
          5: ["MISSISSIPPI", "STATISTICS", "ASSESSMENT", "ABRACADABRA"]}


def _words(rng: random.Random, d: int) -> dict[str, Any]:
    return {"word": rng.choice(_WORDS[d])}


def _committee(rng: random.Random, d: int) -> dict[str, Any]:
    m, w = rng.randint(3, 4 + 3 * d), rng.randint(2, 3 + 2 * d)
    return {"m": m, "w": w, "k": rng.randint(2, min(m, 2 + d))}


def _dice(rng: random.Random, d: int) -> dict[str, Any]:
    n = min(2 + d // 2, 5)
    return {"n": n, "s": rng.randint(n + 1, 6 * n - 1)}


def _divisible(rng: random.Random, d: int) -> dict[str, Any]:
    a, b = rng.sample(range(2, 6 + 2 * d), 2)
    return {"N": rng.randint(10 ** (1 + d) // 2, 10 ** (1 + d)), "a": a, "b": b}


def _divisible_not(rng: random.Random, d: int) -> dict[str, Any]:
    a, b, c = rng.sample(range(2, 8 + 2 * d), 3)
    return {"N": rng.randint(10 ** (1 + d) // 2, 10 ** (1 + d)), "a": a, "b": b, "c": c}


def _marbles(rng: random.Random, d: int) -> dict[str, Any]:
    r, b = rng.randint(2, 3 + 2 * d), rng.randint(2, 3 + 2 * d)
    k = rng.randint(2, min(r + b - 1, 2 + d))
    return {"r": r, "b": b, "k": k, "x": rng.randint(max(0, k - b), min(k, r))}


def _candies(rng: random.Random, d: int) -> dict[str, Any]:
    k, m = rng.randint(2, 2 + d), rng.randint(0, d)
    return {"n": k * m + rng.randint(1, 4 + 4 * d), "k": k, "m": m}


def _derangement(rng: random.Random, d: int) -> dict[str, Any]:
    return {"n": rng.randint(3 + d, 5 + 2 * d)}


def _grid(rng: random.Random, d: int) -> dict[str, Any]:
    a, b = rng.randint(2, 2 + 2 * d), rng.randint(2, 2 + 2 * d)
    return {"a": a, "b": b, "c": rng.randint(1, a - 1), "e": rng.randint(1, b - 1)}


def _at_least_one(rng: random.Random, d: int) -> dict[str, Any]:
    return {"n": rng.randint(2, 2 + 2 * d), "f": rng.randint(1, 6)}


def _round_table(rng: random.Random, d: int) -> dict[str, Any]:
    return {"n": rng.randint(4, 5 + 2 * d)}


def _coefficient(rng: random.Random, d: int) -> dict[str, Any]:
    n = rng.randint(3, 4 + 2 * d)
    return {"n": n, "k": rng.randint(1, n - 1), "a": rng.randint(1, 1 + d), "b": rng.randint(1, 1 + d)}


def _passwords(rng: random.Random, d: int) -> dict[str, Any]:
    return {"n": rng.randint(2, 3 + d)}


def _expected(rng: random.Random, d: int) -> dict[str, Any]:
    return {"s": rng.choice([4, 6, 8, 10, 12, 20][: 2 + d]), "p": rng.randint(1, 1 + (d + 1) // 2)}


TEMPLATES = [
    MathTemplate("How many distinct arrangements of the letters of the word {word} are there?", _words,
                 "result = factorial(len(word))\nfor letter in set(word):\n    result //= factorial(word.count(letter))"),
    MathTemplate("A club has {m} men and {w} women. In how many ways can a committee of {k} members be chosen "
                 "if it must contain at least one woman?", _committee,
                 "result = comb(m + w, k) - comb(m, k)"),
    MathTemplate("{n} fair six-sided dice are rolled. What is the probability that the sum of the numbers shown "
                 "is exactly {s}?", _dice,
                 "ways = {0: 1}\nfor _ in range(n):\n    new = {}\n    for total, w in ways.items():\n"
                 "        for face in range(1, 7):\n            new[total + face] = new.get(total + face, 0) + w\n"
                 "    ways = new\nresult = Fraction(ways.get(s, 0), 6 ** n)"),
    MathTemplate("How many integers from 1 to {N} inclusive are divisible by {a} or by {b} (or both)?", _divisible,
                 "result = N // a + N // b - N // lcm(a, b)"),
    MathTemplate("How many integers from 1 to {N} inclusive are divisible by {a} or by {b} (or both), but not "
                 "by {c}?", _divisible_not,
                 "union = N // a + N // b - N // lcm(a, b)\n"
                 "excluded = N // lcm(a, c) + N // lcm(b, c) - N // lcm(a, b, c)\n"
                 "result = union - excluded"),
    MathTemplate("A bag holds {r} red and {b} blue marbles. {k} marbles are drawn at random without replacement. "
                 "What is the probability that exactly {x} of them are red?", _marbles,
                 "result = Fraction(comb(r, x) * comb(b, k - x), comb(r + b, k))"),
    MathTemplate("In how many ways can {n} identical candies be given to {k} distinguishable children so that "
                 "every child gets at least {m} candies (all candies must be given out)?", _candies,
                 "free = n - k * m\nresult = comb(free + k - 1, k - 1)"),
    MathTemplate("{n} letters are put into their {n} addressed envelopes at random, one letter per envelope. In "
                 "how many ways can this be done so that no letter ends up in its own envelope?", _derangement,
                 "d = [1, 0]\nfor i in range(2, n + 1):\n    d.append((i - 1) * (d[-1] + d[-2]))\nresult = d[n]"),
    MathTemplate("On a grid, a path goes from (0, 0) to ({a}, {b}) using only unit steps right (+1, 0) or up "
                 "(0, +1). How many such paths pass through the point ({c}, {e})?", _grid,
                 "result = comb(c + e, c) * comb(a - c + b - e, a - c)"),
    MathTemplate("A fair six-sided die is rolled {n} times. What is the probability that the number {f} comes up "
                 "at least once?", _at_least_one,
                 "result = 1 - Fraction(5, 6) ** n"),
    MathTemplate("In how many ways can {n} people sit around a round table if two particular people must sit "
                 "next to each other? (Seatings that differ only by a rotation are the same.)", _round_table,
                 "result = 2 * factorial(n - 2)"),
    MathTemplate("What is the coefficient of x^{k} in the expansion of ({a}x + {b})^{n}?", _coefficient,
                 "result = comb(n, k) * a ** k * b ** (n - k)"),
    MathTemplate("How many {n}-character passwords can be formed from the 26 lowercase letters and the 10 digits "
                 "(repetition allowed) if every password must contain at least one digit?", _passwords,
                 "result = 36 ** n - 26 ** n"),
    MathTemplate("A fair {s}-sided die with faces 1 to {s} is rolled once, and you win x^{p} dollars when it "
                 "shows x. What is the expected value of your winnings in dollars?", _expected,
                 "result = Fraction(sum(x ** p for x in range(1, s + 1)), s)"),
]

INSTRUCTION = ("Give the exact answer: an integer, or a fraction in lowest terms such as <<<3/8>>> for a "
               "probability. Return your answer with the format <<<answer>>>.")

TASKS = [math_task(NAME, TEMPLATES, INSTRUCTION, rel=5e-6, exact_integers=True, math_category="counting_and_probability",
                   description="Counting and probability questions with exact integer or fraction answers.")]
