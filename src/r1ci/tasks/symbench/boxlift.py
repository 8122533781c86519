"""BoxLift: schedule lifters (alone or combined) to lift every box within a step budget.

Rules (SymBench): in each step every lifter helps lift at most one box; a box is lifted when the
capacities of the lifters assigned to it add up to its weight; all boxes must be lifted within
`max_steps` steps. The budget is the step count of the published greedy estimator (heaviest box
first, lifters taken in list order), which we reimplement to keep reference budgets identical; from
level 4 on it is tightened to what our best-fit planner achieves. Checker: simulates the plan;
any malformed step, unknown or already-lifted box weight, repeated or out-of-range lifter, weak
team or leftover box gives 0.

Reference set: `BoxLift_dataset` (40 instances); `VARIANTS["sft"]` reads `BoxLift_dataset_SFT` (200).
"""

from __future__ import annotations

import ast
import json
import random
import re
from collections import Counter
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import group_dirs, numbered_dirs, program_from
from r1ci.tasks.symbench.common import ReferenceParser

DESCRIPTION = "Assign lifters (alone or in teams) to lift all boxes within a step budget."

Plan = list[list[tuple[int, list[int]]]]

# difficulty -> (boxes, lifters, box weight range, lifter capacity range, tighten budget to our planner)
LEVELS: dict[int, tuple[int, int, tuple[int, int], tuple[int, int], bool]] = {
    1: (6, 2, (10, 100), (40, 80), False),
    2: (10, 3, (10, 100), (40, 80), False),
    3: (15, 4, (20, 200), (30, 120), False),
    4: (20, 5, (20, 250), (30, 120), True),
    5: (25, 6, (20, 300), (30, 120), True),
}

_STEP_RE = re.compile(r"Step\s*(\d+)\s*:", re.IGNORECASE)


def greedy_plan(boxes: list[int], lifters: list[int]) -> Plan:
    """The published estimator as a plan: each step, heaviest boxes first; a box takes lifters in list
    order until their capacity covers it (skipped if all remaining lifters together cannot)."""
    remaining = sorted(boxes, reverse=True)
    plan: Plan = []
    while remaining:
        free = list(range(len(lifters)))
        step: list[tuple[int, list[int]]] = []
        i = 0
        while i < len(remaining) and free:
            box = remaining[i]
            if sum(lifters[j] for j in free) >= box:
                team: list[int] = []
                strength = 0
                for j in list(free):
                    team.append(j)
                    strength += lifters[j]
                    if strength >= box:
                        break
                free = [j for j in free if j not in team]
                step.append((box, team))
                remaining.pop(i)
            else:
                i += 1
        if not step:
            raise ValueError(f"box {remaining[0]} outweighs all lifters together {lifters}; no plan exists")
        plan.append(step)
    return plan


def best_fit_plan(boxes: list[int], lifters: list[int]) -> Plan:
    """Each step, heaviest boxes first; a box takes the weakest single lifter that can hold it, else
    the strongest free lifters until covered, then drops team members it does not need."""
    remaining = sorted(boxes, reverse=True)
    plan: Plan = []
    while remaining:
        free = sorted(range(len(lifters)), key=lambda j: lifters[j])
        step: list[tuple[int, list[int]]] = []
        for box in list(remaining):
            if not free or sum(lifters[j] for j in free) < box:
                continue
            single = next((j for j in free if lifters[j] >= box), None)
            if single is not None:
                team = [single]
            else:
                team = []
                for j in sorted(free, key=lambda j: -lifters[j]):
                    team.append(j)
                    if sum(lifters[t] for t in team) >= box:
                        break
                for j in sorted(team, key=lambda j: -lifters[j]):
                    if len(team) > 1 and sum(lifters[t] for t in team) - lifters[j] >= box:
                        team.remove(j)
            free = [j for j in free if j not in team]
            step.append((box, sorted(team)))
            remaining.remove(box)
        if not step:
            raise ValueError(f"box {remaining[0]} outweighs all lifters together {lifters}; no plan exists")
        plan.append(step)
    return plan


def format_plan(plan: Plan) -> str:
    return "\n".join(f"Step {i + 1}: " + repr([(w, team) for w, team in step]) for i, step in enumerate(plan))


def parse_plan(answer: str) -> Plan | None:
    """`Step k: [(weight, [lifters]), ...]` lines; None unless the whole answer is such steps."""
    marks = list(_STEP_RE.finditer(answer))
    if not marks or answer[: marks[0].start()].strip():
        return None
    plan: Plan = []
    for k, m in enumerate(marks):
        body = answer[m.end(): marks[k + 1].start() if k + 1 < len(marks) else len(answer)].strip().rstrip(",;")
        if len(body) > 5000:
            return None
        try:
            items = ast.literal_eval(body) if body else []
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        if isinstance(items, tuple) and len(items) == 2 and isinstance(items[0], int):
            items = [items]  # a single assignment written without the list brackets
        if not isinstance(items, list | tuple):
            return None
        step = []
        for item in items:
            if not (isinstance(item, list | tuple) and len(item) == 2 and type(item[0]) is int
                    and isinstance(item[1], list | tuple) and all(type(j) is int for j in item[1])):
                return None
            step.append((item[0], list(item[1])))
        plan.append(step)
    return plan


def check(answer: str, q: Question) -> bool:
    boxes: list[int] = q.metadata["boxes"]
    lifters: list[int] = q.metadata["lifters"]
    plan = parse_plan(answer)
    if plan is None or len(plan) > q.metadata["max_steps"]:
        return False
    remaining = Counter(boxes)
    for step in plan:
        used: set[int] = set()
        for weight, team in step:
            if remaining[weight] <= 0 or not team or len(set(team)) != len(team):
                return False
            if any(not 0 <= j < len(lifters) or j in used for j in team):
                return False
            if sum(lifters[j] for j in team) < weight:
                return False
            used.update(team)
            remaining[weight] -= 1
    return sum(remaining.values()) == 0


def problem_text(boxes: list[int], lifters: list[int], max_steps: int) -> str:
    return (
        "Task: BoxLift\n\n"
        f"You are given a list of boxes with the following weights: {boxes}\n"
        f"And a list of lifters with the following maximum lifting capacities: {lifters}\n\n"
        "Your task is to assign the lifters to lift all the boxes in multiple steps, following these rules:\n"
        "1. Multiple boxes can be lifted in each step.\n"
        "2. Each lifter can only lift one box at a time.\n"
        "3. Each lifting agent can be used only once in each step.\n"
        "4. Multiple lifters can combine together to lift one box if the box is too heavy for a single lifter "
        "(the sum of their capacities must be at least the box weight).\n"
        "5. Try to lift all the boxes using the minimum number of steps possible.\n"
        f"6. You need to lift all the boxes in less than or equal to {max_steps} steps.\n\n"
        "Lifters are referred to by their 0-based index in the list above. Write one line per step:\n"
        "Step 1: [(Box weight, [Lifter indices]), (Box weight, [Lifter indices]), ...]\n"
        "Step 2: [(Box weight, [Lifter indices]), ...]\n"
        "For example, Step 1: [(50, [0, 2]), (30, [1]), (20, [3])] means that in Step 1 lifters 0 and 2 lift a "
        "box weighing 50, lifter 1 lifts a box weighing 30, and lifter 3 lifts a box weighing 20.\n"
        "Surround the whole plan with <<< >>>, e.g. <<<Step 1: [(50, [0, 2]), (30, [1])]\nStep 2: [(40, [0, 1])]>>>"
    )


def _instance(boxes: list[int], lifters: list[int], tighten: bool, extra: dict[str, object]) -> Sample:
    published = greedy_plan(boxes, lifters)
    ours = best_fit_plan(boxes, lifters)
    gold = ours if len(ours) <= len(published) else published
    max_steps = len(gold) if tighten else len(published)
    meta = {"boxes": boxes, "lifters": lifters, "max_steps": max_steps, **extra}
    return Sample(problem_text(boxes, lifters, max_steps), format_plan(gold), meta)


def sample(rng: random.Random, difficulty: int) -> Sample:
    n_boxes, n_lifters, (bw_lo, bw_hi), (lc_lo, lc_hi), tighten = LEVELS[difficulty]
    lifters = [rng.randint(lc_lo, lc_hi) for _ in range(n_lifters)]
    cap = sum(lifters)
    boxes = [min(rng.randint(bw_lo, bw_hi), cap) for _ in range(n_boxes)]
    return _instance(boxes, lifters, tighten, {})


def _read(folder: Path) -> list[Sample]:
    out = []
    for group in group_dirs(folder, 1):
        for d in numbered_dirs(group, "BoxLift"):
            data = json.loads((d / "BoxLift.json").read_text(encoding="utf-8"))
            out.append(_instance(data["boxes"], data["lifters"], False, {"group": group.name, "item": d.name}))
    return out


def reference(root: Path) -> list[Sample]:
    return _read(root / "BoxLift_dataset")


VARIANTS: dict[str, ReferenceParser] = {"sft": lambda root: _read(root / "BoxLift_dataset_SFT")}


def corrupt(gold: str, q: Question) -> str:
    """The plan without its last assignment: one box is never lifted."""
    plan = parse_plan(gold) or []
    while plan and not plan[-1]:
        plan.pop()
    if plan:
        plan[-1] = plan[-1][:-1]
    return format_plan(plan)


def reference_program(q: Question) -> str:
    m = q.metadata
    return program_from(
        [greedy_plan, best_fit_plan],
        f"(lambda a, b: '\\n'.join(f'Step {{i + 1}}: {{s!r}}' for i, s in enumerate(a if len(a) <= len(b) else b)))"
        f"(best_fit_plan({m['boxes']!r}, {m['lifters']!r}), greedy_plan({m['boxes']!r}, {m['lifters']!r}))",
    )
