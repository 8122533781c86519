"""Invariants every task must hold, checked on any task (a built-in one or a user's own).

    from r1ci.tasks.check import check_tasks
    reports = check_tasks(["game24", "my_task"], n=10)   # -> list[TaskReport]; report.ok, report.problems

Per difficulty (or once, for a task without the knob), `n` questions are made and:
- gold: every gold answer scores 1;
- garbage: malformed completions and the task's near-miss corruption of each gold score 0;
- cross: another question's gold, when it differs from this gold, scores 0 — a checker accepting
  more than `CROSS_TOLERANCE` of them is reported (tasks with several valid answers, such as
  knapsack, accept a few legitimately, so a small share is tolerated and shown; a task declaring
  `extra["many_valid_answers"]`, such as calendar_scheduling's free slots, is shown but not failed);
- reproducible: the same questions come back on a second call, for a smaller n (prefix-stable),
  and in a fresh process with another string-hash seed;
- program: the task's reference program, run in the real sandbox (`r1ci.sandbox.execute_many`),
  prints an answer that scores 1 — required for training tasks, on every question of generated
  tasks and on at least `PUBLISHED_PROGRAM_MIN` of published-example tasks (BIG-Bench-Hard labels
  carry a few errors a correct program cannot match);
- distinct: distinct prompts among the n questions at each difficulty (at least half must differ).

A task without a difficulty knob is checked on 5n questions (as many as a five-level task).

`r1ci tasks check` prints the reports as a table; the suite's own tests call `check_tasks`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from r1ci.tasks import registry
from r1ci.tasks.answers import wrap_answer
from r1ci.tasks.base import Question, Task

MALFORMED = (
    "",
    "I am not sure.",
    "<<<>>>",
    "<<<   >>>",
    "answer: 42",
    "<<<" + "x" * 300 + ">>>",
    "<<<" + "9" * 5000 + ">>>",
    "<<<[[[[(((>>>",
    "<<<{'a': [1, 2>>>",
    "<<<\x00\ud800\u202e>>>",
    "<<<None>>>",
    "<<<-1e309>>>",
)
CROSS_TOLERANCE = 0.1
PUBLISHED_PROGRAM_MIN = 0.9
PROGRAM_TIMEOUT_S = 20.0


@dataclass
class TaskReport:
    name: str
    source: str
    split: str
    questions: int = 0
    gold_ok: int = 0
    garbage_fail: int = 0
    cross_tried: int = 0
    cross_accepted: int = 0
    reproducible: bool | None = None
    program_solved: int | None = None
    """Questions the reference program solved (None: the task has no program)."""
    distinct: dict[str, int] = field(default_factory=dict)
    """Difficulty ("-" without the knob) -> distinct prompts among the n questions."""
    per_difficulty: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _corrupt(task: Task, q: Question) -> str:
    from r1ci.tasks.reasoning_gym import generic_corrupt

    fn: Callable[[str, Question], str] | None = task.extra.get("corrupt")
    return (fn or generic_corrupt)(q.answer or "", q)


def _levels(task: Task) -> list[int | None]:
    return list(task.difficulties) if task.difficulties else [None]


def question_sets(task: Task, n: int, seed: int) -> dict[str, list[Question]]:
    """`n` questions per difficulty; a task without the knob gets as many as a five-level task."""
    levels = _levels(task)
    per = n if task.difficulties else n * 5
    return {("-" if d is None else str(d)): task.questions(per, seed=seed, difficulty=d) for d in levels}


def fingerprint(task: Task, n: int, seed: int) -> str:
    """A hash of the task's questions at every difficulty (compared across processes)."""
    sets = question_sets(task, n, seed)
    blob = json.dumps({k: [q.to_dict() for q in v] for k, v in sets.items()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


_FINGERPRINT_SCRIPT = """
import json, sys
from r1ci.tasks import registry
from r1ci.tasks.check import fingerprint
names, n, seed = json.loads(sys.argv[1])
print(json.dumps({name: fingerprint(registry.get(name), n, seed) for name in names}))
"""


def fingerprints_in_fresh_process(names: Sequence[str], n: int, seed: int, hash_seed: str = "4242") -> dict[str, str]:
    """The same fingerprints computed by a new interpreter with another PYTHONHASHSEED (user task modules
    are found through $R1CI_TASK_MODULES, which the child inherits)."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    proc = subprocess.run(
        [sys.executable, "-c", _FINGERPRINT_SCRIPT, json.dumps([list(names), n, seed])],
        capture_output=True, text=True, env=env, timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"fingerprint subprocess failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _grade_all(task: Task, report: TaskReport, sets: dict[str, list[Question]]) -> None:
    for level, qs in sets.items():
        report.distinct[level] = len({q.prompt for q in qs})
        if report.distinct[level] * 2 < len(qs):
            report.problems.append(f"difficulty {level}: only {report.distinct[level]} distinct of {len(qs)} questions")
        for i, q in enumerate(qs):
            report.questions += 1
            if q.answer is None:
                report.problems.append(f"{q.id}: no gold answer")
                continue
            if task.score(q, f"Reasoning.\n{wrap_answer(q.answer)}") == 1.0:
                report.gold_ok += 1
            else:
                report.problems.append(f"{q.id}: gold {q.answer[:60]!r} does not score 1")
            try:
                wrong = _corrupt(task, q)
            except Exception as exc:  # one task's broken corruption is reported, not fatal to the run
                report.problems.append(f"{q.id}: corrupt failed: {type(exc).__name__}: {exc}")
                wrong = None
            near_misses = []
            if wrong is not None:
                near_misses = [wrap_answer(wrong), f"{wrap_answer(q.answer)} no: {wrap_answer(wrong)}"]
            for text in (*MALFORMED, *near_misses):
                if task.score(q, text) != 0.0:
                    report.garbage_fail += 1
                    report.problems.append(f"{q.id}: garbage {text[:40]!r} scores above 0")
            other = qs[(i + 1) % len(qs)]
            if other.answer is not None and other.answer.strip() != q.answer.strip():
                report.cross_tried += 1
                report.cross_accepted += task.score(q, wrap_answer(other.answer)) > 0
    lenient_ok = task.extra.get("many_valid_answers", False)
    if report.cross_tried and report.cross_accepted > CROSS_TOLERANCE * report.cross_tried and not lenient_ok:
        report.problems.append(
            f"{report.cross_accepted} of {report.cross_tried} other questions' golds score above 0"
        )


def _check_programs(task: Task, report: TaskReport, sets: dict[str, list[Question]], executor: object | None) -> None:
    questions = [q for qs in sets.values() for q in qs]
    if task.reference_program is None:
        if report.split == "train":
            report.problems.append("training task without a reference program")
        return
    codes = []
    for q in questions:
        try:
            codes.append(task.reference_program(q))
        except Exception as exc:
            codes.append(f"raise SystemExit({f'program builder failed: {exc!r}'!r})")
    if executor is None:
        from r1ci.sandbox import execute_many

        results = execute_many(codes, timeout_s=PROGRAM_TIMEOUT_S)
    else:
        results = executor.run_many(codes, timeout_s=PROGRAM_TIMEOUT_S)  # type: ignore[attr-defined]
    solved = 0
    first_failure = None
    for q, r in zip(questions, results, strict=True):
        printed = (r.stdout or "").strip()
        if r.status == "ok" and task.score(q, wrap_answer(printed)) == 1.0:
            solved += 1
        elif first_failure is None:
            first_failure = f"{q.id}: status {r.status}, printed {printed[-80:]!r}, {(r.stderr or '')[-200:]!r}"
    report.program_solved = solved
    published = not task.difficulties and task.source == "bbh"
    need = int(PUBLISHED_PROGRAM_MIN * len(questions)) if published else len(questions)
    if solved < need:
        report.problems.append(f"reference program solved {solved}/{len(questions)}; first failure {first_failure}")


def check_task(
    name: str, n: int = 10, seed: int = 0, *, programs: bool = True, executor: object | None = None
) -> TaskReport:
    """All invariants but the cross-process one (see `check_tasks`) for one task."""
    task = registry.get(name)
    report = TaskReport(name, task.source, registry.assignment(name) or "extra", per_difficulty=n)
    try:
        sets = question_sets(task, n, seed)
    except Exception as exc:
        report.problems.append(f"generation failed: {type(exc).__name__}: {exc}")
        return report
    again = question_sets(task, n, seed)
    prefix = question_sets(task, max(1, n // 2), seed)
    report.reproducible = again == sets and all(prefix[k] == sets[k][: len(prefix[k])] for k in sets)
    if not report.reproducible:
        report.problems.append("questions differ between calls (or are not prefix-stable in n)")
    _grade_all(task, report, sets)
    if programs:
        _check_programs(task, report, sets, executor)
    return report


def check_tasks(
    names: Sequence[str],
    n: int = 10,
    seed: int = 0,
    *,
    programs: bool = True,
    processes: bool = True,
    executor: object | None = None,
    on_report: Callable[[TaskReport], None] | None = None,
) -> list[TaskReport]:
    """`check_task` for each name, then one fresh process re-making every task's questions."""
    reports = []
    for name in names:
        report = check_task(name, n, seed, programs=programs, executor=executor)
        reports.append(report)
        if on_report is not None:
            on_report(report)
    if processes:
        generated = [r.name for r in reports if r.questions]
        theirs = fingerprints_in_fresh_process(generated, n, seed) if generated else {}
        for r in reports:
            if r.name in theirs and theirs[r.name] != fingerprint(registry.get(r.name), n, seed):
                r.reproducible = False
                r.problems.append("questions differ in a fresh process (global RNG or string-hash order)")
    return reports
