"""Shared plumbing for SymBench tasks: one call turns a generator + checker into a registered `Task`.

Each task module (one per task family) writes `sample(rng, difficulty) -> Sample` and
`check(answer, question) -> bool | float`, and optionally a reference-data parser that reads the
CodeSteer authors' published question set (under `r1ci.paths.symbench_dir()`) into `Sample`s.
The reference sets are the fixed test sets and regression data: the checker must accept their golds.
`task_from_module` builds the `Task` from those module attributes (the package loader calls it for
every task module without an explicit `TASKS` list).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from r1ci.paths import symbench_dir
from r1ci.tasks.base import Checker, Question, Sample, Task, generated_questions, with_instruction

if TYPE_CHECKING:
    from r1ci.tasks.bbh import AnswerFormat

ReferenceParser = Callable[[Path], list[Sample]]
"""Reads `symbench_dir()` (the dataset_gather folder) and returns the task's reference samples in a stable order."""

DIFFICULTIES = (1, 2, 3, 4, 5)


def symbench_task(
    name: str,
    sample: Callable[[random.Random, int], Sample],
    check: Checker,
    *,
    description: str,
    default_difficulty: int = 2,
    difficulties: tuple[int, ...] = DIFFICULTIES,
    reference: ReferenceParser | None = None,
    reference_program: Callable[[Question], str] | None = None,
    corrupt: Callable[[str, Question], str] | None = None,
    many_valid_answers: bool = False,
) -> Task:
    """`corrupt(gold, q)` returns a near-miss wrong answer (tests assert it scores 0); without it the
    test suite uses a generic perturbation of the gold string. `many_valid_answers`: another
    question's gold can legitimately answer this one (a free meeting slot), so `tasks check` shows
    such acceptances without failing the task."""
    return Task(
        name=name,
        source="symbench",
        make_questions=generated_questions(name, sample, default_difficulty),
        check=check,
        description=description,
        difficulties=difficulties,
        reference_program=reference_program,
        extra={
            **{k: v for k, v in (("reference", reference), ("corrupt", corrupt)) if v is not None},
            **({"many_valid_answers": True} if many_valid_answers else {}),
        },
    )


_REQUIRED = ("DESCRIPTION", "sample", "check")


def task_from_module(module: ModuleType) -> Task:
    """The task a SymBench task module declares by convention, named after the module.

    Required: `DESCRIPTION` (one line), `sample(rng, difficulty) -> Sample`, `check(answer, q)`.
    Optional: `reference` (a `ReferenceParser`), `reference_program(q)`, `corrupt(gold, q)`,
    `MANY_VALID_ANSWERS`, `DEFAULT_DIFFICULTY`, `DIFFICULTIES` (see `symbench_task`)."""
    missing = [attr for attr in _REQUIRED if not hasattr(module, attr)]
    if missing:
        raise AttributeError(
            f"SymBench task module {module.__name__} defines no TASKS list and lacks {', '.join(missing)}; "
            f"a task module defines {', '.join(_REQUIRED)} (or an explicit TASKS list), and a helper "
            "module's name starts with '_'"
        )
    return symbench_task(
        module.__name__.rpartition(".")[2],
        module.sample,
        module.check,
        description=module.DESCRIPTION,
        default_difficulty=getattr(module, "DEFAULT_DIFFICULTY", 2),
        difficulties=getattr(module, "DIFFICULTIES", DIFFICULTIES),
        reference=getattr(module, "reference", None),
        reference_program=getattr(module, "reference_program", None),
        corrupt=getattr(module, "corrupt", None),
        many_valid_answers=getattr(module, "MANY_VALID_ANSWERS", False),
    )


def reference_questions(task: Task, root: Path | None = None) -> list[Question]:
    """The task's published reference questions (fixed test set), ids `<task>/ref/<i>`."""
    parser: ReferenceParser | None = task.extra.get("reference")
    if parser is None:
        return []
    base = root if root is not None else symbench_dir()
    if not base.exists():
        raise FileNotFoundError(
            f"SymBench reference data not found at {base}; set R1CI_DATA_DIR to a folder holding "
            "symbench/dataset_gather (public copy: github.com/yongchao98/CodeSteer-v1.0, folder dataset_gather)"
        )
    return [
        Question(
            id=f"{task.name}/ref/{i}",
            task=task.name,
            prompt=with_instruction(s.problem),
            answer=s.answer,
            metadata={**s.metadata, "reference": True, "index": i},
        )
        for i, s in enumerate(parser(base))
    ]


def problem_text(q: Question) -> str:
    """The question's prompt without the shared answer-format instruction (what a program parses)."""
    from r1ci.tasks.answers import ANSWER_INSTRUCTION

    return q.prompt.removesuffix(ANSWER_INSTRUCTION).rstrip()


def read_bbh_reference(stem: str, instruction: str) -> ReferenceParser:
    """A reference parser for a BBH-derived SymBench task: CodeSteer's copy of the BBH examples
    (`BIG-Bench-Hard/bbh/<stem>.json` under the dataset_gather folder), with the task's own answer
    instruction appended and, for multiple choice, the options parsed into the metadata."""

    def parse(root: Path) -> list[Sample]:
        import json

        from r1ci.tasks.bbh import parse_options

        path = root / "BIG-Bench-Hard" / "bbh" / f"{stem}.json"
        if not path.exists():
            raise FileNotFoundError(
                f"SymBench reference file {path} not found; point R1CI_DATA_DIR at a folder holding "
                "symbench/dataset_gather (github.com/yongchao98/CodeSteer-v1.0, folder dataset_gather)"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
        out = []
        for ex in data["examples"] if isinstance(data, dict) else data:
            options = parse_options(ex["input"])
            meta = {"options": options} if options else {}
            out.append(Sample(f"{ex['input'].rstrip()}\n\n{instruction}", ex["target"], meta))
        return out

    return parse


def bbh_derived_task(
    name: str,
    sample: Callable[[random.Random, int], Sample],
    solver: Callable[[str], str],
    answer_format: AnswerFormat,
    *,
    description: str,
    bbh_stem: str,
) -> Task:
    """A SymBench task derived from a BBH one: graded by the BBH answer format, its reference set
    CodeSteer's copy of `bbh/<bbh_stem>.json`, its reference program the task's own text solver
    (`solver(problem_text)`, a self-contained module-level function the BBH twin shares)."""
    from r1ci.tasks.symbench._helpers import program_from

    def reference_program(q: Question) -> str:
        return program_from([solver], f"{solver.__name__}({problem_text(q)!r})")

    return symbench_task(
        name,
        sample,
        answer_format.matches,
        description=description,
        reference=read_bbh_reference(bbh_stem, answer_format.instruction),
        reference_program=reference_program,
        corrupt=answer_format.corrupt,
    )
