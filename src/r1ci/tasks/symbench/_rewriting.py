"""Cyclic multiset rewriting: the shared engine of string_splitting, string_synthesis and
synthesis_decomposition ("cycle through the methods in order until none can be executed").

A method is `[needs, gives]` (two dicts of counts). Two published variants exist and both are
reproduced exactly on the reference sets: mode "once" runs each method at most once per pass
(string_splitting, synthesis_decomposition); mode "max" runs each method as often as it can
before moving on (string_synthesis).
"""

from __future__ import annotations

import random


def run_methods(data: dict) -> list[int]:
    """Final counts, in `data["order"]`, after cycling `data["methods"]` from `data["initial"]`."""
    state = {k: 0 for k in data["order"]}
    state.update(data["initial"])
    methods = data["methods"]
    greedy = data["mode"] == "max"
    for _ in range(10_000):  # a safety net only: every method set we generate or parse strictly decreases
        changed = False
        for needs, gives in methods:
            while all(state.get(k, 0) >= v for k, v in needs.items()):
                for k, v in needs.items():
                    state[k] -= v
                for k, v in gives.items():
                    state[k] = state.get(k, 0) + v
                changed = True
                if not greedy:
                    break
        if not changed:
            return [state[k] for k in data["order"]]
    raise RuntimeError("rewriting did not terminate; the method set is not decreasing")


def tiered_method(
    rng: random.Random, tiers: list[list[str]], max_in: int, max_out: int, min_total_in: int = 1
) -> list[dict[str, int]]:
    """A random method consuming from one tier (plus maybe later ones) and producing only later tiers.

    Every method strictly lowers the lexicographic vector of per-tier counts, so any set of such
    methods terminates under either mode."""
    src = rng.randrange(len(tiers) - 1)
    needs = {k: rng.randint(1, max_in) for k in rng.sample(tiers[src], rng.randint(1, min(2, len(tiers[src]))))}
    later = [k for tier in tiers[src + 1 :] for k in tier]
    if rng.random() < 0.3 and src + 1 < len(tiers) - 1:
        extra = rng.choice(tiers[src + 1])
        needs.setdefault(extra, rng.randint(1, max_in))
    if sum(needs.values()) < min_total_in:
        first = next(iter(needs))
        needs[first] += min_total_in - sum(needs.values())
    outputs = [k for k in later if k not in needs]
    gives = {k: rng.randint(1, max_out) for k in rng.sample(outputs, rng.randint(1, min(2, len(outputs))))}
    return [needs, gives]
