"""BoxNet: a central planner moves coloured boxes across a grid of agents onto same-coloured targets.

Rules (SymBench BoxNet1): one agent per 1x1 square, named by the square's centre (`Agent[0.5, 1.5]`).
Per step each agent does at most one action on a box in its own square: move it to a 4-adjacent
square, or onto a same-coloured target in the same square (box and target then both disappear).
The plan is a JSON list of steps, each a dict agent -> action. Success when no box and no target is
left. Checker: simulates step by step; every action acts on the state at the start of its step (a
box that arrives during a step can move on only in the next one); an action on a missing box or
target, a non-adjacent move, an unknown agent or a repeated agent key gives 0.

Generator: random boxes and targets, the same number per colour. Gold: each box is paired with its
nearest free target of its colour and walked there row-first, one action per agent per step.

Reference set: `BoxNet1_dataset` (50 layouts); `VARIANTS["sft"]` reads `BoxNet1_dataset_SFT` (150).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import group_dirs, numbered_dirs
from r1ci.tasks.symbench.common import ReferenceParser

DESCRIPTION = "Plan multi-agent box moves on a grid so every box reaches a same-coloured target."

State = dict[str, list[str]]

# difficulty -> (rows, cols, colours, boxes per colour (min, max))
LEVELS: dict[int, tuple[int, int, int, tuple[int, int]]] = {
    1: (1, 2, 2, (1, 1)),
    2: (2, 2, 3, (1, 2)),
    3: (2, 4, 4, (1, 2)),
    4: (3, 4, 4, (2, 2)),
    5: (4, 4, 5, (2, 3)),
}
COLOURS = ("red", "blue", "green", "purple", "orange")
MAX_STEPS = 300

_AGENT_RE = re.compile(r"Agent\[\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*\]")
_ACTION_RE = re.compile(
    r"move\(\s*(box_[a-z]+)\s*,\s*(?:(target_[a-z]+)|square\[\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*\])\s*\)"
)


def key(r: int, c: int) -> str:
    return f"{r + 0.5}_{c + 0.5}"


def cell_of(x: str, y: str) -> tuple[int, int] | None:
    """Centre coordinates -> (row, col); None unless both are k + 0.5."""
    fx, fy = float(x), float(y)
    if (fx - 0.5) % 1 or (fy - 0.5) % 1:
        return None
    return int(fx - 0.5), int(fy - 0.5)


def grid_size(state: State) -> tuple[int, int]:
    cells = [tuple(float(v) for v in k.split("_")) for k in state]
    return int(max(r for r, _ in cells) + 0.5), int(max(c for _, c in cells) + 0.5)


def plan_moves(state: State) -> list[dict[str, str]]:
    """Pair boxes with the nearest free same-colour target, walk each box there (rows first)."""
    boxes = [(k, item[4:]) for k, items in state.items() for item in items if item.startswith("box_")]
    targets = [(k, item[7:]) for k, items in state.items() for item in items if item.startswith("target_")]

    def pos(k: str) -> tuple[int, int]:
        a, b = k.split("_")
        return int(float(a) - 0.5), int(float(b) - 0.5)

    pending: list[dict[str, Any]] = []  # box position, colour, goal
    free = list(targets)
    for k, colour in boxes:
        options = [t for t in free if t[1] == colour]
        if not options:
            raise ValueError(f"box_{colour} at {k} has no target of its colour; the layout is unsolvable")
        r, c = pos(k)
        best = min(options, key=lambda t: abs(pos(t[0])[0] - r) + abs(pos(t[0])[1] - c))
        free.remove(best)
        pending.append({"at": (r, c), "colour": colour, "goal": pos(best[0])})
    if free:
        raise ValueError(f"targets {free} have no box of their colour; the layout is unsolvable")
    steps: list[dict[str, str]] = []
    while pending:
        actions: dict[str, str] = {}
        done, moved = [], []
        # matching beats moving: boxes already at their target act first in their square
        for box in sorted(pending, key=lambda b: b["at"] != b["goal"]):
            (r, c), colour = box["at"], box["colour"]
            agent = f"Agent[{r + 0.5}, {c + 0.5}]"
            if agent in actions:
                continue
            if (r, c) == box["goal"]:
                actions[agent] = f"move(box_{colour}, target_{colour})"
                done.append(box)
            else:
                gr, gc = box["goal"]
                nr, nc = (r + (gr > r) - (gr < r), c) if gr != r else (r, c + (gc > c) - (gc < c))
                actions[agent] = f"move(box_{colour}, square[{nr + 0.5}, {nc + 0.5}])"
                moved.append((box, (nr, nc)))
        for box in done:
            pending.remove(box)
        for box, dest in moved:
            box["at"] = dest
        steps.append(actions)
        if len(steps) > MAX_STEPS:
            raise RuntimeError("BoxNet planner did not converge; this is a bug")
    return steps


def _pairs_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("an agent appears twice in one step")
    return dict(pairs)


def simulate(state: State, steps: list[Any]) -> bool:
    """True iff the steps are all legal and clear every box and target."""
    rows, cols = grid_size(state)
    cur = {k: list(v) for k, v in state.items()}
    for step in steps:
        if not isinstance(step, dict):
            return False
        start = {k: list(v) for k, v in cur.items()}
        for agent, action in step.items():
            am = _AGENT_RE.fullmatch(agent.strip()) if isinstance(agent, str) else None
            xm = _ACTION_RE.fullmatch(action.strip()) if isinstance(action, str) else None
            if am is None or xm is None:
                return False
            here = cell_of(*am.groups())
            if here is None or not (0 <= here[0] < rows and 0 <= here[1] < cols):
                return False
            src = key(*here)
            box, target, x, y = xm.groups()
            if box not in start[src]:
                return False
            if target is not None:
                if target[7:] != box[4:] or target not in start[src] or target not in cur[src]:
                    return False
                cur[src].remove(box)
                cur[src].remove(target)
            else:
                dest = cell_of(x, y)
                if dest is None or abs(dest[0] - here[0]) + abs(dest[1] - here[1]) != 1:
                    return False
                if not (0 <= dest[0] < rows and 0 <= dest[1] < cols):
                    return False
                cur[src].remove(box)
                cur[key(*dest)].append(box)
    return all(not items for items in cur.values())


def check(answer: str, q: Question) -> bool:
    try:
        steps = json.loads(answer, object_pairs_hook=_pairs_no_duplicates)
    except (ValueError, RecursionError):
        return False
    if not isinstance(steps, list) or len(steps) > MAX_STEPS:
        return False
    return simulate(q.metadata["state"], steps)


def observations(state: State) -> str:
    rows, cols = grid_size(state)
    lines = []
    for r in range(rows):
        for c in range(cols):
            items = state[key(r, c)]
            near = [(r + dr, c + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                    if 0 <= r + dr < rows and 0 <= c + dc < cols]
            acts = []
            for box in (i for i in items if i.startswith("box_")):
                acts += [f"move({box}, square[{a + 0.5}, {b + 0.5}])" for a, b in near]
                if f"target_{box[4:]}" in items:
                    acts.append(f"move({box}, target_{box[4:]})")
            lines.append(f"Agent[{r + 0.5}, {c + 0.5}]: I am in square[{r + 0.5}, {c + 0.5}], I can observe "
                         f"{items}, I can do {acts}")
    return "\n".join(lines)


def problem_text(state: State) -> str:
    return (
        "You are a central planner tasked with directing agents in a grid-like field to move colored boxes to "
        "their corresponding color-coded targets. Each agent occupies a 1x1 square and can only interact with "
        "objects within its square. Agents can move a box to an adjacent square or directly to a target square "
        "of the same color. A square may contain multiple boxes and targets. When a box is moved onto a target "
        "of its color, both the box and the target disappear.\n"
        "The squares are identified by their center coordinates (e.g., square[0.5, 0.5]). Actions are formatted "
        "as: move(box_color, destination), where box_color is the color of the box and destination is either a "
        "target of the same color (e.g. target_red) or an adjacent square (e.g. square[0.5, 1.5]).\n"
        "Rules for the plan:\n"
        "1. Each step assigns at most one action to each agent; an agent only acts on boxes that are in its "
        "square at the start of the step (a box moved into a square can be moved again in the next step).\n"
        "2. The key of each action is the agent's coordinates in the format \"Agent[x, y]\"; include an agent in "
        "a step only if it has an action to perform.\n"
        "3. The plan is a list of steps, executed in order, that matches every box with a target.\n\n"
        f"The current boxes, targets and agents are:\n{observations(state)}\n\n"
        "Please respond with the whole plan as a JSON list of action dictionaries in the format "
        "<<<list of action dictionary>>>, such as <<<[{\"Agent[0.5, 0.5]\":\"move(box_blue, square[0.5, 1.5])\", "
        "\"Agent[1.5, 0.5]\":\"move(box_red, target_red)\"}, {\"Agent[0.5, 1.5]\":\"move(box_blue, target_blue)\"}]>>>."
    )


def _instance(state: State, extra: dict[str, Any]) -> Sample:
    gold = json.dumps(plan_moves(state))
    return Sample(problem_text(state), gold, {"state": state, **extra})


def sample(rng: random.Random, difficulty: int) -> Sample:
    rows, cols, n_colours, (lo, hi) = LEVELS[difficulty]
    state: State = {key(r, c): [] for r in range(rows) for c in range(cols)}
    squares = sorted(state)
    for colour in rng.sample(COLOURS, n_colours):
        for _ in range(rng.randint(lo, hi)):
            state[rng.choice(squares)].append(f"box_{colour}")
            state[rng.choice(squares)].append(f"target_{colour}")
    return _instance(state, {})


def _read(folder: Path) -> list[Sample]:
    out = []
    for group in group_dirs(folder, 3):
        for d in numbered_dirs(group, "pg_state"):
            state = json.loads((d / f"{d.name}.json").read_text(encoding="utf-8"))
            out.append(_instance(state, {"group": group.name, "item": d.name}))
    return out


def reference(root: Path) -> list[Sample]:
    return _read(root / "BoxNet1_dataset")


VARIANTS: dict[str, ReferenceParser] = {"sft": lambda root: _read(root / "BoxNet1_dataset_SFT")}


def corrupt(gold: str, q: Question) -> str:
    """The plan without its final step: some box stays unmatched."""
    return json.dumps(json.loads(gold)[:-1])
