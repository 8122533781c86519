"""Reference programs for the BIG-Bench-Hard training tasks (the scripted SFT teacher's code turns).

Each `solve_<task>(text)` is a standalone, standard-library function that parses the published
question and computes the answer (for multiple choice: the letter of the option it computed); none
sees the target. Tasks of one kind share a solver with their SymBench twin (navigation, web of lies,
logical deduction, date understanding), which reads the BBH wording too. A few BBH targets are
wrong (e.g. date_understanding); a correct program cannot match those, which is why `tasks check`
asks published-example tasks for 90%, not 100%.
"""

from __future__ import annotations

from collections.abc import Callable

from r1ci.tasks.base import Question


def solve_multistep_arithmetic_two(text: str) -> str:
    expression = text.split("=")[0].strip()
    return str(eval(expression))


def solve_boolean_expressions(text: str) -> str:
    expression = text.strip().removesuffix(" is").strip()
    return str(eval(expression))


def solve_word_sorting(text: str) -> str:
    words = text.split("List:", 1)[1].split("\n", 1)[0].split()
    return " ".join(sorted(words))


def solve_dyck_languages(text: str) -> str:
    sequence = text.split("Input:", 1)[1].split("\n", 1)[0].split()
    pairs = {"(": ")", "[": "]", "{": "}", "<": ">"}
    stack = []
    for token in sequence:
        if token in pairs:
            stack.append(token)
        else:
            stack.pop()
    return " ".join(pairs[t] for t in reversed(stack))


def solve_object_counting(text: str) -> str:
    import re

    kinds = {
        "musical instruments": "accordion clarinet drum flute piano trombone trumpet violin",
        "fruits": "apple banana blackberry grape nectarine orange peach plum raspberry strawberry",
        "vegetables": "cabbage carrot cauliflower garlic onion potato yam broccoli celery lettuce",
        "animals": "bear cat chicken cow dog donkey duck fish frog goat mouse pig rabbit snail snake",
        "objects": "bed car chair couch fridge lamp microwave oven stove table toaster",
    }
    numbers = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10}
    body, _, question = text.partition(". How many ")
    kind = question.split(" do I have")[0]
    members = set(kinds[kind].split())
    total = 0
    for item in re.split(r", (?:and )?| and ", body.replace("I have ", "")):
        word, _, name = item.strip().partition(" ")
        singular = {"mice": "mouse", "heads of broccoli": "broccoli", "head of broccoli": "broccoli",
                    "stalks of celery": "celery", "stalk of celery": "celery", "lettuce heads": "lettuce",
                    "lettuce head": "lettuce"}.get(name) or re.sub(r"(?<=[^aeiou]o)es$|(?<=ch)es$|s$", "", re.sub(r"ies$", "y", name))
        if singular in members:
            total += numbers[word]
    return str(total)


def solve_hyperbaton(text: str) -> str:
    import re

    # opinion < size < age < shape < colour < origin < material < purpose
    classes = {
        0: "awful good lovely mysterious nice obnoxious repulsive ridiculous silly terrible wonderful",
        1: "big enormous huge large little massive medium-size midsize normal-size small tiny",
        2: "ancient archaic brand-new new old old-fashioned",
        3: "circular prismlike pyramidal rectangular spherical square triangular",
        4: "black blue brown gray green grey orange pink purple red tan white yellow",
        5: "American Bangladeshi Brazilian Chinese Congolese Egyptian Ethiopian Filipino German Indian "
           "Indonesian Iranian Japanese Mexican Nigerian Pakistani Russian Thai Turkish Vietnamese",
        6: "cardboard cloth fiberglass glass iron lead leather paper plastic rubber steel wood wool silver gold",
        7: "drinking driving eating exercise hiking smoking snorkeling typing walking whittling",
    }
    rank = {w: k for k, words in classes.items() for w in words.split()}
    options = re.findall(r"\(([A-Z])\) (.+)", text)
    for letter, sentence in options:
        adjectives = sentence.split()[:-1]
        order = [rank[w] for w in adjectives]
        if order == sorted(order):
            return f"({letter})"
    raise ValueError("no option has the standard order")


def solve_tracking_shuffled_objects(text: str) -> str:
    import re

    options = re.findall(r"\(([A-Z])\) (.+)", text)
    start = text.split(":", 1)[1].split("\n")[0]
    holders: dict[str, str] = {}
    for part in re.split(r", (?:and )?", start.strip().rstrip(".")):
        name = part.split()[0]
        value = next(v for _, v in sorted(options, key=lambda o: -len(o[1])) if part.endswith(v))
        holders[name] = value
    for a, b in re.findall(r"(\w+) and (\w+) (?:swap|switch|trade)", text):
        holders[a], holders[b] = holders[b], holders[a]
    last = text.split("\n")[1].split(". ")[-1]
    person = next(name for name in holders if f" {name} " in f" {last} ")
    return next(f"({letter})" for letter, value in options if value == holders[person])


def solve_temporal_sequences(text: str) -> str:
    import re

    def hour(s: str) -> int:
        n = int(re.match(r"\d+", s)[0])
        return (n % 12) + (12 if s.endswith("pm") else 0)

    woke = hour(re.search(r"woke up at (\d+[ap]m)", text)[1])
    closed = hour(re.search(r"closed after (\d+[ap]m)", text)[1])
    busy = [(hour(a), hour(b)) for a, b in re.findall(r"from (\d+[ap]m) to (\d+[ap]m)", text.split("Options:")[0])]
    free = [h for h in range(woke, closed) if not any(a <= h < b for a, b in busy)]
    for letter, a, b in re.findall(r"\(([A-Z])\) (\d+[ap]m) to (\d+[ap]m)", text.split("Options:")[1]):
        if all(h in free for h in range(hour(a), hour(b))):
            return f"({letter})"
    raise ValueError("no free slot among the options")


def solve_geometric_shapes(text: str) -> str:
    import math
    import re

    path = re.search(r'd="([^"]+)"', text)[1]
    options = {name: letter for letter, name in re.findall(r"\(([A-Z])\) (\w+)", text.split("Options:")[1])}
    if "A" in path:
        shape = "sector" if "L" in path else ("ellipse" if "ellipse" in options else "circle")
        return f"({options[shape]})"
    points = []
    for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", path):
        p = (round(float(x), 2), round(float(y), 2))
        if p not in points:
            points.append(p)
    n = len(points)
    names = {2: "line", 3: "triangle", 5: "pentagon", 6: "hexagon", 7: "heptagon", 8: "octagon"}
    if n != 4:
        return f"({options[names[n]]})"
    # order the four corners along the path, then tell kite / rectangle / trapezoid apart
    sides = [math.dist(points[i], points[(i + 1) % 4]) for i in range(4)]

    def parallel(a, b, c, d):  # type: ignore[no-untyped-def]
        return abs((b[0] - a[0]) * (d[1] - c[1]) - (b[1] - a[1]) * (d[0] - c[0])) < 1e-6 * max(1.0, sides[0] ** 2)

    p = points
    if "kite" in options and ((abs(sides[0] - sides[1]) < 0.02 * max(sides) and abs(sides[2] - sides[3]) < 0.02 * max(sides))
                              or (abs(sides[1] - sides[2]) < 0.02 * max(sides) and abs(sides[3] - sides[0]) < 0.02 * max(sides))):
        return f"({options['kite']})"
    if "rectangle" in options and parallel(p[0], p[1], p[3], p[2]) and parallel(p[1], p[2], p[0], p[3]):
        return f"({options['rectangle']})"
    if "trapezoid" in options:
        return f"({options['trapezoid']})"
    return f"({options.get('kite', options.get('rectangle'))})"


def _from_symbench(module: str, function: str) -> Callable[[], Callable[..., str]]:
    def load() -> Callable[..., str]:
        import importlib

        return getattr(importlib.import_module(f"r1ci.tasks.symbench.{module}"), function)

    return load


_LOCAL: dict[str, Callable[..., str]] = {
    "multistep_arithmetic_two": solve_multistep_arithmetic_two,
    "boolean_expressions": solve_boolean_expressions,
    "word_sorting": solve_word_sorting,
    "dyck_languages": solve_dyck_languages,
    "object_counting": solve_object_counting,
    "hyperbaton": solve_hyperbaton,
    "tracking_shuffled_objects_three_objects": solve_tracking_shuffled_objects,
    "tracking_shuffled_objects_five_objects": solve_tracking_shuffled_objects,
    "tracking_shuffled_objects_seven_objects": solve_tracking_shuffled_objects,
    "temporal_sequences": solve_temporal_sequences,
    "geometric_shapes": solve_geometric_shapes,
}
_SHARED: dict[str, Callable[[], Callable[..., str]]] = {
    "navigate": _from_symbench("navigation", "solve_navigation"),
    "web_of_lies": _from_symbench("web_of_lies", "solve_web_of_lies"),
    "date_understanding": _from_symbench("date_understanding", "solve_date_understanding"),
    "logical_deduction_three_objects": _from_symbench("logical_deduction", "solve_logical_deduction"),
    "logical_deduction_five_objects": _from_symbench("logical_deduction", "solve_logical_deduction"),
    "logical_deduction_seven_objects": _from_symbench("logical_deduction", "solve_logical_deduction"),
}


def question_text(q: Question) -> str:
    """The published input: the prompt without the answer-format lines the task appends."""
    return q.prompt.split("\n\nAnswer with", 1)[0]


def program_for(stem: str) -> Callable[[Question], str] | None:
    """The reference-program builder of BBH task `stem`, or None when it has none."""
    if stem not in _LOCAL and stem not in _SHARED:
        return None

    def make(q: Question) -> str:
        from r1ci.tasks.symbench._helpers import program_from

        solver = _LOCAL[stem] if stem in _LOCAL else _SHARED[stem]()
        return program_from([solver], f"{solver.__name__}({question_text(q)!r})")

    return make
