"""0/1 knapsack: choose items under a weight limit to maximise total value.

Several subsets can be optimal, so the checker validates the chosen items (distinct, existing,
within capacity) and that their value equals the optimum computed at generation time by DP.
"""

from __future__ import annotations

import random

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import first_rejected, metadata_program, parse_int_list

DESCRIPTION = "0/1 knapsack: pick items within a weight limit that maximise total value."

# difficulty -> (items, max weight, max value)
_LEVELS = {1: (4, 10, 20), 2: (6, 15, 30), 3: (9, 20, 50), 4: (12, 30, 80), 5: (16, 40, 120)}


def solve_knapsack(data: dict) -> str:
    """Exact DP over capacities; returns one optimal set of 1-based item numbers, sorted."""
    weights, values, cap = data["weights"], data["values"], data["capacity"]
    n = len(weights)
    best = [[0] * (cap + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        w, v = weights[i - 1], values[i - 1]
        for c in range(cap + 1):
            best[i][c] = best[i - 1][c]
            if w <= c and best[i - 1][c - w] + v > best[i][c]:
                best[i][c] = best[i - 1][c - w] + v
    chosen, c = [], cap
    for i in range(n, 0, -1):
        if best[i][c] != best[i - 1][c]:
            chosen.append(i)
            c -= weights[i - 1]
    return str(sorted(chosen))


def _problem(weights: list[int], values: list[int], cap: int) -> str:
    rows = "\n".join(f"Item {i}: weight {w}, value {v}" for i, (w, v) in enumerate(zip(weights, values, strict=True), 1))
    return (
        f"A thief has a knapsack that can carry a total weight of at most {cap}. The available items are:\n\n"
        f"{rows}\n\n"
        "Each item can be taken at most once. Choose the items that maximise the total value without exceeding "
        "the weight limit. If several choices reach the maximum value, any of them is accepted.\n"
        "Give the chosen item numbers as a list, for example <<<[1, 3, 4]>>>."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, max_w, max_v = _LEVELS[difficulty]
    weights = [rng.randint(1, max_w) for _ in range(n)]
    values = [rng.randint(1, max_v) for _ in range(n)]
    cap = max(max(weights) // 2 + 1, round(sum(weights) * rng.uniform(0.35, 0.6)))
    data = {"weights": weights, "values": values, "capacity": cap}
    gold = solve_knapsack(data)
    data["best"] = sum(values[i - 1] for i in parse_int_list(gold) or [])
    return Sample(_problem(weights, values, cap), gold, data)


def check(answer: str, q: Question) -> bool:
    items = parse_int_list(answer)
    meta = q.metadata
    n = len(meta["weights"])
    if items is None or len(set(items)) != len(items) or any(not 1 <= i <= n for i in items):
        return False
    weight = sum(meta["weights"][i - 1] for i in items)
    value = sum(meta["values"][i - 1] for i in items)
    return weight <= meta["capacity"] and value == meta["best"]


def corrupt(gold: str, q: Question) -> str:
    items = parse_int_list(gold) or []
    n = len(q.metadata["weights"])
    drops = [str([x for x in items if x != i]) for i in items]
    adds = [str(sorted([*items, i])) for i in range(1, n + 1) if i not in items]
    return first_rejected(gold, q, check, [*drops, *adds])


reference_program = metadata_program(solve_knapsack, "weights", "values", "capacity")
