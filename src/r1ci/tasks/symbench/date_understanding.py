"""Date understanding (CodeSteer's BBH-derived SymBench task): work out a date from a described day.

As in BIG-Bench-Hard: a sentence fixes today ("Yesterday was 04/30/2021", "Today is Christmas Eve of
1937", "The deadline is Jun 1, 2021, which is 2 days away from now"), a question asks for a date
relative to it ("one week ago from today", "a month ago") in MM/DD/YYYY, and six options are given.
Difficulty widens the kinds of anchor (plain dates, then relative days, holidays and year ends,
then UK day-first dates, deadlines and day counts, then leap-day birthdays) and of question (from
tomorrow/yesterday up to month and year offsets). Exact verifier: the right option's letter or its
date. Month and year offsets are only asked where no month-end clamping is involved, so every
question has one calendar answer. The reference set is CodeSteer's copy of the BBH examples;
`solve_date_understanding` reads our wordings and the BBH templates (the BBH task uses it too).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from r1ci.tasks.base import Sample
from r1ci.tasks.bbh import FORMATS, parse_options
from r1ci.tasks.symbench.common import bbh_derived_task

NAME = "date_understanding"
_FORMAT = FORMATS["multiple_choice"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_ANCHORS = {
    1: ("today_text", "today_slash"),
    2: ("today_text", "today_slash", "yesterday", "tomorrow"),
    3: ("yesterday", "tomorrow", "before_yesterday", "christmas_eve", "last_day", "first_day", "week_ago"),
    4: ("before_yesterday", "christmas_eve", "last_day", "uk", "deadline", "quit", "week_ago"),
    5: ("uk", "deadline", "quit", "birthday", "first_monday", "thanksgiving"),
}
_QUESTIONS = {
    1: ("today", "tomorrow", "yesterday"),
    2: ("tomorrow", "yesterday", "week_later", "week_ago"),
    3: ("tomorrow", "yesterday", "week_later", "week_ago", "days_ago", "hours_later"),
    4: ("week_later", "week_ago", "days_ago", "month_ago", "year_ago"),
    5: ("week_ago", "days_ago", "month_ago", "year_ago", "hours_later"),
}


def solve_date_understanding(text: str) -> str:
    """Read the day the text calls today, apply the asked offset, return the matching option letter."""
    import calendar
    import datetime as dt
    import re

    months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    body, _, options_text = text.partition("Options:")
    low = body.lower().replace("feburary", "february")

    def month(word: str) -> int:
        return months.index(word[:3]) + 1

    def slash(s: str, day_first: bool = False) -> dt.date:
        a, b, y = (int(x) for x in s.split("/"))
        return dt.date(y, b, a) if day_first else dt.date(y, a, b)

    def nth_weekday(year: int, mon: int, weekday: int, k: int) -> dt.date:
        first = dt.date(year, mon, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (k - 1))

    d = r"(\d{1,2}/\d{1,2}/\d{4})"
    named = r"([a-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})"
    day = dt.timedelta(days=1)
    rules = [
        (r"today is (?:the )?(?:us )?thanksgiving of (\d{4})", lambda m: nth_weekday(int(m[1]), 11, 3, 4)),
        (r"put the day before the month.*today is " + d, lambda m: slash(m[1], day_first=True)),
        (r"day before yesterday was " + d, lambda m: slash(m[1]) + 2 * day),
        (r"yesterday was " + d + r"\. today could not be", lambda m: slash(m[1]) + day),
        (r"yesterday was " + d, lambda m: slash(m[1]) + day),
        (r"yesterday was " + named, lambda m: dt.date(int(m[3]), month(m[1]), int(m[2])) + day),
        (r"yesterday, " + named, lambda m: dt.date(int(m[3]), month(m[1]), int(m[2])) + day),
        (r"tomorrow is " + d, lambda m: slash(m[1]) - day),
        (r"for tomorrow \(\w+, " + d + r"\)", lambda m: slash(m[1]) - day),
        (r"tomorrow, " + d, lambda m: slash(m[1]) - day),
        (r"for tomorrow, " + named, lambda m: dt.date(int(m[3]), month(m[1]), int(m[2])) - day),
        (r"it was " + named + r" a week ago", lambda m: dt.date(int(m[3]), month(m[1]), int(m[2])) + 7 * day),
        (r"christmas eve of (\d{4})", lambda m: dt.date(int(m[1]), 12, 24)),
        (r"(?:this|today) is the last day of (\d{4})", lambda m: dt.date(int(m[1]), 12, 31)),
        (r"today is the first day of (\d{4})", lambda m: dt.date(int(m[1]), 1, 1)),
        (r"the first day of (\d{4}) is a \w+, and today is the first monday of \d{4}",
         lambda m: nth_weekday(int(m[1]), 1, 0, 1)),
        (r"last day of the first quarter of (\d{4})", lambda m: dt.date(int(m[1]), 3, 31)),
        (r"second day of the third month of (\d{4})", lambda m: dt.date(int(m[1]), 3, 2)),
        (r"last day of ([a-z]+) (\d{4})", lambda m: dt.date(int(m[2]), month(m[1]),
                                                            calendar.monthrange(int(m[2]), month(m[1]))[1])),
        (r"born on the last day of february in (\d{4})\. today is her (\d+)-year-old birthday",
         lambda m: dt.date(int(m[1]) + int(m[2]), 3, 1) - day),
        (r"married on " + named + r"\. (?:it is their (\d+)-year anniversary|today is their golden wedding)",
         lambda m: dt.date(int(m[3]) + (int(m[4]) if m[4] else 50), month(m[1]), int(m[2]))),
        (r"deadline is " + named + r", which is (\d+) days? away", lambda m: dt.date(
            int(m[3]), month(m[1]), int(m[2])) - int(m[4]) * day),
        (r"on " + named + r".*? (\d+) days have passed", lambda m: dt.date(
            int(m[3]), month(m[1]), int(m[2])) + int(m[4]) * day),
        (r"on ([a-z]+) (\d{1,2})(?:st|nd|rd|th)?, (\d{4}) jane bought (\d+) eggs", lambda m: dt.date(
            int(m[3]), month(m[1]), int(m[2])) + int(m[4]) * day),
        (r"the (\d+)(?:st|nd|rd|th) of each month starting from the ([a-z]+) of (\d{4})\. it is her (\d+)(?:st|nd|rd|th)",
         lambda m: dt.date(int(m[3]) + (month(m[2]) - 1 + int(m[4]) - 1) // 12,
                           (month(m[2]) - 1 + int(m[4]) - 1) % 12 + 1, int(m[1]))),
        (r"today is (?:in fact )?" + named, lambda m: dt.date(int(m[3]), month(m[1]), int(m[2]))),
        (r"in fact ([a-z]+) (\d{1,2}), which", None),
        (r"(\d{1,2}/\d{1,2}/\d{4}) is like yesterday to jane, but that is actually ten years ago",
         lambda m: slash(m[1]).replace(year=slash(m[1]).year + 10)),
        (named + r" is like yesterday to jane, but that is actually ten years ago",
         lambda m: dt.date(int(m[3]) + 10, month(m[1]), int(m[2]))),
        (r"(\d{4}) is coming in (\d+) hours", lambda m: dt.date(int(m[1]), 1, 1) - (-(-int(m[2]) // 24)) * day),
        (r"delayed by one day to today.*|scheduled to be on " + d + r", but was delayed by one day",
         lambda m: slash(m[1]) + day),
        (r"" + d + r" to them", lambda m: slash(m[1], day_first=True)),
        (r"jane thinks today is " + d + r", but john thinks today is " + d + r"\. (jane|john) is correct",
         lambda m: slash(m[1] if m[3] == "jane" else m[2])),
        (r"jane thought today is " + d + r", but today is in fact ([a-z]+) (\d{1,2}), which is (\d+) days? later",
         lambda m: slash(m[1]) + int(m[4]) * day),
        (r"today is (\d{1,2})/(\d{1,2})(?:, and it is jane's second time in the year (\d{4})|\. jane is watching nfl (\d{4}))",
         lambda m: dt.date(int(m[3] or m[4]), int(m[1]), int(m[2]))),
        (r"spilled coffee.*|jane got her job in (\d{4})\. today is her (\d+)-year work anniversary\. she still remember that on ([a-z]+) (\d+), her second day",
         lambda m: (dt.date(int(m[1]), month(m[3]), int(m[4])) - day).replace(year=int(m[1]) + int(m[2]))),
        (r"palindrome day of (\d{4})", lambda m: dt.date(int(m[1]), int(m[1][::-1][:2]), int(m[1][::-1][2:]))),
        (r"today(?:'s meeting is rescheduled to \d+ am tomorrow)?, " + d, lambda m: slash(m[1]) - (
            day if "tomorrow" in m[0] else 0 * day)),
        (r"(?:today is|it is|local time is [\d:]+ [ap]m of) " + d, lambda m: slash(m[1])),
        (r"jane is celebrating the last day of ([a-z]+) (\d{4})", None),
    ]
    today = None
    for pattern, compute in rules:
        m = re.search(pattern, low)
        if m and compute is not None and m.lastindex:
            try:
                today = compute(m)
            except (TypeError, ValueError, IndexError):
                continue
            break
    assert today is not None, "no rule recognised the day described as today"
    question = low[low.rfind("what is the date"):]
    if "tomorrow" in question:
        target = today + day
    elif "yesterday" in question:
        target = today - day
    elif "week from today" in question:
        target = today + 7 * day
    elif "week ago" in question:
        target = today - 7 * day
    elif "month ago" in question:
        y, mo = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        target = today.replace(year=y, month=mo, day=min(today.day, calendar.monthrange(y, mo)[1]))
    elif "year ago" in question:
        target = today.replace(year=today.year - 1, day=min(today.day, calendar.monthrange(today.year - 1, today.month)[1]))
    elif re.search(r"(\d+) hours later", question):
        target = today + (int(re.search(r"(\d+) hours later", question)[1]) // 24) * day
    elif re.search(r"(\d+) days ago", question):
        target = today - int(re.search(r"(\d+) days ago", question)[1]) * day
    else:
        target = today
    answer = target.strftime("%m/%d/%Y")
    for letter, value in re.findall(r"\(([A-Z])\) (\S+)", options_text):
        if value == answer:
            return f"({letter})"
    return answer


def _named(d: dt.date) -> str:
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


_SLASH = "%m/%d/%Y"
_ONE_DAY = dt.timedelta(days=1)
# anchor kind -> the sentence that says which day today is (today stays as drawn)
_PLAIN_ANCHORS: dict[str, Callable[[dt.date], str]] = {
    "today_text": lambda d: f"Today is {_named(d)}.",
    "today_slash": lambda d: f"It is {d.strftime(_SLASH)} today.",
    "yesterday": lambda d: f"Yesterday was {(d - _ONE_DAY).strftime(_SLASH)}.",
    "tomorrow": lambda d: f"Tomorrow is {(d + _ONE_DAY).strftime(_SLASH)}.",
    "before_yesterday": lambda d: f"The day before yesterday was {(d - 2 * _ONE_DAY).strftime(_SLASH)}.",
    "week_ago": lambda d: f"It was {_named(d - 7 * _ONE_DAY)} a week ago.",
    "uk": lambda d: ("In the UK, people usually put the day before the month when formatting the date. "
                     f"Therefore, today is {d.strftime('%d/%m/%Y')} to them."),
}
# anchor kind -> (sentence naming only the year, the (month, day) today moves to in that year)
_DAY_OF_YEAR_ANCHORS: dict[str, tuple[str, tuple[int, int]]] = {
    "christmas_eve": ("Today is Christmas Eve of {year}.", (12, 24)),
    "last_day": ("This is the last day of {year}.", (12, 31)),
    "first_day": ("Today is the first day of {year}.", (1, 1)),
}


def _anchor(kind: str, today: dt.date, rng: random.Random) -> tuple[str, dt.date]:
    """A sentence describing `today` (the date may be moved to fit the kind, e.g. Christmas Eve)."""
    if kind in _PLAIN_ANCHORS:
        return _PLAIN_ANCHORS[kind](today), today
    if kind in _DAY_OF_YEAR_ANCHORS:
        sentence, (month, day) = _DAY_OF_YEAR_ANCHORS[kind]
        return sentence.format(year=today.year), dt.date(today.year, month, day)
    if kind == "deadline":
        k = rng.randint(2, 40)
        return f"The deadline is {_named(today + k * _ONE_DAY)}, which is {k} days away from now.", today
    if kind == "quit":
        k = rng.randint(3, 400)
        return f"Jane quited her job on {_named(today - k * _ONE_DAY)}. {k} days have passed since then.", today
    if kind == "birthday":
        born = rng.choice([y for y in range(1960, 2010) if y % 4 == 0])
        age = rng.randint(1, 15)
        return (f"Jane was born on the last day of February in {born}. Today is her {age}-year-old birthday.",
                dt.date(born + age, 3, 1) - _ONE_DAY)
    if kind == "first_monday":
        first = dt.date(today.year, 1, 1)
        names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        return (f"The first day of {today.year} is a {names[first.weekday()]}, and today is the first Monday of "
                f"{today.year}.", first + dt.timedelta(days=(0 - first.weekday()) % 7))
    if kind == "thanksgiving":
        first = dt.date(today.year, 11, 1)
        day = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)
        return (f"In the US, Thanksgiving is on the fourth Thursday of November. Today is the US Thanksgiving "
                f"of {today.year}.", day)
    raise ValueError(kind)


def _question(kind: str, rng: random.Random) -> tuple[str, int]:
    """(question wording, day offset) — month/year offsets are handled by the caller."""
    if kind == "days_ago":
        k = rng.randint(2, 30)
        return f"{k} days ago", -k
    return {"today": ("today", 0), "tomorrow": ("tomorrow", 1), "yesterday": ("yesterday", -1),
            "week_later": ("one week from today", 7), "week_ago": ("one week ago from today", -7),
            "hours_later": ("24 hours later", 1), "month_ago": ("a month ago", 0),
            "year_ago": ("one year ago from today", 0)}[kind]


def sample(rng: random.Random, difficulty: int) -> Sample:
    while True:
        start = dt.date(rng.randint(1900, 2030), 1, 1) + dt.timedelta(days=rng.randrange(365))
        sentence, today = _anchor(rng.choice(_ANCHORS[difficulty]), start, rng)
        kind = rng.choice(_QUESTIONS[difficulty])
        wording, offset = _question(kind, rng)
        if kind == "month_ago":
            if today.day > 28:
                continue  # no month-end clamping: one calendar answer
            target = today.replace(year=today.year - (today.month == 1), month=(today.month - 2) % 12 + 1)
        elif kind == "year_ago":
            if (today.month, today.day) == (2, 29):
                continue
            target = today.replace(year=today.year - 1)
        else:
            target = today + dt.timedelta(days=offset)
        break
    distractors = {
        target + dt.timedelta(days=rng.choice([-1, 1, 2, -2, 7, -7, 30])),
        target.replace(year=target.year + rng.choice([-1, 1, -10])) if (target.month, target.day) != (2, 29) else target,
        today if today != target else today + dt.timedelta(days=3),
    }
    while len(distractors) < 8:
        distractors.add(target + dt.timedelta(days=rng.randint(-400, 400)))
    distractors.discard(target)
    dates = [target, *rng.sample(sorted(distractors), 5)]
    rng.shuffle(dates)
    letters = "ABCDEF"
    options = "\n".join(f"({letters[i]}) {d.strftime('%m/%d/%Y')}" for i, d in enumerate(dates))
    text = f"{sentence} What is the date {wording} in MM/DD/YYYY?\nOptions:\n{options}"
    gold = f"({letters[dates.index(target)]})"
    return Sample(f"{text}\n\n{_FORMAT.instruction}", gold, {"options": parse_options(text), "date": target.isoformat()})


TASKS = [bbh_derived_task(NAME, sample, solve_date_understanding, _FORMAT, bbh_stem="date_understanding",
                          description="Work out a date (MM/DD/YYYY) relative to a described day; pick the matching option.")]
