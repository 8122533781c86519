"""Date arithmetic: days before/after a date, weekdays, day counts, n-th weekdays and ages.

Proleptic Gregorian calendar (Python's `datetime`). Each question kind states its answer format;
the checker reads dates written as 2024-03-05, March 5, 2024 or 5 March 2024, weekdays by full
name or three-letter abbreviation, and counts as integers.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import first_rejected, parse_number, program, strip_wrapping

DESCRIPTION = "Calendar arithmetic: offsets, weekdays, day counts, n-th weekdays and ages."
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
_ORDINALS = ["first", "second", "third", "fourth"]
_NAMES = ["Ana", "Ben", "Chloe", "Dev", "Emil", "Fatima", "Goran", "Hiro"]

# difficulty -> (question kinds, largest day offset, year range)
_LEVELS = {
    1: (("after", "weekday_after", "between"), 40, (2000, 2030)),
    2: (("after", "before", "weekday_after", "between", "weekday"), 200, (1990, 2040)),
    3: (("after", "before", "between", "weekday", "nth_weekday", "age"), 1500, (1950, 2060)),
    4: (("after", "before", "between", "weekday", "nth_weekday", "age", "schedule"), 6000, (1900, 2100)),
    5: (("before", "between", "weekday", "nth_weekday", "age", "schedule"), 40000, (1800, 2200)),
}


def solve_date(data: dict) -> str:
    """The answer for one question (dates ISO, weekdays by full name, counts as integers)."""
    import datetime as dt

    weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    kind = data["kind"]
    if kind == "weekday_after":
        return weekdays[(weekdays.index(data["weekday"]) + data["n"]) % 7]
    start = dt.date.fromisoformat(data["date"]) if "date" in data else None
    if kind == "after":
        return (start + dt.timedelta(days=data["n"])).isoformat()
    if kind == "before":
        return (start - dt.timedelta(days=data["n"])).isoformat()
    if kind == "schedule":
        return (start + dt.timedelta(days=sum(data["steps"]))).isoformat()
    if kind == "weekday":
        return weekdays[start.weekday()]
    if kind == "between":
        return str((dt.date.fromisoformat(data["end"]) - start).days)
    if kind == "age":
        end = dt.date.fromisoformat(data["end"])
        return str(end.year - start.year - ((end.month, end.day) < (start.month, start.day)))
    if kind == "nth_weekday":
        first = dt.date(data["year"], data["month"], 1)
        offset = (weekdays.index(data["weekday"]) - first.weekday()) % 7
        return (first + dt.timedelta(days=offset + 7 * (data["k"] - 1))).isoformat()
    raise ValueError(f"unknown question kind {kind!r}")


def _long(d: dt.date) -> str:
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


def _random_date(rng: random.Random, years: tuple[int, int]) -> dt.date:
    start = dt.date(years[0], 1, 1).toordinal()
    return dt.date.fromordinal(rng.randint(start, dt.date(years[1], 12, 31).toordinal()))


def _show(rng: random.Random, d: dt.date) -> str:
    return d.isoformat() if rng.random() < 0.5 else _long(d)


_DATE_FMT = "Give the date in the format YYYY-MM-DD, for example <<<2024-03-05>>>."
_WEEKDAY_FMT = "Give the full English name of the weekday, for example <<<Tuesday>>>."
_COUNT_FMT = "Give a single integer, for example <<<42>>>."


def _question(rng: random.Random, kind: str, top: int, years: tuple[int, int]) -> tuple[str, dict, str]:
    """(question text, checker data, answer format line)."""
    d = _random_date(rng, years)
    n = rng.randint(1, top)
    days = f"{n} day{'s' if n != 1 else ''}"
    if kind == "after":
        return f"What is the date {days} after {_show(rng, d)}?", {"date": d.isoformat(), "n": n}, _DATE_FMT
    if kind == "before":
        return f"What was the date {days} before {_show(rng, d)}?", {"date": d.isoformat(), "n": n}, _DATE_FMT
    if kind == "weekday_after":
        w = rng.choice(WEEKDAYS)
        return f"Today is a {w}. What day of the week will it be {days} from today?", {"weekday": w, "n": n}, _WEEKDAY_FMT
    if kind == "weekday":
        return f"What day of the week was (or will be) {_show(rng, d)}?", {"date": d.isoformat()}, _WEEKDAY_FMT
    if kind == "between":
        end = d + dt.timedelta(days=n)
        text = (f"How many days are there from {_show(rng, d)} to {_show(rng, end)}? Count the difference of the "
                "two dates, so from a date to the next day is 1 day.")
        return text, {"date": d.isoformat(), "end": end.isoformat()}, _COUNT_FMT
    if kind == "age":
        end = d + dt.timedelta(days=rng.randint(400, max(401, top * 3)))
        name = rng.choice(_NAMES)
        text = (f"{name} was born on {_show(rng, d)}. How old is {name}, in completed years, on {_show(rng, end)}? "
                "(Someone born on February 29 has a birthday on March 1 in non-leap years.)")
        return text, {"date": d.isoformat(), "end": end.isoformat()}, _COUNT_FMT
    if kind == "nth_weekday":
        k, w = rng.randint(1, 4), rng.choice(WEEKDAYS)
        text = f"What is the date of the {_ORDINALS[k - 1]} {w} of {MONTHS[d.month - 1]} {d.year}?"
        return text, {"year": d.year, "month": d.month, "weekday": w, "k": k}, _DATE_FMT
    if kind == "schedule":
        steps = [rng.randint(1, max(2, top // 10)) for _ in range(3)]
        text = (f"A project starts on {_show(rng, d)}. The design phase lasts {steps[0]} days, the build phase "
                f"lasts {steps[1]} days, and testing lasts {steps[2]} days; each phase starts the day the previous "
                "one ends (a phase of k days starting on day D ends on day D + k). On what date does testing end?")
        return text, {"date": d.isoformat(), "steps": steps}, _DATE_FMT
    raise ValueError(f"unknown question kind {kind!r}")


def sample(rng: random.Random, difficulty: int) -> Sample:
    kinds, top, years = _LEVELS[difficulty]
    kind = rng.choice(kinds)
    text, data, fmt = _question(rng, kind, top, years)
    data = {"kind": kind, **data}
    return Sample(f"{text}\n\n{fmt}", solve_date(data), data)


_MONTH_RE = "|".join(m[:3] for m in MONTHS)


def parse_date(text: str) -> dt.date | None:
    s = strip_wrapping(text).rstrip(".")
    if len(s) > 60:
        return None
    try:
        m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", s)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        m = re.fullmatch(rf"(?:\w+,\s*)?({_MONTH_RE})[a-z]*\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})", s, re.I)
        if m:
            return dt.date(int(m[3]), [x[:3].lower() for x in MONTHS].index(m[1].lower()) + 1, int(m[2]))
        m = re.fullmatch(rf"(?:\w+,\s*)?(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})[a-z]*\.?,?\s+(\d{{4}})", s, re.I)
        if m:
            return dt.date(int(m[3]), [x[:3].lower() for x in MONTHS].index(m[2].lower()) + 1, int(m[1]))
    except ValueError:
        return None
    return None


def parse_weekday(text: str) -> str | None:
    s = strip_wrapping(text).rstrip(".").strip().lower()
    for w in WEEKDAYS:
        if s in (w.lower(), w[:3].lower()):
            return w
    return None


def check(answer: str, q: Question) -> bool:
    gold = q.answer or ""
    kind = q.metadata["kind"]
    if kind in ("weekday", "weekday_after"):
        return parse_weekday(answer) == gold
    if kind in ("between", "age"):
        value = parse_number(answer)
        return value is not None and value == int(gold)
    guess = parse_date(answer)
    return guess is not None and guess.isoformat() == gold


def corrupt(gold: str, q: Question) -> str:
    kind = q.metadata["kind"]
    if kind in ("weekday", "weekday_after"):
        return first_rejected(gold, q, check, [WEEKDAYS[(WEEKDAYS.index(gold) + 1) % 7]])
    if kind in ("between", "age"):
        return first_rejected(gold, q, check, [str(int(gold) + 1)])
    return first_rejected(gold, q, check, [(dt.date.fromisoformat(gold) + dt.timedelta(days=1)).isoformat()])


def reference_program(q: Question) -> str:
    keys = ("kind", "date", "end", "n", "weekday", "year", "month", "k", "steps")
    return program(solve_date, {k: q.metadata[k] for k in keys if k in q.metadata})
