"""Synthesis/decomposition: a farmer exchanges crops for products by cycling numbered methods.

Each pass runs every method at most once, in order, until a whole pass runs none (this reproduces
all 200 published golds). Our generator draws its own method sets from a tier order
(crops -> intermediate crop -> products), which guarantees termination.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    join_and,
    metadata_program,
    parse_int_list,
    published_samples,
)
from r1ci.tasks.symbench._rewriting import run_methods, tiered_method

DESCRIPTION = "Cycle crop-exchange methods once per round until none applies; report final stocks."
_ALL = ["A", "B", "C", "X", "Y"]
_KIND = {"A": "crop", "B": "crop", "C": "crop", "X": "product", "Y": "product"}

# difficulty -> (number of methods, max coefficient, max initial crop)
_LEVELS = {1: (2, 2, 6), 2: (3, 2, 8), 3: (3, 3, 10), 4: (4, 3, 12), 5: (5, 3, 15)}


def _amount(k: str, n: int) -> str:
    return f"{n} unit{'s' if n > 1 else ''} of {_KIND[k]} {k}"


def _side(counts: dict[str, int]) -> str:
    return " and ".join(_amount(k, n) for k, n in counts.items())


def _problem(methods: list[list[dict[str, int]]], initial: dict[str, int], order: list[str]) -> str:
    crops = [k for k in order if _KIND[k] == "crop"]
    products = [k for k in order if _KIND[k] == "product"]
    n = len(methods)
    names = [("remaining_" if _KIND[k] == "crop" else "obtained_") + k for k in order]
    lines = [
        f"Xiao Li is a farm owner who grows {join_and(crops)}. He can exchange these crops for agricultural "
        f"product{'s' if len(products) > 1 else ''} {join_and(products)}. He has discovered the following methods:",
        "",
        *(f"Method {i}: {_side(a)} can be exchanged for {_side(b)}; this can be done at most once per cycle.\n"
          for i, (a, b) in enumerate(methods, 1)),
        f"Xiao Li cycles through these methods in the given order, executing each at most once per cycle and "
        f"skipping any whose inputs are not available. After Method {n}, start again from Method 1. Continue "
        "until a whole cycle executes no method.",
        "",
        "Initially there are " + ", ".join(_amount(k, v) for k, v in initial.items()) + ".",
        "",
        f"Give the final amounts as a list [{', '.join(names)}]. For example <<<[{', '.join(str(i % 3) for i in range(len(order)))}]>>>.",
    ]
    return "\n".join(lines)


def sample(rng: random.Random, difficulty: int) -> Sample:
    n_methods, k, max_init = _LEVELS[difficulty]
    three_crops = difficulty >= 2 and rng.random() < 0.8
    tiers = [["A", "B"], ["C"], ["X"], ["Y"]] if three_crops else [["A", "B"], ["X"], ["Y"]]
    methods = [tiered_method(rng, tiers, k, k) for _ in range(n_methods)]
    used = {key for m in methods for side in m for key in side}
    order = [key for key in _ALL if key in used or key in ("A", "B")]
    # Crop C is sometimes only ever produced by a method, never grown.
    initial = {key: rng.randint(0 if key == "C" else 1, max_init) for key in order if _KIND[key] == "crop"}
    data = {"initial": initial, "methods": methods, "order": order, "mode": "once"}
    return Sample(_problem(methods, initial, order), json.dumps(run_methods(data)), data)


def check(answer: str, q: Question) -> bool:
    guess = parse_int_list(answer)
    gold = parse_int_list(q.answer or "")
    if guess is None or gold is None:
        return False
    # The published golds list all of A, B, C, X, Y even when the question asks for fewer fields.
    full = q.metadata.get("full_answer")
    return guess == gold or (full is not None and guess == full)


def corrupt(gold: str, q: Question) -> str:
    values = parse_int_list(gold) or []
    bumped = [[*values[:i], values[i] + 1, *values[i + 1 :]] for i in range(len(values))]
    return first_rejected(gold, q, check, (json.dumps(v) for v in bumped))


reference_program = metadata_program(run_methods, "initial", "methods", "order", "mode")


_METHOD_RE = re.compile(r"^Method \d+: (.*?) can be exchanged for (.*?), and this", re.M)
_AMOUNT_RE = re.compile(r"(\d+) units? of (?:crop|product) (\w)")
_FIELDS_RE = re.compile(r"as a list showing \[([^\]]*)\]")


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    methods = [
        [{k: int(n) for n, k in _AMOUNT_RE.findall(lhs)}, {k: int(n) for n, k in _AMOUNT_RE.findall(rhs)}]
        for lhs, rhs in _METHOD_RE.findall(problem)
    ]
    fields = _FIELDS_RE.search(problem)
    if not methods or fields is None:
        raise ValueError(f"{d}: methods or answer fields not found in the question")
    order = [f.strip().split("_")[-1] for f in fields.group(1).split(",")]
    full = [int(x) for x in sol["solution"]["answer"]]
    gold = [full[_ALL.index(k)] for k in order]
    data = {"initial": sol["initial_state"], "methods": methods, "order": order, "mode": "once",
            "full_answer": full}
    return Sample(problem, json.dumps(gold), data)


reference = published_samples("synthesis_decomposition_dataset", _from_published)
