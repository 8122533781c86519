"""Math geometry: numeric geometry questions on coordinates, areas, distances, volumes and angles.

Golds are exact where the value is rational (`Fraction`, also inside coordinate pairs) and a
6-decimal float otherwise. An answer may be exact in any readable form (`3*sqrt(2)`, `5\\sqrt{2}`,
`25π/4`, `(3/2, -1)`) or a decimal; it is accepted within 1e-4 (relative, absolute near 0).
The reference set is the MATH "Geometry" training split.
"""

from __future__ import annotations

import math
import random
from typing import Any

from r1ci.tasks.symbench._math_templates import MathTemplate, math_task

NAME = "math_geometry"


def _linear(terms: list[tuple[int, str]]) -> str:
    """`[(3, "x"), (-1, "y"), (-5, "")]` -> `3x - y - 5` (zero terms dropped, unit coefficients bare)."""
    out = ""
    for coef, var in terms:
        if coef == 0:
            continue
        mag = "" if abs(coef) == 1 and var else str(abs(coef))
        sign = ("-" if coef < 0 else "") if not out else (" - " if coef < 0 else " + ")
        out += f"{sign}{mag}{var}"
    return out or "0"


def _span(d: int) -> int:
    return 3 + 3 * d


def _two_points(rng: random.Random, d: int) -> dict[str, Any]:
    k = _span(d)
    while True:
        x1, y1, x2, y2 = (rng.randint(-k, k) for _ in range(4))
        if (x1, y1) != (x2, y2):
            return {"x1": x1, "y1": y1, "x2": x2, "y2": y2}


def _triangle(rng: random.Random, d: int) -> dict[str, Any]:
    k = _span(d)
    while True:
        p = [rng.randint(-k, k) for _ in range(6)]
        x1, y1, x2, y2, x3, y3 = p
        if x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2) != 0:
            return dict(zip(["x1", "y1", "x2", "y2", "x3", "y3"], p, strict=True))


def _polygon(rng: random.Random, d: int) -> dict[str, Any]:
    """Integer points sorted by angle around their centre: a simple (star-shaped) polygon."""
    k, n = _span(d), min(3 + d, 8)
    while True:
        pts = {(rng.randint(-k, k), rng.randint(-k, k)) for _ in range(n)}
        if len(pts) < n:
            continue
        cx, cy = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
        ordered = sorted(pts, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
        angles = [math.atan2(y - cy, x - cx) for x, y in ordered]
        if len(set(angles)) == n and all(abs(x - cx) + abs(y - cy) > 0 for x, y in ordered):
            pts_list = [list(p) for p in ordered]
            text = ", ".join(f"({x}, {y})" for x, y in ordered)
            return {"pts": pts_list, "pts_text": text}


def _regular(rng: random.Random, d: int) -> dict[str, Any]:
    return {"n": rng.randint(5, 6 + 4 * d)}


def _circle(rng: random.Random, d: int) -> dict[str, Any]:
    return {"c": rng.randint(2, 6 + 6 * d)}


def _heron(rng: random.Random, d: int) -> dict[str, Any]:
    k = 4 + 4 * d
    while True:
        a, b, c = sorted(rng.randint(2, k) for _ in range(3))
        if a + b > c:
            return {"a": a, "b": b, "c": c}


def _point_line(rng: random.Random, d: int) -> dict[str, Any]:
    k = _span(d)
    a, b = rng.choice([(3, 4), (5, 12), (1, 1), (1, 2), (2, 3), (8, 15), (1, 3)])
    values = {"a": a * rng.choice([1, -1]), "b": b, "c": rng.randint(-k, k), "x0": rng.randint(-k, k),
              "y0": rng.randint(-k, k)}
    values["line"] = _linear([(values["a"], "x"), (b, "y"), (values["c"], "")])
    return values


def _lines(rng: random.Random, d: int) -> dict[str, Any]:
    k = 2 + d
    m1, m2 = rng.sample([m for m in range(-k, k + 1) if m != 0], 2)
    b1, b2 = rng.randint(-3 * k, 3 * k), rng.randint(-3 * k, 3 * k)
    return {"m1": m1, "b1": b1, "m2": m2, "b2": b2,
            "line1": _linear([(m1, "x"), (b1, "")]), "line2": _linear([(m2, "x"), (b2, "")])}


def _solid(rng: random.Random, d: int) -> dict[str, Any]:
    return {"r": rng.randint(1, 3 + 2 * d), "h": rng.randint(1, 4 + 3 * d)}


def _legs(rng: random.Random, d: int) -> dict[str, Any]:
    return {"a": rng.randint(2, 5 + 5 * d), "b": rng.randint(2, 5 + 5 * d)}


def _cosines(rng: random.Random, d: int) -> dict[str, Any]:
    return {"a": rng.randint(2, 4 + 4 * d), "b": rng.randint(2, 4 + 4 * d), "C": rng.choice([60, 90, 120])}


def _sector(rng: random.Random, d: int) -> dict[str, Any]:
    return {"r": rng.randint(2, 4 + 3 * d), "theta": rng.choice([30, 45, 60, 72, 90, 120, 135, 150, 210, 270])}


TEMPLATES = [
    MathTemplate("What is the distance between the points ({x1}, {y1}) and ({x2}, {y2})?", _two_points,
                 "result = root((x2 - x1) ** 2 + (y2 - y1) ** 2)"),
    MathTemplate("What is the area of the triangle with vertices ({x1}, {y1}), ({x2}, {y2}) and ({x3}, {y3})?",
                 _triangle,
                 "result = Fraction(abs(x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2)), 2)"),
    MathTemplate("The vertices of a polygon, in order around its boundary, are {pts_text}. What is its area?",
                 _polygon,
                 "twice = 0\nfor (xa, ya), (xb, yb) in zip(pts, pts[1:] + pts[:1]):\n    twice += xa * yb - xb * ya\n"
                 "result = Fraction(abs(twice), 2)"),
    MathTemplate("What is the measure, in degrees, of each interior angle of a regular polygon with {n} sides?",
                 _regular, "result = Fraction(180 * (n - 2), n)"),
    MathTemplate("A circle has circumference {c}π. What is the area of the circle?", _circle,
                 "radius = Fraction(c, 2)\nresult = pi * radius ** 2"),
    MathTemplate("A triangle has side lengths {a}, {b} and {c}. What is its area?", _heron,
                 "s = Fraction(a + b + c, 2)\nresult = root(s * (s - a) * (s - b) * (s - c))"),
    MathTemplate("What is the distance from the point ({x0}, {y0}) to the line {line} = 0?", _point_line,
                 "result = Fraction(abs(a * x0 + b * y0 + c)) / root(a * a + b * b)"),
    MathTemplate("The lines y = {line1} and y = {line2} intersect at one point. What are its "
                 "coordinates? Answer as (x, y).", _lines,
                 "x = Fraction(b2 - b1, m1 - m2)\nresult = (x, m1 * x + b1)"),
    MathTemplate("A right circular cone has base radius {r} and height {h}. What is its volume?", _solid,
                 "result = pi * r ** 2 * h / 3"),
    MathTemplate("A cylinder has radius {r} and height {h}. What is its total surface area (both bases and the "
                 "curved side)?", _solid,
                 "result = 2 * pi * r ** 2 + 2 * pi * r * h"),
    MathTemplate("The legs of a right triangle have lengths {a} and {b}. How long is the hypotenuse?", _legs,
                 "result = root(a * a + b * b)"),
    MathTemplate("In triangle ABC, CA = {a}, CB = {b} and the angle at C measures {C} degrees. How long is AB?",
                 _cosines,
                 "cos_c = {60: Fraction(1, 2), 90: Fraction(0), 120: Fraction(-1, 2)}[C]\n"
                 "result = root(a * a + b * b - 2 * a * b * cos_c)"),
    MathTemplate("What is the measure, in degrees, of angle ABC for A = ({x1}, {y1}), B = ({x2}, {y2}) and "
                 "C = ({x3}, {y3})?", _triangle,
                 "ux, uy, vx, vy = x1 - x2, y1 - y2, x3 - x2, y3 - y2\n"
                 "cosine = (ux * vx + uy * vy) / (sqrt(ux * ux + uy * uy) * sqrt(vx * vx + vy * vy))\n"
                 "result = math.degrees(math.acos(max(-1.0, min(1.0, cosine))))"),
    MathTemplate("What is the centroid of the triangle with vertices ({x1}, {y1}), ({x2}, {y2}) and ({x3}, {y3})? "
                 "Answer as (x, y).", _triangle,
                 "result = (Fraction(x1 + x2 + x3, 3), Fraction(y1 + y2 + y3, 3))"),
    MathTemplate("A sector of a circle of radius {r} has a central angle of {theta} degrees. What is its area?",
                 _sector, "result = Fraction(theta, 360) * pi * r ** 2"),
]

INSTRUCTION = ("Give an exact value (for example 7/2, 3*sqrt(2) or 25*pi/4) or a decimal rounded to at least 4 "
               "decimal places; angles are in degrees and points are written (x, y). Return your answer with the "
               "format <<<answer>>>.")

TASKS = [math_task(NAME, TEMPLATES, INSTRUCTION, rel=1e-4, exact_integers=False, math_category="geometry",
                   description="Numeric geometry: coordinates, areas, distances, volumes and angles.")]
