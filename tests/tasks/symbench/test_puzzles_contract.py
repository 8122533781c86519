"""Contract tests for the first 17 SymBench tasks: generated and reference golds score 1, near misses
and malformed completions score 0 without raising, generation is deterministic, every difficulty works,
reference programs print accepted answers. Hand-written known questions live in test_p1_known.py."""

from __future__ import annotations

import contextlib
import importlib
import io
import time

import pytest

from r1ci.paths import symbench_dir
from r1ci.tasks.answers import ANSWER_INSTRUCTION
from r1ci.tasks.base import Question, Task
from r1ci.tasks.symbench import module_tasks
from r1ci.tasks.symbench.common import DIFFICULTIES, reference_questions

PART1 = (
    "game24", "boxlift", "boxnet", "blocksworld", "eight_queens", "sudoku", "letters", "number_multiply",
    "cryptanalysis", "light_puzzles", "logic_puzzle", "mahjong", "matrix_transformation", "pooling",
    "reversi", "game_2048", "path_plan",
)  # fmt: skip
WITH_REFERENCE = tuple(n for n in PART1 if n != "path_plan")
MODULES = {name: importlib.import_module(f"r1ci.tasks.symbench.{name}") for name in PART1}
TASKS: dict[str, Task] = {name: module_tasks(mod)[0] for name, mod in MODULES.items()}
REQUIRED_PROGRAMS = ("number_multiply", "letters", "game24", "eight_queens", "matrix_transformation", "pooling")


def wrap(answer: str) -> str:
    return f"Let me work it out.\n```python\nprint(1)\n```\nSo the answer is <<<{answer}>>>"


@pytest.fixture(scope="module")
def symbench_root():
    root = symbench_dir()
    if not root.exists():
        pytest.skip(f"SymBench reference data not found at {root}; set R1CI_DATA_DIR")
    return root


@pytest.fixture(scope="module", params=PART1)
def generated(request: pytest.FixtureRequest) -> tuple[Task, list[Question]]:
    task = TASKS[request.param]
    qs = [q for d in DIFFICULTIES for q in task.questions(12, seed=7, difficulty=d)]
    return task, qs


def test_every_module_exposes_one_named_task() -> None:
    for name, mod in MODULES.items():
        assert [t.name for t in module_tasks(mod)] == [name]
        assert TASKS[name].source == "symbench"
        assert TASKS[name].difficulties == DIFFICULTIES
        assert callable(TASKS[name].extra["corrupt"])


def test_generated_gold_scores_one(generated: tuple[Task, list[Question]]) -> None:
    task, qs = generated
    for q in qs:
        assert q.answer, q.id
        grade = task.grade(q, wrap(q.answer))
        assert grade.reward == 1.0, (q.id, grade.reason, q.answer[:300])


def test_corrupt_answer_scores_zero(generated: tuple[Task, list[Question]]) -> None:
    task, qs = generated
    corrupt = task.extra["corrupt"]
    for q in qs:
        wrong = corrupt(q.answer, q)
        assert wrong != q.answer
        assert task.score(q, wrap(wrong)) == 0.0, (q.id, wrong[:300])


JUNK = [
    "",
    "no brackets at all",
    "garbage inside",
    "[[[[[[[[",
    "(" * 3000 + ")" * 3000,
    "1," * 6000,
    "① ② ③ \u202e\u0000 ☃ 🎲 日本語 ﷽",
    "None",
    "[]",
    "{}",
    "Step 1: [(9999, [0])]",
    "Move Z from 9 to 1",
    '[{"Agent[9.5, 9.5]": "move(box_red, target_red)"}]',
    "Count: -1, Positions: [0]",
    "__import__('os').system('echo hi')",
    "1e309",
    "nan",
]


def test_malformed_answers_score_zero_without_raising(generated: tuple[Task, list[Question]]) -> None:
    task, qs = generated
    for q in qs[::6]:
        assert task.score(q, "I think the answer is " + (q.answer or "")) == 0.0  # no <<<>>> at all
        assert task.score(q, "<<<" + (q.answer or "")) == 0.0  # unterminated
        for junk in JUNK:
            assert not task.check(junk, q), (q.id, junk[:40])  # the checker itself copes, no exception
            assert task.score(q, wrap(junk)) == 0.0
        gold = q.answer or ""
        if len(gold) > 1:
            assert task.score(q, wrap(gold[: len(gold) // 2])) == 0.0, (q.id, "half an answer")


def test_questions_are_deterministic_and_prefix_stable() -> None:
    for task in TASKS.values():
        a, b = task.questions(5, seed=3), task.questions(5, seed=3)
        assert [(q.id, q.prompt, q.answer) for q in a] == [(q.id, q.prompt, q.answer) for q in b]
        ten = task.questions(10, seed=3)
        assert [(q.id, q.prompt, q.answer) for q in ten[:5]] == [(q.id, q.prompt, q.answer) for q in a]
        other = task.questions(5, seed=4)
        assert [q.prompt for q in other] != [q.prompt for q in a], task.name
        assert len({q.prompt for q in ten}) >= 8, task.name  # not the same puzzle over and over


def test_every_difficulty_generates_and_bad_difficulty_is_rejected() -> None:
    for task in TASKS.values():
        for d in DIFFICULTIES:
            qs = task.questions(3, seed=1, difficulty=d)
            assert all(q.prompt.endswith(ANSWER_INSTRUCTION) and q.answer for q in qs)
            assert all(q.metadata["difficulty"] == d and "<<<" in q.prompt.split(ANSWER_INSTRUCTION)[0] for q in qs)
        with pytest.raises(ValueError, match="difficulties"):
            task.questions(1, difficulty=6)


def _size(q: Question) -> int:
    if q.task == "sudoku":  # always 9x9: difficulty is the number of blanks
        return sum(row.count(0) for row in q.metadata["puzzle"])
    return len(q.prompt) + len(q.answer or "")


def test_difficulty_makes_instances_bigger() -> None:
    for task in TASKS.values():
        easy = sum(_size(q) for q in task.questions(10, seed=2, difficulty=1))
        hard = sum(_size(q) for q in task.questions(10, seed=2, difficulty=5))
        assert hard > easy, task.name


def test_generation_is_fast() -> None:
    """Budget: 100 questions of every task of the suite in under a minute on 2 cores; ours get 0.3 s each
    (asserted with slack for a loaded machine)."""
    total = 0.0
    for task in TASKS.values():
        start = time.perf_counter()
        task.questions(100, seed=11)
        took = time.perf_counter() - start
        total += took
        assert took < 1.5, (task.name, took)
    assert total < 8.0, total


def test_questions_are_json_serialisable() -> None:
    import json

    for task in TASKS.values():
        for q in task.questions(3, seed=5, difficulty=5):
            assert Question.from_dict(json.loads(json.dumps(q.to_dict()))) == q


@pytest.mark.parametrize("name", [n for n in PART1 if TASKS[n].reference_program is not None])
def test_reference_programs_print_accepted_answers(name: str) -> None:
    task = TASKS[name]
    for q in task.questions(2, seed=9, difficulty=3):
        source = task.reference_program(q)  # type: ignore[misc]
        assert source is not None
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, f"<{name} reference program>", "exec"), {"__name__": "__main__"})
        assert task.score(q, wrap(out.getvalue().strip())) == 1.0, (name, out.getvalue()[:300])


def test_required_reference_programs_exist() -> None:
    for name in REQUIRED_PROGRAMS:
        assert TASKS[name].reference_program is not None, name


@pytest.mark.parametrize("name", WITH_REFERENCE)
def test_reference_golds_score_one(name: str, symbench_root) -> None:
    task = TASKS[name]
    qs = reference_questions(task, symbench_root)
    assert len(qs) >= 40
    assert [q.id for q in qs] == [f"{name}/ref/{i}" for i in range(len(qs))]
    for q in qs:
        assert q.answer is not None and q.prompt.endswith(ANSWER_INSTRUCTION)
        assert task.check(q.answer, q), (q.id, q.answer[:300])
    corrupt = task.extra["corrupt"]
    for q in qs[:: max(1, len(qs) // 25)]:
        assert task.score(q, wrap(corrupt(q.answer, q))) == 0.0, q.id


def test_reference_order_is_stable(symbench_root) -> None:
    for name in ("eight_queens", "blocksworld", "boxlift", "mahjong"):
        first = reference_questions(TASKS[name], symbench_root)
        second = reference_questions(TASKS[name], symbench_root)
        assert [(q.id, q.prompt, q.answer) for q in first] == [(q.id, q.prompt, q.answer) for q in second]


@pytest.mark.parametrize("name", [n for n in PART1 if getattr(MODULES[n], "VARIANTS", None)])
def test_variant_reference_sets_are_accepted(name: str, symbench_root) -> None:
    task = TASKS[name]
    for variant, parser in MODULES[name].VARIANTS.items():
        samples = parser(symbench_root)
        assert samples, (name, variant)
        for i, s in enumerate(samples):
            q = Question(f"{name}/{variant}/{i}", name, s.problem, s.answer, s.metadata)
            assert task.check(s.answer, q), (q.id, s.answer[:200])


def test_missing_reference_folder_is_a_clear_error(tmp_path) -> None:
    for name in ("eight_queens", "boxlift", "letters"):
        with pytest.raises(FileNotFoundError, match="R1CI_DATA_DIR"):
            reference_questions(TASKS[name], tmp_path)
