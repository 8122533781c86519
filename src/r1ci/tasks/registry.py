"""Name -> `Task` for the three suites, built on first use (importing `r1ci.tasks` stays cheap).

Suites are the sources: "symbench" (our generators, discovered per module), "bbh" (the published
BIG-Bench-Hard examples) and "reasoning_gym" (the reasoning-gym package). Splits come from
`r1ci.tasks.splits.active_split()`: training code asks for `names(split="train")`, so a held-out
task can never reach SFT data or RL prompts.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections import Counter

from r1ci.tasks.base import SOURCES, Source, Task
from r1ci.tasks.splits import SPLITS, SplitName, active_split

# Source -> module with `load_tasks() -> list[Task]`; imported only when the registry is first built.
_LOADERS: dict[Source, str] = {
    "symbench": "r1ci.tasks.symbench",
    "bbh": "r1ci.tasks.bbh",
    "reasoning_gym": "r1ci.tasks.reasoning_gym",
}


class UnknownTaskError(KeyError):
    """An unknown task name (a KeyError whose message reads well, with close matches)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_registry: dict[str, Task] | None = None
_lock = threading.Lock()


def _build() -> dict[str, Task]:
    out: dict[str, Task] = {}
    for source in SOURCES:
        for task in importlib.import_module(_LOADERS[source]).load_tasks():
            if task.name in out:
                raise ValueError(
                    f"task name {task.name!r} is registered twice ({out[task.name].source} and {task.source}); "
                    "task names must be unique across suites"
                )
            out[task.name] = task
    return out


def _tasks() -> dict[str, Task]:
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = _build()
    return _registry


def reload() -> None:
    """Forget the built registry (after adding task modules in a running process, e.g. in tests)."""
    global _registry
    with _lock:
        _registry = None


def suites() -> list[str]:
    return list(SOURCES)


def _check_suite(suite: str | None) -> None:
    if suite is not None and suite not in SOURCES:
        raise ValueError(f"unknown suite {suite!r}; pick one of {list(SOURCES)}")


def _check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; pick 'train' or 'test'")


def get(name: str) -> Task:
    tasks = _tasks()
    if name in tasks:
        return tasks[name]
    close = difflib.get_close_matches(name, list(tasks), n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; run `r1ci tasks list` to see all task names"
    raise UnknownTaskError(f"unknown task {name!r}{hint}")


def split_of(name: str) -> SplitName:
    get(name)  # an unknown name is a naming error first, not a split error
    return active_split().split_of(name)


def names(suite: str | None = None, split: str | None = None) -> list[str]:
    """Registered task names (suite order, then each suite's own order), optionally filtered."""
    _check_suite(suite)
    _check_split(split)
    the_split = active_split()
    return [
        t.name
        for t in _tasks().values()
        if (suite is None or t.source == suite) and (split is None or the_split.assignment(t.name) == split)
    ]


def all_tasks(suite: str | None = None, split: str | None = None) -> list[Task]:
    tasks = _tasks()
    return [tasks[n] for n in names(suite, split)]


def counts() -> dict[str, dict[str, int]]:
    """`{source: {"train": k, "test": m}}` for the registered tasks under the active split."""
    the_split = active_split()
    c = Counter((t.source, the_split.assignment(t.name)) for t in _tasks().values())
    return {s: {sp: c[(s, sp)] for sp in SPLITS} for s in SOURCES}
