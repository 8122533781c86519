"""Name -> `Task` for the three suites, built on first use (importing `r1ci.tasks` stays cheap).

Suites are the sources: "symbench" (our generators, discovered per module), "bbh" (the published
BIG-Bench-Hard examples) and "reasoning_gym" (the reasoning-gym package). Splits come from
`r1ci.tasks.splits.active_split()`: training code asks for `names(split="train")`, so a held-out
task can never reach SFT data or RL prompts.

A user's own task joins with `register(task, split="train")` (any source name of the three; see
README "Tasks"). Tasks in no split (the extra tasks, or a task registered with `split=None`) are
left out of `names()` unless `extra=True`: the 144 stay the 144.
"""

from __future__ import annotations

import difflib
import importlib
import os
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
_user: dict[str, tuple[Task, SplitName | None]] = {}
"""Tasks added with `register`, and the split each joins when the active split does not list it."""
_lock = threading.Lock()


TASK_MODULES_ENV = "R1CI_TASK_MODULES"


_from_env: dict[str, tuple[Task, SplitName | None]] = {}
"""Tasks of the $R1CI_TASK_MODULES modules, found again on every build."""


def _load_user_modules() -> None:
    """Import the modules named in $R1CI_TASK_MODULES (comma-separated); each defines `TASKS: list[Task]`
    and optionally `TASK_SPLIT` ("train" default, "test" or None), so CLI commands see a user's tasks."""
    for module_name in filter(None, (m.strip() for m in os.environ.get(TASK_MODULES_ENV, "").split(","))):
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise ImportError(
                f"{TASK_MODULES_ENV} names {module_name!r}, which failed to import ({type(exc).__name__}: {exc}); "
                "make it importable (e.g. PYTHONPATH) or fix the module"
            ) from exc
        found = getattr(module, "TASKS", None)
        if not isinstance(found, list) or not all(isinstance(t, Task) for t in found):
            raise TypeError(f"{module_name}.TASKS must be a list of r1ci.tasks.Task objects")
        split = getattr(module, "TASK_SPLIT", "train")
        for task in found:
            _from_env.setdefault(task.name, (task, split))


def _build() -> dict[str, Task]:
    _from_env.clear()
    _load_user_modules()
    out: dict[str, Task] = {}
    for source in SOURCES:
        for task in importlib.import_module(_LOADERS[source]).load_tasks():
            if task.name in out:
                raise ValueError(
                    f"task name {task.name!r} is registered twice ({out[task.name].source} and {task.source}); "
                    "task names must be unique across suites"
                )
            out[task.name] = task
    for name, (task, _) in {**_from_env, **_user}.items():
        if name in out:
            raise ValueError(f"task name {name!r} is already a built-in task; register your task under another name")
        out[name] = task
    return out


def register(task: Task, split: SplitName | None = "train", *, replace: bool = False) -> Task:
    """Add a user's task to the registry (in this process), in `split` unless a split file lists it.

    `split=None` registers it outside both splits (usable by name, like the extra tasks).
    `replace=True` swaps a task of the same name registered earlier (not a built-in one).
    """
    if not isinstance(task, Task):
        raise TypeError(f"register() takes a r1ci.tasks.Task, got {type(task).__name__}")
    if task.source not in SOURCES:
        raise ValueError(f"task {task.name!r}: source must be one of {list(SOURCES)}, got {task.source!r}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be 'train', 'test' or None, got {split!r}")
    with _lock:
        if task.name in _user and not replace:
            raise ValueError(f"task {task.name!r} is already registered; pass replace=True to swap it")
        _user[task.name] = (task, split)
    reload()
    try:
        _tasks()
    except ValueError:
        with _lock:
            del _user[task.name]
        reload()
        raise
    return task


def unregister(name: str) -> None:
    """Remove a task added with `register` (tests, notebooks)."""
    with _lock:
        if name not in _user:
            raise UnknownTaskError(f"task {name!r} was not added with register()")
        del _user[name]
    reload()


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


def assignment(name: str) -> SplitName | None:
    """The task's split under the active split (None: in no split, e.g. an extra task)."""
    the_split = active_split()
    own = _user.get(name) or _from_env.get(name)
    if own is not None and not the_split.listed(name):
        return own[1]
    return the_split.assignment(name)


def split_of(name: str) -> SplitName:
    get(name)  # an unknown name is a naming error first, not a split error
    found = assignment(name)
    return found if found is not None else active_split().split_of(name)


def names(suite: str | None = None, split: str | None = None, *, extra: bool = False) -> list[str]:
    """Registered task names (suite order, then each suite's own order), optionally filtered.

    Tasks in no split (the extra tasks) are listed only with `extra=True` (and no `split`)."""
    _check_suite(suite)
    _check_split(split)
    out = []
    for t in _tasks().values():
        where = assignment(t.name)
        if suite is not None and t.source != suite:
            continue
        if (split is not None and where != split) or (split is None and where is None and not extra):
            continue
        out.append(t.name)
    return out


def all_tasks(suite: str | None = None, split: str | None = None, *, extra: bool = False) -> list[Task]:
    tasks = _tasks()
    return [tasks[n] for n in names(suite, split, extra=extra)]


def counts() -> dict[str, dict[str, int]]:
    """`{source: {"train": k, "test": m, "extra": e}}` for the registered tasks under the active split."""
    c = Counter((t.source, assignment(t.name) or "extra") for t in _tasks().values())
    return {s: {sp: c[(s, sp)] for sp in (*SPLITS, "extra")} for s in SOURCES}
