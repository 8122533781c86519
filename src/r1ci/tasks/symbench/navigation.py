"""Navigation (CodeSteer's BBH-derived SymBench task): do these moves return to the starting point?

Generated like BIG-Bench-Hard's `navigate`: "Always face forward" walks (forward/backward/left/right
steps) and turning walks ("Turn left.", "Turn around.", "Take 3 steps."). Difficulty sets the number
of instructions (3 .. 16) and, from 3 up, turning walks; half the questions return by construction.
The answer is exact: a Yes/No the simulation decides. The reference set is CodeSteer's copy of the
BBH examples; `solve_navigation` parses either wording (the BBH task's reference program uses it too).
"""

from __future__ import annotations

import random

from r1ci.tasks.base import Sample
from r1ci.tasks.bbh import FORMATS
from r1ci.tasks.symbench.common import bbh_derived_task

NAME = "navigation"
_FORMAT = FORMATS["yes_no"]
# difficulty -> (instructions before the optional return, largest step count, turning walks allowed)
_LEVELS = {1: (2, 5, False), 2: (4, 7, False), 3: (5, 9, True), 4: (8, 10, True), 5: (12, 12, True)}
_HEADINGS = ((0, 1), (1, 0), (0, -1), (-1, 0))  # north, east, south, west; turning right adds 1


def solve_navigation(text: str) -> str:
    """Simulate the walk described in `text`; "Yes" when it ends where it started."""
    import re

    body = text.split("?", 1)[1] if "?" in text else text
    body = body.split("Options:")[0]
    forward_only = "always face forward" in body.lower()
    x = y = heading = 0
    moves = {"forward": 0, "right": 1, "backward": 2, "left": 3}
    for sentence in re.split(r"\.\s*", body):
        s = sentence.strip().lower()
        turn = re.fullmatch(r"turn (left|right|around)", s)
        if turn:
            heading = (heading + {"left": 3, "right": 1, "around": 2}[turn.group(1)]) % 4
            continue
        step = re.fullmatch(r"take (\d+) steps?(?: (forward|backward|left|right))?", s)
        if step:
            direction = (heading + moves[step.group(2) or "forward"]) % 4
            if forward_only:
                direction = moves[step.group(2) or "forward"]
            dx, dy = ((0, 1), (1, 0), (0, -1), (-1, 0))[direction]
            x, y = x + dx * int(step.group(1)), y + dy * int(step.group(1))
    return "Yes" if (x, y) == (0, 0) else "No"


def _steps(n: int, direction: str = "") -> str:
    return f"Take {n} step{'s' if n != 1 else ''}{' ' + direction if direction else ''}."


def sample(rng: random.Random, difficulty: int) -> Sample:
    count, longest, turning = _LEVELS[difficulty]
    forward_only = not turning or rng.random() < 0.4
    sentences: list[str] = ["Always face forward."] if forward_only else []
    x = y = heading = 0
    for _ in range(rng.randint(max(1, count - 1), count + 1)):
        if not forward_only and rng.random() < 0.35:
            turn = rng.choice(["left", "right", "around"])
            heading = (heading + {"left": 3, "right": 1, "around": 2}[turn]) % 4
            sentences.append(f"Turn {turn}.")
            continue
        n = rng.randint(1, longest)
        word = rng.choice(["forward", "backward", "left", "right"] if forward_only else ["", "", "backward", "left", "right"])
        offset = {"forward": 0, "": 0, "right": 1, "backward": 2, "left": 3}[word]
        dx, dy = _HEADINGS[offset if forward_only else (heading + offset) % 4]
        x, y = x + dx * n, y + dy * n
        sentences.append(_steps(n, word))
    if rng.random() < 0.5 and (x, y) != (0, 0):
        # close the loop along each axis: a "Yes" question whose walk is not trivially empty
        for need, toward in ((-y, 0), (-x, 1)):  # metres north, east still to go
            if need == 0:
                continue
            direction = toward if need > 0 else toward + 2
            if forward_only:
                sentences.append(_steps(abs(need), ("forward", "right", "backward", "left")[direction]))
                continue
            turn = (direction - heading) % 4
            if turn:
                sentences.append(f"Turn {({1: 'right', 2: 'around', 3: 'left'})[turn]}.")
            heading = direction
            sentences.append(_steps(abs(need)))
    problem = (
        "If you follow these instructions, do you return to the starting point? " + " ".join(sentences)
        + "\nOptions:\n- Yes\n- No\n\n" + _FORMAT.instruction
    )
    answer = solve_navigation(problem)
    return Sample(problem, answer, {"instructions": len(sentences)})


TASKS = [bbh_derived_task(NAME, sample, solve_navigation, _FORMAT, bbh_stem="navigate",
                          description="Follow step and turn instructions; say whether they lead back to the start.")]
