"""SymBench: the CodeSteer authors' 37 symbolic, planning and puzzle tasks, as our own generators
(plus four extra tasks of our own, outside the 144).

Every module in this package that defines `TASKS: list[Task]` contributes its tasks; the registry
finds them with `pkgutil`, so adding a task is adding a module. Modules whose name starts with `_`
and modules without `TASKS` (shared helpers such as `common`) are skipped. A module that fails to
import is an error, not a silently smaller suite.
"""

from __future__ import annotations

import importlib
import pkgutil

from r1ci.tasks.base import Task

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
        tasks = getattr(module, "TASKS", None)
        if tasks is None:
            continue  # a helper module shared by task modules
        for task in tasks:
            if not isinstance(task, Task) or task.source != "symbench":
                raise TypeError(
                    f"r1ci.tasks.symbench.{module_name}.TASKS must hold Task objects with source "
                    f"'symbench' (build them with symbench_task(...)); found {task!r:.80}"
                )
            if task.name in found:
                raise ValueError(f"SymBench task {task.name!r} is defined twice (second in {module_name})")
            found[task.name] = task
    order = {name: i for i, name in enumerate(SYMBENCH_NAMES + EXTRA_NAMES)}
    return sorted(found.values(), key=lambda t: (order.get(t.name, len(order)), t.name))


def missing() -> list[str]:
    """Canonical SymBench tasks that no module provides yet."""
    have = {t.name for t in load_tasks()}
    return [n for n in SYMBENCH_NAMES if n not in have]
