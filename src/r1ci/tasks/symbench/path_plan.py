"""Path planning (SymBench "path_plan_continuous"): a waypoint trajectory that enters some coloured
boxes, never touches others, stays off the walls and runs from a start to an end point.

Layout: the arena is [-1.4, 1.4]^2 inside four walls (as in SymBench). Our generator cuts the inner
square [-1.3, 1.3]^2 into a jittered k*k lattice of cells and puts each box strictly inside one cell,
so the lattice lines form corridors that touch no box. Start and end are lattice nodes. The gold path
walks the corridors (x first, then y) and visits each required box by going from a corner of its cell
to the box centre and back: segments inside a cell can only touch that cell's box. All coordinates
are multiples of 0.05. Checker: segments are the straight lines between consecutive waypoints; a
segment "enters" a box when it meets the closed rectangle (boundary included, as SymBench states);
first / last waypoint must equal start / end; no segment may meet a wall or a box to avoid; every
box to visit must be met by some segment. Any such path scores 1.

Reference data: SymBench defines its 14 layouts x 10 instructions inside the benchmark script, not
as files under dataset_gather, so this task has no reference parser.
"""

from __future__ import annotations

import ast
import itertools
import random
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import first_rejected, join_and

DESCRIPTION = "Plan a waypoint path that enters some boxes, avoids others and the walls."

Box = tuple[float, float, float, float]  # x_start, x_end, y_start, y_end
Point = tuple[float, float]

WALLS: tuple[Box, ...] = ((-1.5, -1.4, -1.5, 1.5), (1.4, 1.5, -1.5, 1.5), (-1.5, 1.5, -1.5, -1.4), (-1.5, 1.5, 1.4, 1.5))
COLOURS = ("yellow", "red", "green", "blue", "pink", "purple", "orange")
TICK = 0.05
INNER = 26  # the lattice spans -26..26 ticks = [-1.3, 1.3]
MAX_WAYPOINTS = 500
ENDPOINT_TOLERANCE = 1e-6

# difficulty -> (lattice cells per side, boxes, boxes to visit, boxes to avoid)
LEVELS: dict[int, tuple[int, int, int, int]] = {
    1: (3, 3, 1, 0),
    2: (3, 4, 2, 1),
    3: (4, 5, 2, 2),
    4: (4, 6, 3, 2),
    5: (5, 7, 3, 3),
}


def meets(p: Point, q: Point, box: Box) -> bool:
    """Whether segment pq meets the closed rectangle (Liang-Barsky clipping)."""
    x0, x1, y0, y1 = box
    t_in, t_out = 0.0, 1.0
    for start, delta, lo, hi in ((p[0], q[0] - p[0], x0, x1), (p[1], q[1] - p[1], y0, y1)):
        if delta == 0:
            if start < lo or start > hi:
                return False
            continue
        a, b = (lo - start) / delta, (hi - start) / delta
        if a > b:
            a, b = b, a
        t_in, t_out = max(t_in, a), min(t_out, b)
        if t_in > t_out:
            return False
    return True


def _ticks(v: int) -> float:
    return round(v * TICK, 2)


def _lattice(k: int, rng: random.Random) -> list[int]:
    """k+1 line positions in ticks from -26 to 26, interior ones jittered, cells at least 6 ticks wide."""
    step = 2 * INNER / k
    lines = [-INNER] + [round(-INNER + i * step) + rng.randint(-2, 2) for i in range(1, k)] + [INNER]
    return lines


def _manhattan(a: Point, b: Point) -> list[Point]:
    """Corridor route between two lattice nodes: along x first, then along y."""
    out = []
    if a[0] != b[0]:
        out.append((b[0], a[1]))
    if a[1] != b[1]:
        out.append(b)
    return out


def build(rng: random.Random, difficulty: int) -> dict[str, Any]:
    k, n_boxes, n_visit, n_avoid = LEVELS[difficulty]
    xs, ys = _lattice(k, rng), _lattice(k, rng)
    cells = rng.sample([(i, j) for i in range(k) for j in range(k)], n_boxes)
    colours = rng.sample(COLOURS, n_boxes)
    boxes: dict[str, Box] = {}
    homes: dict[str, tuple[int, int]] = {}
    for colour, (i, j) in zip(colours, cells, strict=True):
        w, h = xs[i + 1] - xs[i], ys[j + 1] - ys[j]
        a = rng.randint(1, max(1, w // 3))
        b = rng.randint(1, max(1, w // 3))
        c = rng.randint(1, max(1, h // 3))
        d = rng.randint(1, max(1, h // 3))
        boxes[colour] = (_ticks(xs[i] + a), _ticks(xs[i + 1] - b), _ticks(ys[j] + c), _ticks(ys[j + 1] - d))
        homes[colour] = (i, j)
    visit = rng.sample(colours, n_visit)
    avoid = rng.sample([c for c in colours if c not in visit], n_avoid)
    nodes = [(i, j) for i in range(k + 1) for j in range(k + 1)]
    s_node, e_node = rng.sample(nodes, 2)
    start = (_ticks(xs[s_node[0]]), _ticks(ys[s_node[1]]))
    end = (_ticks(xs[e_node[0]]), _ticks(ys[e_node[1]]))
    path: list[Point] = [start]
    for colour in visit:
        i, j = homes[colour]
        corners = [(_ticks(xs[i + di]), _ticks(ys[j + dj])) for di in (0, 1) for dj in (0, 1)]
        here = path[-1]
        corner = min(corners, key=lambda p: abs(p[0] - here[0]) + abs(p[1] - here[1]))
        x0, x1, y0, y1 = boxes[colour]
        centre = (round((x0 + x1) / 2, 3), round((y0 + y1) / 2, 3))
        path += [*_manhattan(here, corner), centre, corner]
    path += _manhattan(path[-1], end)
    if path[-1] != end:
        path.append(end)
    return {"boxes": boxes, "visit": visit, "avoid": avoid, "start": start, "end": end, "path": path}


def _names(colours: list[str]) -> str:
    return f"the {join_and(colours)} box{'es' if len(colours) > 1 else ''}"


def instruction(visit: list[str], avoid: list[str]) -> str:
    text = f"Enter {_names(visit)}" + (" (in any order)" if len(visit) > 1 else "")
    if avoid:
        text += f", and never enter {_names(avoid)}"
    return text + "."


def problem_text(layout: dict[str, Any]) -> str:
    walls = ", ".join(str(w) for w in WALLS)
    boxes = "; ".join(f"{'an' if c[0] in 'aeiou' else 'a'} {c} colored box {tuple(b)}"
                      for c, b in layout["boxes"].items())
    start, end = tuple(layout["start"]), tuple(layout["end"])
    return (
        "I am a mobile robot and I hope you can help me plan the trajectory to fulfill the navigation instruction. "
        "I will give you the position and size of each box in the whole environment and the instruction is to "
        "enter or avoid the box. Each box is a rectangle described by (x_start, x_end, y_start, y_end): x_start, "
        "x_end are its boundaries in x and y_start, y_end its boundaries in y.\n"
        f"First, there are four black colored walls with position {walls}. Then the boxes are: {boxes}.\n"
        f"During navigation, the trajectory must never touch the black walls. The starting position of the robot "
        f"is {start}, the ending position is {end}.\n"
        f"The instruction is '{instruction(layout['visit'], layout['avoid'])}' The robot should fulfill the "
        "instruction and in the end stop at the end position. Boxes not mentioned in the instruction may be "
        "entered or not.\n"
        "The whole trajectory is made by connecting consecutive waypoints with straight lines, and these lines must "
        "fulfill the instruction too. Entering a box means the trajectory intersects the box, including its "
        "boundary, so a box to avoid must not even be touched.\n"
        "Return the list of waypoints, starting with the start position and ending with the end position, in the "
        f"format <<<[(x0, y0), (x1, y1), ...]>>>, e.g. <<<[{start}, (0.0, 0.25), {end}]>>>."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    layout = build(rng, difficulty)
    path = layout.pop("path")
    gold = "[" + ", ".join(f"({x}, {y})" for x, y in path) + "]"
    meta = {**layout, "boxes": {c: list(b) for c, b in layout["boxes"].items()},
            "start": list(layout["start"]), "end": list(layout["end"])}
    return Sample(problem_text(layout), gold, meta)


def parse_waypoints(answer: str) -> list[Point] | None:
    if len(answer) > 40 * MAX_WAYPOINTS:
        return None
    try:
        value = ast.literal_eval(answer.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None
    if not isinstance(value, list | tuple) or not 2 <= len(value) <= MAX_WAYPOINTS:
        return None
    points = []
    for p in value:
        if not (isinstance(p, list | tuple) and len(p) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)):
            return None
        points.append((float(p[0]), float(p[1])))
    return points


def check(answer: str, q: Question) -> bool:
    m = q.metadata
    points = parse_waypoints(answer)
    if points is None:
        return False
    if any(abs(a - b) > ENDPOINT_TOLERANCE for a, b in zip(points[0], m["start"], strict=True)):
        return False
    if any(abs(a - b) > ENDPOINT_TOLERANCE for a, b in zip(points[-1], m["end"], strict=True)):
        return False
    segments = list(itertools.pairwise(points))
    boxes = {c: tuple(b) for c, b in m["boxes"].items()}
    for p, r in segments:
        if any(meets(p, r, w) for w in WALLS) or any(meets(p, r, boxes[c]) for c in m["avoid"]):
            return False
    return all(any(meets(p, r, boxes[c]) for p, r in segments) for c in m["visit"])


def corrupt(gold: str, q: Question) -> str:
    """Skip the detours: go straight from start to end (misses a box to visit or cuts through one to avoid),
    else drop the final waypoint."""
    m = q.metadata
    points = parse_waypoints(gold) or []
    cands = [str([tuple(m["start"]), tuple(m["end"])]), str(points[:-1])]
    return first_rejected(gold, q, check, cands)
