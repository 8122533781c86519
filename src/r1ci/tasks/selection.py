"""Which tasks a command works on: one place that reads `--tasks` items and split/suite filters.

An item is a task name, a suite ("symbench", "bbh", "reasoning_gym"), a split ("train", "test") or
"extra" (the registered tasks outside the 144). `select_tasks` expands them in order, drops
repeats, checks names (unknown ones fail with close matches) and, when `split` is given, refuses
tasks of the other split unless `allow_other_split` — so held-out tasks never reach SFT data or RL
prompts by accident. Every CLI and library entry point that takes a task list calls this.
"""

from __future__ import annotations

from collections.abc import Sequence

import r1ci.tasks as registry  # the public API (get, names, assignment), so a patched registry is honoured
from r1ci.tasks.base import SOURCES
from r1ci.tasks.splits import SPLITS


def expand(item: str, split: str | None = None) -> list[str]:
    """One `--tasks` item -> task names (a suite or split expands, a name is itself)."""
    if item in SOURCES:
        return registry.names(suite=item, split=split)
    if item in SPLITS:
        return registry.names(split=item)
    if item == "extra":
        return [n for n in registry.names(extra=True) if registry.assignment(n) is None]
    registry.get(item)  # unknown names raise with close matches
    return [item]


def select_tasks(
    items: Sequence[str] | None,
    *,
    split: str | None = None,
    suite: str | None = None,
    allow_other_split: bool = False,
    purpose: str = "this command",
) -> list[str]:
    """Task names for `items` (default: every task of `split`/`suite`, or all 144), in order, once each."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; pick 'train' or 'test'")
    if not items:
        names = registry.names(suite=suite, split=split)
    else:
        names = list(dict.fromkeys(n for item in items for n in expand(item, split)))
        if suite is not None:
            names = [n for n in names if registry.get(n).source == suite]
    if split is not None and not allow_other_split:
        wrong = [n for n in names if registry.assignment(n) != split]
        if wrong:
            raise ValueError(
                f"tasks {wrong[:5]} are not in the {split!r} split, so {purpose} refuses them "
                f"(see `r1ci tasks list --split {split}`)"
            )
    if not names:
        raise ValueError(f"no tasks selected (tasks={list(items or [])}, split={split}, suite={suite})")
    return names
