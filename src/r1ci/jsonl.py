"""JSON Lines: the one reader and the writers behind every r1ci `.jsonl` artefact.

Broken-line policy (the same for trajectories, estimates, metrics and reports):
- A torn last line is what a crash or Ctrl-C mid-write leaves: the record it held was never finished,
  so it is dropped with a warning, and the next append first cuts it off (otherwise the new record
  would be glued onto it and corrupt a line in the middle).
- A line that is not JSON anywhere else means the file is corrupt: `ValueError` naming file and line.
  Silently skipping it would make records (questions, samples) vanish unseen.

Writers: `JsonlWriter` appends and flushes every record (a streaming job loses at most the record
being written); `write_records` rewrites a whole file atomically (temp file + rename).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger("r1ci.jsonl")


def dumps(record: Any) -> str:
    # ensure_ascii=False keeps model text readable; allow_nan=False: a NaN in a record is a bug upstream.
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


def iter_records(path: str | Path, *, missing_ok: bool = False) -> Iterator[tuple[int, Any]]:
    """(line number, record) for every non-blank line, under the broken-line policy above."""
    p = Path(path)
    if not p.exists():
        if missing_ok:
            return
        raise FileNotFoundError(f"{p} does not exist")
    lines = p.read_text(encoding="utf-8").splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if i == last:
                log.warning("%s:%d: dropped a torn last line (an interrupted write)", p, i + 1)
                return
            raise ValueError(f"{p}:{i + 1} is not valid JSON: the file is corrupt before its last line") from None
        yield i + 1, record


def read_records(path: str | Path, *, missing_ok: bool = False) -> list[Any]:
    """Every record of a JSONL file (`missing_ok`: a missing file reads as empty)."""
    return [record for _, record in iter_records(path, missing_ok=missing_ok)]


def _cut_torn_tail(p: Path) -> None:
    """Truncate a last line that lacks its newline (an interrupted write) before appending after it."""
    size = p.stat().st_size
    if size == 0:
        return
    with p.open("rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        keep = data.rfind(b"\n") + 1
        log.warning("%s: cut a torn last line (%d bytes) before appending", p, size - keep)
        f.truncate(keep)


class JsonlWriter:
    """Appends records to a JSONL file, one flushed line each; usable as a context manager."""

    def __init__(self, path: str | Path, *, append: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if append and self.path.exists():
            _cut_torn_tail(self.path)
        self._file = self.path.open("a" if append else "w", encoding="utf-8")

    def write(self, record: Any) -> None:
        self._file.write(dumps(record) + "\n")
        self._file.flush()

    def write_many(self, records: Iterable[Any]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def append_records(path: str | Path, records: Iterable[Any]) -> Path:
    with JsonlWriter(path) as writer:
        writer.write_many(records)
    return Path(path)


def write_records(path: str | Path, records: Iterable[Any]) -> Path:
    """Replace the file's content atomically: readers see the old file or the new one, never half."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f"{p.name}.tmp{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(dumps(record) + "\n")
    tmp.replace(p)
    return p
