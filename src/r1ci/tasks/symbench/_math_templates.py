"""Template-driven math tasks (math_counting, math_geometry): story text + value sampler + solution lines.

The solution lines are the single source of truth: the generator runs them (after
`MATH_PREAMBLE`) to get the gold, and the reference program is those same lines. The published
MATH problems of the matching category serve as the reference set; their golds are the `\\boxed{}`
contents, compared with `math_answer_matches` (numeric when readable, text otherwise).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample, Task
from r1ci.tasks.symbench._helpers import first_rejected, run_solution, solution_program
from r1ci.tasks.symbench._math_answers import boxed, math_answer_matches, parse_math
from r1ci.tasks.symbench.common import symbench_task


@dataclass(frozen=True)
class MathTemplate:
    text: str
    draw: Callable[[random.Random, int], dict[str, Any]]
    code: str


def format_gold(value: Any) -> str:
    return run_solution("result = fmt(value)", {"value": value})


def make_sample(templates: list[MathTemplate], instruction: str) -> Callable[[random.Random, int], Sample]:
    def sample(rng: random.Random, difficulty: int) -> Sample:
        index = rng.randrange(len(templates))
        t = templates[index]
        values = t.draw(rng, difficulty)
        gold = format_gold(run_solution(t.code, values))
        problem = f"{t.text.format(**values)}\n\n{instruction}"
        return Sample(problem, gold, {"template": index, "values": values, "code": t.code})

    return sample


def make_check(rel: float, exact_integers: bool) -> Callable[[str, Question], bool]:
    def check(answer: str, q: Question) -> bool:
        return q.answer is not None and math_answer_matches(answer, q.answer, rel=rel, exact_integers=exact_integers)

    return check


def make_corrupt(check: Callable[[str, Question], bool]) -> Callable[[str, Question], str]:
    def corrupt(gold: str, q: Question) -> str:
        value = parse_math(gold)
        candidates = []
        if isinstance(value, tuple):
            candidates.append("(" + ", ".join(str(v + 1) for v in value) + ")")
        elif value is not None:
            candidates += [str(value + 1), str(value * 2 + 1)]
        candidates += [gold + "1", "0", "-1"]
        return first_rejected(gold, q, check, candidates)

    return corrupt


def reference_program(q: Question) -> str | None:
    if "code" not in q.metadata:  # a published MATH problem: no solver of ours
        return None
    return solution_program(q.metadata["code"], q.metadata["values"])


def make_reference(category: str) -> Callable[[Path], list[Sample]]:
    """Published MATH problems of one category (`MATH/train/<category>/<id>.json`), by numeric id."""

    def reference(root: Path) -> list[Sample]:
        folder = root / "MATH" / "train" / category
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is missing; check R1CI_DATA_DIR points at the shared data")
        out = []
        for path in sorted(folder.glob("*.json"), key=lambda p: int(p.stem)):
            row = json.loads(path.read_text(encoding="utf-8"))
            gold = boxed(row["solution"])
            if not gold:
                continue
            meta = {"source_file": f"{category}/{path.name}", "level": row.get("level", "")}
            out.append(Sample(f"{row['problem']}\n\nPut the final answer inside <<< >>>.", gold, meta))
        return out

    return reference


def math_task(
    name: str,
    templates: list[MathTemplate],
    instruction: str,
    *,
    rel: float,
    exact_integers: bool,
    math_category: str,
    description: str,
) -> Task:
    """A template-driven math task: `rel`/`exact_integers` set how close a decimal must come (see
    `math_answer_matches`); the MATH training split's `math_category` is the reference set."""
    check = make_check(rel=rel, exact_integers=exact_integers)
    return symbench_task(
        name,
        make_sample(templates, instruction),
        check,
        description=description,
        reference=make_reference(math_category),
        reference_program=reference_program,
        corrupt=make_corrupt(check),
    )
