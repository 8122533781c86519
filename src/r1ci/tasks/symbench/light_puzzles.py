"""Light puzzles: buttons toggle fixed sets of lights; report the grid after a sequence of presses.

Generator: random n*n grid, buttons with random controlled cells (1-based ["row", "col"] as in the
published prompts), a random press sequence; difficulty grows the grid, the buttons and the rounds.
Checker: the final grid flattened row-major as n*n comma-separated 0/1 values, compared exactly.

Reference set: `light_puzzles_dataset` (200 questions).
"""

from __future__ import annotations

import random
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import call_program, parse_ints, read_question_folder

DESCRIPTION = "Simulate buttons that toggle sets of lights and report the final grid."

# difficulty -> (grid size, number of buttons, number of rounds)
LEVELS: dict[int, tuple[int, int, int]] = {
    1: (3, 1, 2),
    2: (3, 2, 3),
    3: (4, 3, 4),
    4: (5, 3, 6),
    5: (6, 4, 8),
}


def press_all(state: list[list[int]], buttons: dict[str, list[list[int]]], presses: list[str]) -> list[int]:
    """Toggle each pressed button's lights (1-based [row, col]) and return the flattened final grid."""
    grid = [list(row) for row in state]
    for name in presses:
        for r, c in buttons[name]:
            grid[r - 1][c - 1] = 1 - grid[r - 1][c - 1]
    return [v for row in grid for v in row]


def problem_text(state: list[list[int]], buttons: dict[str, list[list[int]]], presses: list[str]) -> str:
    n = len(state)
    grid = "\n".join("".join(map(str, row)) for row in state)
    lines = [f"Button {name} controls the lights at " + ", ".join(f'["{r}", "{c}"]' for r, c in cells)
             for name, cells in buttons.items()]
    rounds = "\n".join(f"Round {i + 1}: Button {b}" for i, b in enumerate(presses))
    zeros = ",".join(["0"] * n * n)
    return (
        "There is an n*n grid with some lights randomly distributed. A lit light is represented by 1, and an "
        "unlit light is represented by 0. There are some buttons which can change the state of the lights in "
        "certain positions when they are pressed: pressing a button toggles every light it controls (on becomes "
        "off and off becomes on). Different buttons may control the state of the same light. Positions are "
        "given as [\"row\", \"column\"], counting from 1 at the top-left.\n"
        f"Given n={n} and the number of buttons={len(buttons)}, the initial network is:\n{grid}\n\n"
        + "\n".join(lines) + f"\n\n{rounds}\n\n"
        "Please write the state of all lights after all rounds, row by row, as comma-separated values.\n"
        f"For example, <<<{zeros}>>> represents a fully unlit light network."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, n_buttons, n_rounds = LEVELS[difficulty]
    state = [[rng.randint(0, 1) for _ in range(n)] for _ in range(n)]
    all_cells = [[r, c] for r in range(1, n + 1) for c in range(1, n + 1)]
    buttons = {chr(65 + i): rng.sample(all_cells, rng.randint(2, max(2, n * n // 2))) for i in range(n_buttons)}
    presses = [rng.choice(sorted(buttons)) for _ in range(n_rounds)]
    final = press_all(state, buttons, presses)
    meta = {"initial": state, "buttons": buttons, "presses": presses}
    return Sample(problem_text(state, buttons, presses), ",".join(map(str, final)), meta)


def check(answer: str, q: Question) -> bool:
    m = q.metadata
    return parse_ints(answer) == press_all(m["initial"], m["buttons"], m["presses"])


def reference(root: Path) -> list[Sample]:
    out = []
    for question, sol in read_question_folder(root / "light_puzzles_dataset"):
        meta = {"initial": sol["initial_state"], "buttons": sol["buttons"], "presses": sol["operations"],
                "complexity": sol.get("complexity")}
        out.append(Sample(question, ",".join(map(str, sol["solution"])), meta))
    return out


def corrupt(gold: str, q: Question) -> str:
    """One light flipped."""
    vals = gold.split(",")
    vals[0] = "1" if vals[0] == "0" else "0"
    return ",".join(vals)


reference_program = call_program(
    press_all, "initial", "buttons", "presses", show=lambda call: f"','.join(map(str, {call}))"
)
