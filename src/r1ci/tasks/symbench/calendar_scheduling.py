"""Calendar scheduling: find a meeting slot that fits everyone's busy calendar and preferences.

Any slot that satisfies every constraint is accepted: the checker replays the calendars (busy
blocks are half-open, so a meeting may start exactly when a block ends). The gold is the earliest
valid slot, which always starts on a half-hour boundary because every block and preference does.
"""

from __future__ import annotations

import random
import re

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import first_rejected, join_and, program, strip_wrapping

DESCRIPTION = "Find a meeting slot that fits several busy calendars and personal constraints."
MANY_VALID_ANSWERS = True
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
_PEOPLE = ["Alice", "Bob", "Carmen", "Dmitri", "Esther", "Farid", "Grace", "Hugo", "Ines", "Jamal"]
WORK_START, WORK_END = 9 * 60, 17 * 60

# difficulty -> (participants, days, max busy blocks per person and day, durations, preference count)
_LEVELS = {1: (2, 1, 2, (30,), 0), 2: (3, 1, 3, (30, 60), 0), 3: (3, 2, 3, (30, 60), 1),
           4: (4, 3, 4, (30, 60), 2), 5: (5, 3, 4, (30, 60, 90), 3)}


def slot_ok(data: dict, day: str, start: int, end: int) -> bool:
    """Whether [start, end) minutes on `day` fits work hours, the duration, every busy block and preference."""
    if day not in data["days"] or end - start != data["duration"]:
        return False
    if start < data["work"][0] or end > data["work"][1]:
        return False
    for person, blocks in data["busy"].items():
        for b_day, b_start, b_end in blocks:
            if b_day == day and start < b_end and b_start < end:
                return False
        pref = data["prefs"].get(person, {})
        if day in pref.get("not_days", []):
            return False
        if start < pref.get("not_before", 0) or end > pref.get("end_by", 24 * 60):
            return False
    return True


def earliest_slot(data: dict) -> str:
    """The first valid slot in day order, scanning start times every 30 minutes."""
    for day in data["days"]:
        for start in range(data["work"][0], data["work"][1] - data["duration"] + 1, 30):
            if slot_ok(data, day, start, start + data["duration"]):
                end = start + data["duration"]
                return f"{day}, {start // 60:02d}:{start % 60:02d} - {end // 60:02d}:{end % 60:02d}"
    raise ValueError("no slot fits every calendar")


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _problem(data: dict, people: list[str]) -> str:
    days = data["days"]
    day_text = days[0] if len(days) == 1 else ", ".join(days[:-1]) + f" or {days[-1]}"
    lines = [
        f"You need to schedule a meeting for {join_and(people)} lasting "
        f"{data['duration']} minutes between the work hours of {_clock(data['work'][0])} to "
        f"{_clock(data['work'][1])} on {day_text}.",
        "",
        "Here are the existing schedules for everyone (busy blocks; a meeting may start exactly when a block "
        "ends):",
    ]
    for person in people:
        blocks = data["busy"][person]
        if blocks:
            text = ", ".join(f"{d} {_clock(s)} to {_clock(e)}" for d, s, e in blocks)
            lines.append(f"- {person} is busy on {text};")
        else:
            lines.append(f"- {person} has no meetings the whole week;")
    prefs = []
    for person in people:
        pref = data["prefs"].get(person, {})
        for day in pref.get("not_days", []):
            prefs.append(f"{person} cannot meet on {day}.")
        if "not_before" in pref:
            prefs.append(f"{person} cannot meet before {_clock(pref['not_before'])}.")
        if "end_by" in pref:
            prefs.append(f"{person} needs the meeting to end by {_clock(pref['end_by'])}.")
    if prefs:
        lines += ["", "Constraints:", *prefs]
    lines += [
        "",
        "Find a time that works for everyone's schedule and constraints; any valid slot is accepted. Give the "
        "answer as day, start and end time in 24-hour format, for example <<<Monday, 14:30 - 15:00>>>.",
    ]
    return "\n".join(lines)


def sample(rng: random.Random, difficulty: int) -> Sample:
    n_people, n_days, max_blocks, durations, n_prefs = _LEVELS[difficulty]
    while True:
        people = rng.sample(_PEOPLE, n_people)
        days = DAYS[:n_days]
        busy: dict[str, list] = {}
        for person in people:
            blocks = []
            for day in days:
                starts = sorted(rng.sample(range(WORK_START, WORK_END, 30), rng.randint(0, max_blocks)))
                for s in starts:
                    e = min(WORK_END, s + 30 * rng.randint(1, 4))
                    if blocks and blocks[-1][0] == day and blocks[-1][2] >= s:  # merge touching blocks
                        blocks[-1][2] = max(blocks[-1][2], e)
                    else:
                        blocks.append([day, s, e])
            busy[person] = blocks
        prefs: dict[str, dict] = {}
        for _ in range(n_prefs):
            person, kind = rng.choice(people), rng.choice(["not_days", "not_before", "end_by"])
            pref = prefs.setdefault(person, {})
            if kind == "not_days" and n_days > 1:
                pref.setdefault("not_days", []).append(rng.choice(days))
            elif kind == "not_before":
                pref["not_before"] = rng.choice([10, 11, 12, 13]) * 60
            else:
                pref["end_by"] = rng.choice([12, 14, 15, 16]) * 60
        data = {"days": days, "work": [WORK_START, WORK_END], "duration": rng.choice(durations), "busy": busy,
                "prefs": prefs}
        try:
            gold = earliest_slot(data)
        except ValueError:
            continue
        return Sample(_problem(data, people), gold, data)


_SLOT_RE = re.compile(
    r"(?:(?P<day>[A-Za-z]+)\s*,?\s*)?(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*(?P<p1>[ap]\.?m\.?)?\s*(?:-|–|—|to)\s*"
    r"(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*(?P<p2>[ap]\.?m\.?)?",
    re.I,
)


def _minutes(hour: str, minute: str, suffix: str | None) -> int | None:
    h, m = int(hour), int(minute)
    if m > 59:
        return None
    if suffix:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if suffix.lower().startswith("p") else 0)
    return h * 60 + m if h <= 24 else None


def parse_slot(text: str, days: list[str]) -> tuple[str, int, int] | None:
    s = strip_wrapping(text).rstrip(".")
    if len(s) > 100:
        return None
    m = _SLOT_RE.fullmatch(s)
    if m is None:
        return None
    day = (m["day"] or "").capitalize()
    if not day:
        if len(days) != 1:
            return None
        day = days[0]
    start, end = _minutes(m["h1"], m["m1"], m["p1"]), _minutes(m["h2"], m["m2"], m["p2"])
    if start is None or end is None:
        return None
    return day, start, end


def check(answer: str, q: Question) -> bool:
    slot = parse_slot(answer, q.metadata["days"])
    return slot is not None and slot_ok(q.metadata, *slot)


def corrupt(gold: str, q: Question) -> str:
    day, start, end = parse_slot(gold, q.metadata["days"]) or ("Monday", WORK_START, WORK_START + 30)
    shifted = [f"{day}, {_clock(start + k)} - {_clock(end + k)}" for k in (-30, 30, 60, 90, 120)]
    return first_rejected(gold, q, check, [f"{day}, {_clock(start)} - {_clock(end + 15)}", *shifted])


def reference_program(q: Question) -> str:
    keys = ("days", "work", "duration", "busy", "prefs")
    return program(earliest_slot, {k: q.metadata[k] for k in keys}, helpers=[slot_ok])
