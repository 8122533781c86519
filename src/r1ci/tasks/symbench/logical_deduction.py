"""Logical deduction (CodeSteer's BBH-derived SymBench task): order objects from clues, pick the true option.

As in BIG-Bench-Hard: golfers finishing, books on a shelf, birds on a branch, vehicles by age or
fruits by price; clues fix one order; which of the options ("The X is the second from the left")
holds? Difficulty sets the number of objects (3 .. 7). Clues are drawn from the hidden order until
exactly one order satisfies them (checked by brute force), so every question has one right option.
The reference set is CodeSteer's copy of BBH `logical_deduction_seven_objects`; `solve_logical_deduction`
parses every BBH wording (the three BBH tasks' reference programs use it too).
"""

from __future__ import annotations

import itertools
import random

from r1ci.tasks.base import Sample
from r1ci.tasks.bbh import FORMATS
from r1ci.tasks.symbench.common import bbh_derived_task

NAME = "logical_deduction"
_FORMAT = FORMATS["multiple_choice"]
_SIZES = {1: 3, 2: 4, 3: 5, 4: 6, 5: 7}
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh")
_NUMBER_WORDS = ("three", "four", "five", "six", "seven")
_INTRO = (
    "The following paragraphs each describe a set of {k} objects arranged in a fixed order. "
    "The statements are logically consistent within each paragraph. "
)
# scenario -> (intro, object pool, is-verb, pairwise "smaller rank" / "larger rank" phrase)
_SCENARIOS = {
    "golf": ("In a golf tournament, there were {k} golfers: {items}.",
             ["Ana", "Eve", "Ada", "Dan", "Rob", "Amy", "Joe", "Eli", "Mel", "Mya", "Mia", "Ron", "Ken"]),
    "shelf": ("On a shelf, there are {k} books: {items}.",
              [f"{c} book" for c in ["white", "green", "brown", "gray", "orange", "red", "blue", "purple", "yellow", "black"]]),
    "branch": ("On a branch, there are {k} birds: {items}.",
               "quail owl raven falcon robin cardinal hummingbird crow hawk blue jay".replace("blue jay", "blue_jay").split()),
    "cars": ("In an antique car show, there are {k} vehicles: {items}.",
             ["hatchback", "bus", "convertible", "tractor", "minivan", "sedan", "limousine", "truck", "station_wagon", "motorcyle"]),
    "fruit": ("A fruit stand sells {k} fruits: {items}.",
              ["apples", "kiwis", "loquats", "mangoes", "oranges", "peaches", "pears", "plums", "watermelons", "cantaloupes"]),
}


def solve_logical_deduction(text: str) -> str:
    """Brute force: every order of the objects that satisfies all clues; return the option that holds."""
    import itertools
    import re

    ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh"]
    body, _, options_text = text.partition("Options:")
    listing = body.rpartition(": ")[2]
    items_text, _, clues_text = listing.partition(". ")
    items = [re.sub(r"^(and |a |an )+", "", p.strip()) for p in re.split(r",\s*", items_text)]
    items = [re.sub(r"^(and |a |an )+", "", p) for p in items if p]
    n = len(items)

    def name(s: str) -> str:
        return re.sub(r"^the ", "", s.strip().lower())

    def position(word: str, side: str) -> int:
        k = n if word in ("last", "rightmost") else ordinals.index(word) + 1
        return n + 1 - k if side == "right" else k

    def constraint(sentence: str):  # -> function(rank dict) -> bool; rank 1 = first/leftmost/oldest/cheapest
        s = sentence.strip().rstrip(".").lower()
        rules = [
            (r"(.+) finished (above|below) (.+)", lambda m: (m[1], m[3], m[2] == "above")),
            (r"(.+) (?:is|are) to the (left|right) of (.+)", lambda m: (m[1], m[3], m[2] == "left")),
            (r"(.+) (?:is|are) (older|newer) than (.+)", lambda m: (m[1], m[3], m[2] == "older")),
            (r"(.+) (?:is|are) (less|more) expensive than (.+)", lambda m: (m[1], m[3], m[2] == "less")),
        ]
        for pattern, parts in rules:
            m = re.fullmatch(pattern, s)
            if m:
                a, b, a_first = parts(m)
                a, b = name(a), name(b)
                return lambda r: (r[a] < r[b]) == a_first
        fixed = [
            (r"(.+) finished (\w+)-to-last", lambda m: n - ordinals.index(m[2])),
            (r"(.+) finished (\w+)", lambda m: position(m[2], "left")),
            (r"(.+) (?:is|are) the (leftmost|rightmost)", lambda m: 1 if m[2] == "leftmost" else n),
            (r"(.+) (?:is|are) the (\w+) from the (left|right)", lambda m: position(m[2], m[3])),
            (r"(.+) (?:is|are) the (oldest|newest|cheapest|most expensive)",
             lambda m: 1 if m[2] in ("oldest", "cheapest") else n),
            (r"(.+) (?:is|are) the (\w+)-(oldest|newest|cheapest|most expensive)",
             lambda m: position(m[2], "left" if m[3] in ("oldest", "cheapest") else "right")),
        ]
        for pattern, where in fixed:
            m = re.fullmatch(pattern, s)
            if m:
                a, k = name(m[1]), where(m)
                return lambda r: r[a] == k
        raise ValueError(f"cannot read the statement {sentence!r}")

    clues = [constraint(c) for c in re.split(r"(?<=\.)\s+", clues_text.strip()) if c.strip()]
    options = re.findall(r"\(([A-Z])\) (.+)", options_text)
    keys = [name(i) for i in items]
    solutions = []
    for order in itertools.permutations(range(1, n + 1)):
        rank = dict(zip(keys, order, strict=True))
        if all(c(rank) for c in clues):
            solutions.append(rank)
    assert len(solutions) == 1, f"{len(solutions)} orders fit the clues"
    true = [letter for letter, text in options if constraint(text)(solutions[0])]
    assert len(true) == 1, f"options holding: {true}"
    return f"({true[0]})"


def _place(scenario: str, obj: str, k: int, n: int) -> str:
    """The sentence fixing `obj` at rank k (1-based) in the scenario's wording."""
    the = obj if scenario == "golf" else f"The {obj}"
    verb = "are" if scenario == "fruit" else "is"
    if scenario == "golf":
        if k == n:
            return f"{the} finished last"
        if k >= n - 2 and k > 3:
            return f"{the} finished {_ORDINALS[n - k]}-to-last"
        return f"{the} finished {_ORDINALS[k - 1]}"
    low, high = {"shelf": ("left", "right"), "branch": ("left", "right"), "cars": ("oldest", "newest"),
                 "fruit": ("cheapest", "most expensive")}[scenario]
    if scenario in ("shelf", "branch"):
        if k == 1 or k == n:
            return f"{the} {verb} the {'leftmost' if k == 1 else 'rightmost'}"
        side, j = ("left", k) if k <= (n + 1) // 2 else ("right", n + 1 - k)
        return f"{the} {verb} the {_ORDINALS[j - 1]} from the {side}"
    if k == 1 or k == n:
        return f"{the} {verb} the {low if k == 1 else high}"
    word, j = (low, k) if k <= (n + 1) // 2 else (high, n + 1 - k)
    return f"{the} {verb} the {_ORDINALS[j - 1]}-{word}"


def _compare(scenario: str, a: str, b: str, a_first: bool) -> str:
    if scenario == "golf":
        return f"{a} finished {'above' if a_first else 'below'} {b}"
    verb = "are" if scenario == "fruit" else "is"
    rel = {"shelf": ("to the left of", "to the right of"), "branch": ("to the left of", "to the right of"),
           "cars": ("older than", "newer than"), "fruit": ("less expensive than", "more expensive than")}[scenario]
    return f"The {a} {verb} {rel[0] if a_first else rel[1]} the {b}"


def _fits(masks: list[int], full: int) -> int:
    """How many orders satisfy every clue (each clue a bitset over all orders)."""
    both = full
    for m in masks:
        both &= m
    return both.bit_count()


def sample(rng: random.Random, difficulty: int) -> Sample:
    n = _SIZES[difficulty]
    scenario = rng.choice(sorted(_SCENARIOS))
    intro, pool = _SCENARIOS[scenario]
    objects = [o.replace("_", " ") for o in rng.sample(pool, n)]
    rank = list(range(n))
    rng.shuffle(rank)  # rank[i] = 0-based position of objects[i]
    orders = list(itertools.permutations(range(n)))
    full = (1 << len(orders)) - 1
    clues: list[str] = []
    masks: list[int] = []
    while _fits(masks, full) != 1:
        if rng.random() < 0.3:
            i = rng.randrange(n)
            clues.append(_place(scenario, objects[i], rank[i] + 1, n))
            hits = (p[i] == rank[i] for p in orders)
        else:
            i, j = rng.sample(range(n), 2)
            clues.append(_compare(scenario, objects[i], objects[j], rank[i] < rank[j]))
            hits = ((p[i] < p[j]) == (rank[i] < rank[j]) for p in orders)
        masks.append(int("".join("1" if h else "0" for h in hits)[::-1], 2))
    # drop clues that the others already imply, so the paragraph is not padded
    for c in range(len(clues) - 1, -1, -1):
        if _fits(masks[:c] + masks[c + 1 :], full) == 1:
            del clues[c], masks[c]
    asked = rng.randrange(n)
    letters = "ABCDEFG"
    options = "\n".join(f"({letters[i]}) {_place(scenario, objects[i], asked + 1, n)}" for i in range(n))
    article = (lambda o: o) if scenario in ("golf", "fruit") else (lambda o: ("an " if o[0] in "aeiou" else "a ") + o)
    listed = [article(o) for o in objects]
    items = ", ".join(listed[:-1]) + f", and {listed[-1]}" if n > 2 else " and ".join(listed)
    text = (
        _INTRO.format(k=_NUMBER_WORDS[n - 3])
        + intro.format(k=_NUMBER_WORDS[n - 3], items=items) + " "
        + ". ".join(clues) + ".\nOptions:\n" + options
    )
    problem = f"{text}\n\n{_FORMAT.instruction}"
    gold = f"({letters[rank.index(asked)]})"
    from r1ci.tasks.bbh import parse_options

    return Sample(problem, gold, {"options": parse_options(text), "objects": n, "scenario": scenario})


TASKS = [bbh_derived_task(NAME, sample, solve_logical_deduction, _FORMAT, bbh_stem="logical_deduction_seven_objects",
                          description="Order objects from positional clues and pick the option that must hold.")]
