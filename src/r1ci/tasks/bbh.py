"""BIG-Bench-Hard: the 27 published tasks (fixed examples), one `Task` each, named `bbh_<file stem>`.

Questions are the published examples, not generated ones: `questions(n, seed)` is a seeded sample
without replacement (a fixed permutation per (task, seed), so the first k questions are the same
whatever n is); n larger than the task's example count returns every example. Question ids are
`bbh_<stem>/<example index>`, the same whatever the seed.

Data: `<data root>/bbh/bbh/<stem>.json` (see `r1ci.paths`). When it is missing, the public file
(github.com/suzgunmirac/BIG-Bench-Hard, folder bbh/) is downloaded once into the r1ci cache.

Answers are compared after a per-task normalisation, so the form the model chooses does not cost it
the reward: option letters ("(A)", "A", "A)", or the option's own text), True/False, Yes/No,
valid/invalid (case-insensitive), numbers (numeric equality, "1,000" and "24.0" accepted), word
lists (whitespace or comma separated, case-insensitive) and Dyck closing sequences (whitespace-free).
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from r1ci.paths import bbh_dir
from r1ci.tasks.base import Question, Task, with_instruction
from r1ci.tasks.bbh_programs import program_for

BBH_URL = "https://raw.githubusercontent.com/suzgunmirac/BIG-Bench-Hard/main/bbh/{stem}.json"
PREFIX = "bbh_"


# ---------------------------------------------------------------------------------------------
# Answer formats: how a task's answers are normalised, what the prompt asks for, how to corrupt.
# ---------------------------------------------------------------------------------------------

_OPTION_LINE = re.compile(r"^\(([A-Z])\)\s*(.*?)\s*$")
# "(B)", "(B) text"  |  "B", "B)", "B.", "B: text"
_LETTER_FORMS = (
    re.compile(r"^\(([A-Za-z])\)(?:\s.*)?$", re.S),
    re.compile(r"^([A-Za-z])(?:[.:)](?:\s.*)?)?$", re.S),
)


def parse_options(problem: str) -> dict[str, str]:
    """`{"A": "12/25/1937", ...}` from the "Options:" block of a multiple-choice input."""
    options: dict[str, str] = {}
    for line in problem.splitlines():
        m = _OPTION_LINE.match(line.strip())
        if m:
            options[m.group(1)] = m.group(2)
    return options


def _squash(s: str) -> str:
    s = s.strip().strip("\"'`").strip().rstrip(".").strip()
    return re.sub(r"\s+", " ", s).lower()


def choice_letter(answer: str, options: dict[str, str]) -> str | None:
    """The option letter an answer names: "(B)", "B", "B)", "B.", "(B) text", or one option's exact text.

    An explicit letter wins over any text after it; bare text is matched only when exactly one
    option has it, so an ambiguous text never picks a letter.
    """
    a = answer.strip().strip("`*").strip()
    for form in _LETTER_FORMS:
        m = form.match(a)
        if m and m.group(1).upper() in options:
            return m.group(1).upper()
    hits = [k for k, v in options.items() if _squash(v) == _squash(a)]
    return hits[0] if len(hits) == 1 else None


def _number(s: str) -> float | None:
    t = s.strip().rstrip(".").replace(" ", "")
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
    try:
        return float(t)
    except ValueError:
        return None


def _words(s: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", s.strip().lower()) if w]


def _dyck(s: str) -> str:
    return re.sub(r"\s+", "", s)


@dataclass(frozen=True)
class AnswerFormat:
    name: str
    instruction: str
    matches: Callable[[str, Question], bool]
    corrupt: Callable[[str, Question], str]


def _mc_matches(answer: str, q: Question) -> bool:
    gold = q.answer or ""
    options: dict[str, str] = q.metadata["options"]
    gold_letter = choice_letter(gold, options) if re.fullmatch(r"\([A-Z]\)", gold) else None
    if gold_letter is None:  # three published targets are option text split oddly across options
        return _squash(answer) == _squash(gold)
    return choice_letter(answer, options) == gold_letter


def _mc_corrupt(gold: str, q: Question) -> str:
    """Another option's letter; for a one-option example (snarks #88 is truncated to "(A) The NB" in
    the published data) the letter after the last option, which names no option and so scores 0."""
    letters = sorted(q.metadata["options"])
    others = [k for k in letters if f"({k})" != gold]
    if not others:
        return f"({chr(ord(max(letters, default='A')) + 1)})"
    return f"({others[0]})"


def _binary(a: str, b: str) -> tuple[Callable[[str, Question], bool], Callable[[str, Question], str]]:
    def matches(answer: str, q: Question) -> bool:
        return _squash(answer) == _squash(q.answer or "")

    def corrupt(gold: str, q: Question) -> str:
        return b if _squash(gold) == a.lower() else a

    return matches, corrupt


def _number_matches(answer: str, q: Question) -> bool:
    got, want = _number(answer), _number(q.answer or "")
    return got is not None and want is not None and got == want


def _number_corrupt(gold: str, q: Question) -> str:
    return str(int(float(gold)) + 1)


def _words_matches(answer: str, q: Question) -> bool:
    return _words(answer) == _words(q.answer or "")


def _words_corrupt(gold: str, q: Question) -> str:
    words = gold.split()
    for i in range(len(words) - 1):
        if words[i] != words[i + 1]:
            words[i], words[i + 1] = words[i + 1], words[i]
            return " ".join(words)
    return gold + " zzz"


def _dyck_matches(answer: str, q: Question) -> bool:
    return bool(_dyck(answer)) and _dyck(answer) == _dyck(q.answer or "")


def _dyck_corrupt(gold: str, q: Question) -> str:
    tokens = gold.split()
    if len(tokens) > 1:
        return " ".join(tokens[:-1])
    return {")": "]", "]": ")", "}": ")", ">": ")"}.get(tokens[0], ")")


_ANSWER_TAIL = "Answer with {what} only, e.g. <<<{example}>>>."
_YES_NO = _binary("Yes", "No")
_TRUE_FALSE = _binary("True", "False")
_VALID = _binary("valid", "invalid")

FORMATS: dict[str, AnswerFormat] = {
    "multiple_choice": AnswerFormat(
        "multiple_choice", _ANSWER_TAIL.format(what="the letter of the correct option", example="(A)"),
        _mc_matches, _mc_corrupt,
    ),
    "true_false": AnswerFormat(
        "true_false", _ANSWER_TAIL.format(what="True or False", example="True"), *_TRUE_FALSE
    ),
    "yes_no": AnswerFormat("yes_no", _ANSWER_TAIL.format(what="Yes or No", example="Yes"), *_YES_NO),
    "valid_invalid": AnswerFormat(
        "valid_invalid", _ANSWER_TAIL.format(what="valid or invalid", example="valid"), *_VALID
    ),
    "number": AnswerFormat(
        "number", _ANSWER_TAIL.format(what="a single integer", example="42"), _number_matches, _number_corrupt
    ),
    "word_list": AnswerFormat(
        "word_list",
        _ANSWER_TAIL.format(what="the sorted words separated by single spaces", example="apple banana cherry"),
        _words_matches, _words_corrupt,
    ),
    "dyck": AnswerFormat(
        "dyck",
        # Closing brackets include ">"; the extractor keeps a final ">" written flush against the
        # wrapper ("<<<] ) >>>>"), so both spellings score, but the spaced one reads unambiguously.
        "Answer with the closing brackets that complete the sequence only, separated by spaces, "
        "e.g. <<<] ) > >>>.",
        _dyck_matches, _dyck_corrupt,
    ),
}  # fmt: skip

_LABELS = {
    "multiple_choice": "option letter",
    "true_false": "True/False",
    "yes_no": "Yes/No",
    "valid_invalid": "valid/invalid",
    "number": "integer",
    "word_list": "sorted words",
    "dyck": "closing brackets",
}

# The 27 tasks (file stems) and their answer format.
BBH_FORMATS: dict[str, str] = {
    "boolean_expressions": "true_false",
    "causal_judgement": "yes_no",
    "date_understanding": "multiple_choice",
    "disambiguation_qa": "multiple_choice",
    "dyck_languages": "dyck",
    "formal_fallacies": "valid_invalid",
    "geometric_shapes": "multiple_choice",
    "hyperbaton": "multiple_choice",
    "logical_deduction_five_objects": "multiple_choice",
    "logical_deduction_seven_objects": "multiple_choice",
    "logical_deduction_three_objects": "multiple_choice",
    "movie_recommendation": "multiple_choice",
    "multistep_arithmetic_two": "number",
    "navigate": "yes_no",
    "object_counting": "number",
    "penguins_in_a_table": "multiple_choice",
    "reasoning_about_colored_objects": "multiple_choice",
    "ruin_names": "multiple_choice",
    "salient_translation_error_detection": "multiple_choice",
    "snarks": "multiple_choice",
    "sports_understanding": "yes_no",
    "temporal_sequences": "multiple_choice",
    "tracking_shuffled_objects_five_objects": "multiple_choice",
    "tracking_shuffled_objects_seven_objects": "multiple_choice",
    "tracking_shuffled_objects_three_objects": "multiple_choice",
    "web_of_lies": "yes_no",
    "word_sorting": "word_list",
}


# ---------------------------------------------------------------------------------------------
# Data: local folder first, else a one-time download into the cache.
# ---------------------------------------------------------------------------------------------


class BBHDataError(RuntimeError):
    pass


def _cache_bbh_dir() -> Path:
    from r1ci.paths import cache_dir

    return cache_dir() / "data" / "bbh" / "bbh"


def _download(url: str, timeout_s: float = 30.0) -> bytes:
    import httpx

    response = httpx.get(url, timeout=timeout_s, follow_redirects=True)
    response.raise_for_status()
    return response.content


def _validate(data: Any, where: str) -> list[dict[str, str]]:
    examples = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(examples, list) or not all(
        isinstance(e, dict) and isinstance(e.get("input"), str) and isinstance(e.get("target"), str)
        for e in examples
    ):
        raise BBHDataError(
            f"{where} is not a BIG-Bench-Hard file: expected {{'examples': [{{'input', 'target'}}]}}"
        )
    return examples


def data_file(stem: str, data_dir: Path | None = None) -> Path:
    """The task's JSON file: in `data_dir` (default `r1ci.paths.bbh_dir()`), else the cache, else downloaded."""
    local = (data_dir or bbh_dir()) / f"{stem}.json"
    if local.exists():
        return local
    cached = _cache_bbh_dir() / f"{stem}.json"
    if cached.exists():
        return cached
    url = BBH_URL.format(stem=stem)
    try:
        raw = _download(url)
    except Exception as exc:
        raise BBHDataError(
            f"BIG-Bench-Hard file {stem}.json is not in {local.parent} and downloading {url} failed "
            f"({type(exc).__name__}: {exc}). Go online once, or set R1CI_DATA_DIR to a folder holding "
            "bbh/bbh/<task>.json (a copy of github.com/suzgunmirac/BIG-Bench-Hard, folder bbh/)."
        ) from exc
    _validate(json.loads(raw), url)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f"{cached.name}.tmp{os.getpid()}-{threading.get_ident()}")
    tmp.write_bytes(raw)
    tmp.replace(cached)  # atomic: a concurrent download never leaves a half file
    return cached


@cache
def _load_examples(path: Path) -> tuple[dict[str, str], ...]:
    return tuple(_validate(json.loads(path.read_text()), str(path)))


def load_examples(stem: str, data_dir: Path | None = None) -> tuple[dict[str, str], ...]:
    return _load_examples(data_file(stem, data_dir))


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------


def sample_indices(name: str, total: int, n: int, seed: int) -> list[int]:
    """A fixed permutation of example indices per (task, seed); its first n (all when n > total)."""
    order = list(range(total))
    random.Random(f"{name}|{seed}").shuffle(order)
    return order[: min(n, total)]


def _question(
    stem: str, fmt: AnswerFormat, examples: tuple[dict[str, str], ...], i: int, seed: int
) -> Question:
    name = PREFIX + stem
    ex = examples[i]
    meta: dict[str, Any] = {"index": i, "seed": seed, "format": fmt.name}
    if fmt.name == "multiple_choice":
        meta["options"] = parse_options(ex["input"])
    return Question(
        id=f"{name}/{i}",
        task=name,
        prompt=with_instruction(f"{ex['input'].rstrip()}\n\n{fmt.instruction}"),
        answer=ex["target"],
        metadata=meta,
    )


def example_question(name: str, index: int, data_dir: Path | None = None) -> Question:
    """Published example `index` of a BBH task (`bbh_navigate` or `navigate`) as a `Question`."""
    stem = name.removeprefix(PREFIX)
    if stem not in BBH_FORMATS:
        raise ValueError(f"unknown BIG-Bench-Hard task {name!r}; known: {sorted(BBH_FORMATS)}")
    examples = load_examples(stem, data_dir)
    if not 0 <= index < len(examples):
        raise IndexError(f"{name} has examples 0..{len(examples) - 1}, got {index}")
    return _question(stem, FORMATS[BBH_FORMATS[stem]], examples, index, seed=0)


def _make_questions(stem: str, fmt: AnswerFormat) -> Callable[[int, int, int | None], list[Question]]:
    def make(n: int, seed: int, difficulty: int | None) -> list[Question]:
        examples = load_examples(stem)
        return [
            _question(stem, fmt, examples, i, seed)
            for i in sample_indices(PREFIX + stem, len(examples), n, seed)
        ]

    return make


def bbh_task(stem: str) -> Task:
    if stem not in BBH_FORMATS:
        raise ValueError(f"unknown BIG-Bench-Hard task {stem!r}; known: {sorted(BBH_FORMATS)}")
    fmt = FORMATS[BBH_FORMATS[stem]]
    return Task(
        name=PREFIX + stem,
        source="bbh",
        make_questions=_make_questions(stem, fmt),
        check=fmt.matches,
        description=f"BIG-Bench-Hard {stem.replace('_', ' ')} (answer: {_LABELS[fmt.name]})",
        difficulties=(),
        reference_program=program_for(stem),
        extra={"corrupt": fmt.corrupt, "format": fmt.name, "stem": stem},
    )


def load_tasks() -> list[Task]:
    return [bbh_task(stem) for stem in BBH_FORMATS]
