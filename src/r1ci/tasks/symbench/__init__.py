"""SymBench: the CodeSteer authors' 37 symbolic, planning and puzzle tasks, as our own generators
(plus four extra tasks of our own, outside the 144).

Every module in this package is a task module, found with `pkgutil`, so adding a task is adding a
module. By convention a module declares one task named after itself: `DESCRIPTION`, `sample(rng,
difficulty) -> Sample` and `check(answer, question)`, and optionally `reference`, `reference_program`,
`corrupt`, `MANY_VALID_ANSWERS`, `DEFAULT_DIFFICULTY` and `DIFFICULTIES` (`common.task_from_module`
builds the `Task`). A module whose tasks take another shape (several tasks, or built by a factory
such as `bbh_derived_task` or `math_task`) lists them instead in `TASKS: list[Task]`. Modules whose
name starts with `_`, and `common`, are shared helpers and skipped. A module that fails to import, or
that is neither shape, is an error, not a silently smaller suite.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from types import ModuleType

from r1ci.tasks.base import Task
from r1ci.tasks.symbench.common import task_from_module

# CodeSteer's 37 SymBench tasks (its benchmark's membership; the registry lists them in this order).
SYMBENCH_NAMES: tuple[str, ...] = (
    "game24", "path_plan", "boxlift", "boxnet", "blocksworld", "date_understanding", "web_of_lies",
    "logical_deduction", "navigation", "gsm_hard", "math_geometry", "math_counting",
    "logical_equation", "new_operator", "pooling", "light_puzzles", "mahjong", "statistical_counting",
    "matrix_transformation", "logic_puzzle", "constrained_linear_arrangement", "pattern_recognition",
    "string_synthesis", "number_multiply", "combinatorial_calculation", "eight_queens",
    "permutations_combinations", "reversi", "cryptanalysis", "string_insertion",
    "string_deletion_modification", "string_splitting", "synthesis_decomposition", "game_2048",
    "letter_logic_diagram", "sudoku", "letters",
)  # fmt: skip
# r1ci's own extra tasks (registered, outside the 144 and both splits; see r1ci.tasks.splits.EXTRA).
EXTRA_NAMES: tuple[str, ...] = ("date_arithmetic", "boolean_circuit", "knapsack", "calendar_scheduling")

_SKIP_MODULES = frozenset({"common"})


def _task_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.ispkg and not m.name.startswith("_") and m.name not in _SKIP_MODULES
    )


@functools.cache
def _convention_task(module: ModuleType) -> Task:
    """One Task object per module, as a module-level `TASKS` list was (registry rebuilds reuse it)."""
    return task_from_module(module)


def module_tasks(module: ModuleType) -> list[Task]:
    """The tasks one SymBench module contributes: its `TASKS` list, else the one task it declares by
    convention (`task_from_module`)."""
    tasks = getattr(module, "TASKS", None)
    if tasks is None:
        return [_convention_task(module)]
    for task in tasks:
        if not isinstance(task, Task) or task.source != "symbench":
            raise TypeError(
                f"{module.__name__}.TASKS must hold Task objects with source 'symbench' (build them with "
                f"symbench_task(...)); found {task!r:.80}"
            )
    return list(tasks)


def load_tasks() -> list[Task]:
    """All SymBench tasks found in this package, canonical ones first in paper order."""
    found: dict[str, Task] = {}
    for module_name in _task_modules():
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except Exception as exc:
            raise ImportError(
                f"SymBench task module r1ci.tasks.symbench.{module_name} failed to import: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        for task in module_tasks(module):
            if task.name in found:
                raise ValueError(f"SymBench task {task.name!r} is defined twice (second in {module_name})")
            found[task.name] = task
    order = {name: i for i, name in enumerate(SYMBENCH_NAMES + EXTRA_NAMES)}
    return sorted(found.values(), key=lambda t: (order.get(t.name, len(order)), t.name))


def missing() -> list[str]:
    """Canonical SymBench tasks that no module provides yet."""
    have = {t.name for t in load_tasks()}
    return [n for n in SYMBENCH_NAMES if n not in have]
