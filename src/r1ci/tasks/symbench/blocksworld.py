"""Blocksworld with numbered stacks: move top blocks between stacks until the goal layout is reached.

Generator: random initial and goal layouts of lettered blocks over 3-6 stacks. Gold: a constructive
planner that builds the goal stacks one by one, bottom block first: it clears the target stack down
to its correct prefix, digs the next block out (parking blocks it lifts on other stacks, finished
ones included, only ever above their finished part) and places it. Complete for >= 3 stacks and
never worse than a few moves per block; not optimal, and the checker accepts any valid plan.
Checker: one `Move X from A to B` per line (`stackA` also accepted); each move must take the top
block of stack A; the final layout must equal the goal (stacks not listed in the goal are empty).

Reference set: `Blocksworld_dataset` (120 tasks, 2-4 blocks on 3-5 stacks).
"""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import call_program

DESCRIPTION = "Move top blocks between numbered stacks to reach a goal layout."

Layout = list[list[str]]

# difficulty -> (stack count choices, block count range)
LEVELS: dict[int, tuple[tuple[int, ...], tuple[int, int]]] = {
    1: ((3,), (2, 3)),
    2: ((3, 4), (3, 4)),
    3: ((3, 4, 5), (4, 5)),
    4: ((4, 5), (6, 7)),
    5: ((4, 5, 6), (8, 10)),
}
MAX_MOVES = 1000

_MOVE_RE = re.compile(r"move\s+(\S+)\s+from\s+(?:stack\s*)?(\d+)\s+to\s+(?:stack\s*)?(\d+)\.?", re.IGNORECASE)


def plan(initial: Layout, goal: Layout) -> list[tuple[str, int, int]]:
    """Moves (block, from, to) with 1-based stack numbers that turn `initial` into `goal`."""
    stacks = [list(s) for s in initial]
    n = len(stacks)
    if sorted(b for s in initial for b in s) != sorted(b for s in goal for b in s) or len(goal) != n or n < 3:
        raise ValueError("blocksworld needs >= 3 stacks and the same blocks in the initial and goal layouts")
    moves: list[tuple[str, int, int]] = []
    finished: set[int] = set()

    def park(exclude: set[int]) -> int:
        """A stack to put a block aside: unfinished and low first, finished ones only if needed."""
        options = [i for i in range(n) if i not in exclude]
        return min(options, key=lambda i: (i in finished, len(stacks[i]), i))

    def move(src: int, dst: int) -> None:
        block = stacks[src].pop()
        stacks[dst].append(block)
        moves.append((block, src + 1, dst + 1))

    for s in (i for i in range(n) if goal[i]):
        for k, block in enumerate(goal[s]):
            if len(stacks[s]) > k and stacks[s][k] == block:
                continue
            while len(stacks[s]) > k:
                move(s, park({s}))
            u = next(i for i in range(n) if block in stacks[i])
            while stacks[u][-1] != block:
                move(u, park({s, u}))
            move(u, s)
        while len(stacks[s]) > len(goal[s]):
            move(s, park({s}))
        finished.add(s)
    return moves


def format_moves(moves: list[tuple[str, int, int]]) -> str:
    return "\n".join(f"Move {b} from {a} to {c}" for b, a, c in moves)


def parse_moves(answer: str) -> list[tuple[str, int, int]] | None:
    parts = [p.strip() for p in re.split(r"\n|;|,(?=\s*move\b)", answer, flags=re.IGNORECASE) if p.strip()]
    if len(parts) > MAX_MOVES:
        return None
    out = []
    for p in parts:
        m = _MOVE_RE.fullmatch(p)
        if m is None:
            return None
        out.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return out


def check(answer: str, q: Question) -> bool:
    moves = parse_moves(answer)
    if moves is None:
        return False
    stacks = [list(s) for s in q.metadata["initial"]]
    for block, src, dst in moves:
        if not (1 <= src <= len(stacks) and 1 <= dst <= len(stacks)) or not stacks[src - 1]:
            return False
        if stacks[src - 1][-1] != block:
            return False
        stacks[dst - 1].append(stacks[src - 1].pop())
    return stacks == q.metadata["goal"]


def layout_text(layout: Layout) -> str:
    return "\n".join(f"stack{i + 1}: {' '.join(blocks)}" for i, blocks in enumerate(layout))


def problem_text(initial: Layout, goal: Layout) -> str:
    return (
        "Blocksworld Task:\n\nInitial State:\n" + layout_text(initial)
        + "\n\nGoal State:\n" + layout_text(goal) + "\n\n"
        "Please provide a series of moves to reach the goal state. You can only move one block at a time, and "
        "that block must be the top block of its stack. Note that from the left to the right in each stack is the "
        "order from the bottom to the top of blocks. For example, in stack A B C D, A is the bottom block and D is "
        "the top block, so you can only move D in this case. ***Be careful that you can only pick up the top block "
        "in each stack. Check this rule before your move!*** A stack that is empty in the goal state must end "
        "empty. You cannot create new stacks but only move among the existing stacks (there is no table).\n"
        "Each move should be in the format 'Move [block] from [source] to [destination]', where source and "
        "destination are stack numbers. Separate each move with a newline and surround the whole answer with "
        "<<< >>>, like <<<Move B from 2 to 3\nMove A from 1 to 2\nMove C from 3 to 1>>>."
    )


def _random_layout(blocks: list[str], n: int, rng: random.Random) -> Layout:
    layout: Layout = [[] for _ in range(n)]
    order = list(blocks)
    rng.shuffle(order)
    for b in order:
        layout[rng.randrange(n)].append(b)
    return layout


def sample(rng: random.Random, difficulty: int) -> Sample:
    stack_opts, (lo, hi) = LEVELS[difficulty]
    n = rng.choice(stack_opts)
    blocks = list(string.ascii_uppercase[: rng.randint(lo, hi)])
    initial = _random_layout(blocks, n, rng)
    goal = _random_layout(blocks, n, rng)
    while goal == initial:
        goal = _random_layout(blocks, n, rng)
    meta = {"initial": initial, "goal": goal}
    return Sample(problem_text(initial, goal), format_moves(plan(initial, goal)), meta)


def read_task_file(path: Path) -> tuple[Layout, Layout]:
    """`stackN: blocks` lines under `Initial State:` and `Goal State:`; goal stacks not listed are empty."""
    sections: dict[str, dict[int, list[str]]] = {"initial": {}, "goal": {}}
    current = sections["initial"]
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("Initial State"):
            current = sections["initial"]
        elif line.startswith("Goal State"):
            current = sections["goal"]
        elif line:
            m = re.fullmatch(r"stack(\d+):\s*(.*)", line)
            if m is None:
                raise ValueError(f"{path}: unexpected line {line!r}; expected 'stackN: blocks'")
            current[int(m.group(1))] = m.group(2).split()
    n = max(sections["initial"])
    initial = [sections["initial"].get(i, []) for i in range(1, n + 1)]
    goal = [sections["goal"].get(i, []) for i in range(1, n + 1)]
    return initial, goal


def reference(root: Path) -> list[Sample]:
    base = root / "Blocksworld_dataset"
    if not base.is_dir():
        raise FileNotFoundError(f"SymBench reference folder {base} not found; set R1CI_DATA_DIR")
    out = []
    for d in sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: [int(x) for x in p.name.split("_")]):
        initial, goal = read_task_file(d / "blocksworld_task.txt")
        meta = {"initial": initial, "goal": goal, "item": d.name}
        out.append(Sample(problem_text(initial, goal), format_moves(plan(initial, goal)), meta))
    return out


def corrupt(gold: str, q: Question) -> str:
    """The plan without its last move: one block short of the goal."""
    return "\n".join(gold.splitlines()[:-1])


reference_program = call_program(
    plan, "initial", "goal", show=lambda call: f"'\\n'.join(f'Move {{b}} from {{a}} to {{c}}' for b, a, c in {call})"
)
