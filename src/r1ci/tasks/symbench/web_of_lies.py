"""Web of lies (CodeSteer's BBH-derived SymBench task): follow who says whom tells the truth.

As in BIG-Bench-Hard: the first person's honesty is stated, each next person says whether an earlier
one tells the truth or lies; is the last one truthful? Difficulty sets the chain length (3 .. 11
people) and, from 3 up, statements about any earlier person (not only the previous one), so the
chain becomes a tree the solver has to follow. Exact Yes/No answer. The reference set is
CodeSteer's copy of the BBH examples; `solve_web_of_lies` reads both (the BBH task uses it too).
"""

from __future__ import annotations

import random

from r1ci.tasks.base import Sample
from r1ci.tasks.bbh import FORMATS
from r1ci.tasks.symbench.common import bbh_derived_task

NAME = "web_of_lies"
_FORMAT = FORMATS["yes_no"]
_LEVELS = {1: (3, False), 2: (5, False), 3: (6, True), 4: (8, True), 5: (11, True)}
_PEOPLE = ["Alexis", "Amberly", "Andree", "Ashley", "Bernita", "Christie", "Conception", "Crista", "Delbert", "Delfina", "Elanor", "Fidel", "Gwenn", "Helene", "Inga", "Jaymie", "Jerry", "Jim", "Kandi", "Kristian", "Leda", "Lorine", "Maybelle", "Michaela", "Millicent", "Osvaldo", "Phoebe", "Raymond", "Rashida", "Ryan", "Sherrie", "Shalonda", "Sima", "Tamika", "Teressa", "Ka", "Vernell", "Vina", "Willian", "Yoland"]


def solve_web_of_lies(text: str) -> str:
    """Resolve each "X says Y tells the truth / lies" in order; answer for the person asked about."""
    import re

    body = text.split("Question:", 1)[-1]
    truthful: dict[str, bool] = {}
    for name, verdict in re.findall(r"(\w+) (tells the truth|lies)\.", body):
        if name not in truthful:
            truthful[name] = verdict == "tells the truth"
    for speaker, subject, verdict in re.findall(r"(\w+) says (\w+) (tells the truth|lies)", body):
        truthful[speaker] = truthful[subject] == (verdict == "tells the truth")
    asked = re.search(r"Does (\w+) tell the truth\?", body)
    assert asked is not None, "no question found"
    return "Yes" if truthful[asked.group(1)] else "No"


def sample(rng: random.Random, difficulty: int) -> Sample:
    size, any_earlier = _LEVELS[difficulty]
    people = rng.sample(_PEOPLE, size)
    sentences = [f"{people[0]} {rng.choice(['tells the truth', 'lies'])}."]
    for i in range(1, size):
        subject = people[rng.randrange(i)] if any_earlier else people[i - 1]
        sentences.append(f"{people[i]} says {subject} {rng.choice(['tells the truth', 'lies'])}.")
    asked = people[-1] if not any_earlier else people[rng.randrange(size // 2, size)]
    problem = f"Question: {' '.join(sentences)} Does {asked} tell the truth?\n\n{_FORMAT.instruction}"
    return Sample(problem, solve_web_of_lies(problem), {"people": size})


TASKS = [bbh_derived_task(NAME, sample, solve_web_of_lies, _FORMAT, bbh_stem="web_of_lies",
                          description="Follow a chain of people vouching for each other; does the asked one tell the truth?")]
