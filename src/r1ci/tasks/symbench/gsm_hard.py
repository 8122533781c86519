"""GSM-Hard: multi-step arithmetic word problems with large numbers.

Each template is a story plus the few lines of Python that solve it (the GSM-Hard convention).
The generator runs those lines on exact fractions to get the gold; the reference program runs
the very same lines, so the scripted teacher and the gold cannot disagree. The published set
(`gsmhardv2.jsonl`) ships its own solution code, which serves as its reference program.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from r1ci.jsonl import read_records
from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import first_rejected, parse_number, word_problem_close

DESCRIPTION = "Multi-step arithmetic word problems with large numbers (GSM-Hard style)."
_NAMES = ["Janet", "Carlos", "Mei", "Priya", "Tom", "Aisha", "Lukas", "Sofia", "Kwame", "Elena", "Ravi", "Hana"]
_BIG = {1: (10, 99), 2: (100, 999), 3: (1_000, 9_999), 4: (10_000, 999_999), 5: (100_000, 9_999_999)}


@dataclass(frozen=True)
class Template:
    text: str
    big: tuple[str, ...]
    """Variables drawn from the difficulty's large-number range."""
    small: dict[str, tuple[int, int, int]]
    """Variables drawn from fixed small ranges (counts, rates): (low, high, multiple of)."""
    code: str
    """Python lines computing `result` from the variables (run on exact fractions by the generator)."""
    step: dict[str, int] | None = None
    """Optional: round a big variable to a multiple of this so the story stays whole-numbered."""
    b_below_a: bool = False
    """Redraw `b` below `a` (e.g. waste never exceeds production)."""


TEMPLATES: list[Template] = [
    Template(
        "A factory produces {a} widgets each day. {b} of them fail inspection every day and are recycled. The "
        "rest are packed in boxes of {c}. How many full boxes does the factory fill in {d} days?",
        ("a", "b"), {"c": (6, 48, 1), "d": (2, 30, 1)},
        "good = a - b\ntotal_good = good * d\nresult = total_good // c",
        b_below_a=True,
    ),
    Template(
        "{name} earns ${a} per month. She pays ${b} in rent each month and spends {p}% of what remains on food. "
        "How much money does she have left after {m} months?",
        ("a", "b"), {"p": (1, 9, 5), "m": (2, 12, 1)},
        "after_rent = a - b\nfood = after_rent * p / 100\nresult = (after_rent - food) * m",
        b_below_a=True,
    ),
    Template(
        "A train travels {a} km at {v1} km/h and then {b} km at {v2} km/h. How many hours does the whole trip take?",
        ("a", "b"), {"v1": (40, 160, 1), "v2": (40, 160, 1)},
        "t1 = a / v1\nt2 = b / v2\nresult = t1 + t2",
    ),
    Template(
        "A school district has {a} students. {p}% of them take the bus, {q}% of the remaining students walk, "
        "and all the others are driven by their parents. How many students are driven?",
        ("a",), {"p": (1, 9, 10), "q": (1, 9, 10)},
        "bus = a * p / 100\nrest = a - bus\nwalk = rest * q / 100\nresult = rest - walk",
        {"a": 100},
    ),
    Template(
        "{name} buys {c} packs of pencils with {a} pencils in each pack, plus {b} single pencils. She then gives "
        "{d} pencils to each of her {e} classmates. How many pencils does she have left?",
        ("a", "b"), {"c": (2, 9, 1), "d": (1, 9, 1), "e": (10, 40, 1)},
        "total = c * a + b\ngiven = d * e\nresult = total - given",
    ),
    Template(
        "A store sold {a} shirts at ${p} each and {b} pairs of trousers at ${q} each. Its costs for the month "
        "were ${c}. What was the store's profit in dollars?",
        ("a", "b", "c"), {"p": (5, 60, 1), "q": (10, 90, 1)},
        "shirts = a * p\ntrousers = b * q\nresult = shirts + trousers - c",
    ),
    Template(
        "An empty water tank holds {a} liters. It is filled at {r1} liters per minute while a leak drains {r2} "
        "liters per minute. How many minutes does it take to fill the tank?",
        ("a",), {"r1": (20, 90, 1), "r2": (1, 19, 1)},
        "net_rate = r1 - r2\nresult = a / net_rate",
    ),
    Template(
        "{name} runs {a} meters a day on weekdays and {b} meters a day on weekends. How many meters does {name} "
        "run in {w} weeks?",
        ("a", "b"), {"w": (2, 52, 1)},
        "per_week = 5 * a + 2 * b\nresult = per_week * w",
    ),
    Template(
        "A bakery bakes {a} loaves on the first day of a promotion, and on each following day it bakes {b} more "
        "loaves than the day before. How many loaves does it bake in total over the {n} days of the promotion?",
        ("a", "b"), {"n": (3, 30, 1)},
        "last_day = a + (n - 1) * b\nresult = n * (a + last_day) / 2",
    ),
    Template(
        "{name} invests ${a} at {p}% simple interest per year and adds ${b} to the account at the end of every "
        "year without earning interest on it. How much money is in the account after {y} years?",
        ("a", "b"), {"p": (1, 12, 1), "y": (2, 20, 1)},
        "interest = a * p / 100 * y\nresult = a + interest + b * y",
    ),
    Template(
        "A farmer harvests {a} kg of apples. He sells {p}% of them at ${x} per kg to a supermarket and the rest "
        "at ${y} per kg at a market stall. How many dollars does he earn?",
        ("a",), {"p": (1, 19, 5), "x": (1, 4, 1), "y": (3, 9, 1)},
        "supermarket_kg = a * p / 100\nstall_kg = a - supermarket_kg\nresult = supermarket_kg * x + stall_kg * y",
        {"a": 20},
    ),
    Template(
        "A company has {a} employees. Every month it hires {b} new employees and {c} employees leave. After {m} "
        "months, the employees are split as evenly as possible into {t} teams. How many employees are in each "
        "team, on average?",
        ("a", "b"), {"c": (1, 50, 1), "m": (2, 24, 1), "t": (2, 40, 1)},
        "change = (b - c) * m\ntotal = a + change\nresult = total / t",
    ),
]


def _draw(rng: random.Random, t: Template, difficulty: int) -> dict[str, int]:
    lo, hi = _BIG[difficulty]
    values = {k: rng.randint(lo, hi) for k in t.big}
    for k, (a, b, step) in t.small.items():
        values[k] = rng.randint(a, b) * step
    for k, step in (t.step or {}).items():
        values[k] = max(step, values[k] // step * step)
    if t.b_below_a:
        values["b"] = rng.randint(1, values["a"] - 1)
    return values


def run_template(code: str, values: dict[str, int]) -> Fraction:
    env: dict[str, object] = {k: Fraction(v) for k, v in values.items()}
    exec(compile(code, "<gsm_hard template>", "exec"), {"__builtins__": {}}, env)  # our own template code only
    return Fraction(env["result"])  # type: ignore[arg-type]


def format_value(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.2f}"


def sample(rng: random.Random, difficulty: int) -> Sample:
    while True:
        index = rng.randrange(len(TEMPLATES))
        t = TEMPLATES[index]
        values = _draw(rng, t, difficulty)
        try:
            value = run_template(t.code, values)
        except ZeroDivisionError:
            continue
        if value >= 1:  # redraw losses and other negative stories
            text = t.text.format(name=rng.choice(_NAMES), **values)
            problem = (f"{text}\n\nIf the answer is not a whole number, give it rounded to 2 decimal places. "
                       "Return your answer with the format <<<number>>>, for example <<<1234>>>.")
            data = {"template": index, "values": values, "code": t.code, "exact": str(value)}
            return Sample(problem, format_value(value), data)


def check(answer: str, q: Question) -> bool:
    guess = parse_number(answer)
    gold = parse_number(q.metadata.get("exact") or q.answer or "")
    return guess is not None and gold is not None and word_problem_close(guess, gold)


def corrupt(gold: str, q: Question) -> str:
    value = parse_number(gold) or Fraction(0)
    return first_rejected(gold, q, check, [format_value(value + 1), format_value(value * 2 + 7)])


def reference_program(q: Question) -> str:
    if "values" not in q.metadata:  # a published question: its own solution() function
        return q.metadata["code"].rstrip() + "\n\nprint(solution())\n"
    assignments = "\n".join(f"{k} = {v}" for k, v in q.metadata["values"].items())
    return (
        f"{assignments}\n{q.metadata['code']}\n"
        "print(int(result) if float(result).is_integer() else round(float(result), 2))\n"
    )


def reference(root: Path) -> list[Sample]:
    path = root / "gsmhardv2.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; check R1CI_DATA_DIR points at the shared data")
    out = []
    for row in read_records(path):
        target = float(row["target"])
        gold = str(int(target)) if target.is_integer() else repr(target)
        problem = f"{row['input']}\n\nReturn your answer with the format <<<number>>>."
        out.append(Sample(problem, gold, {"code": row["code"]}))
    return out
