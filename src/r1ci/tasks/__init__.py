"""Task suite: SymBench, BIG-Bench-Hard and Reasoning-Gym behind one `Task` contract.

    from r1ci import tasks
    tasks.names(suite="bbh", split="train")      # names, filtered
    task = tasks.get("game24")                   # -> Task (unknown names list close matches)
    qs = task.questions(10, seed=0)              # deterministic per seed
    task.score(qs[0], "... <<<answer>>>")        # 0.0 .. 1.0, never raises

Your own task: `tasks.register(Task(...), split="train")`, then `r1ci tasks check --tasks NAME`.

Importing this package is cheap: the suites are built on the first call that needs them.
"""

from __future__ import annotations

from r1ci.tasks.base import Grade, Question, Sample, Task
from r1ci.tasks.registry import (
    UnknownTaskError,
    all_tasks,
    assignment,
    counts,
    get,
    names,
    register,
    reload,
    split_of,
    suites,
    unregister,
)
from r1ci.tasks.splits import Split, active_split, load_split, use_split

__all__ = [
    "Grade",
    "Question",
    "Sample",
    "Split",
    "Task",
    "UnknownTaskError",
    "active_split",
    "all_tasks",
    "assignment",
    "counts",
    "get",
    "load_split",
    "names",
    "register",
    "reload",
    "split_of",
    "suites",
    "unregister",
    "use_split",
]
