"""Export questions as an HF `datasets`-loadable file plus a manifest that says how they were made.

    export_questions("out/train", split="train", n=100, seed=0)   # questions.jsonl, manifest.json, README.md
    datasets.load_dataset("out/train")                            # the README's YAML names the data file

The folder is a Hugging Face dataset folder: its README.md dataset card declares `configs:` with
`data_files: questions.<fmt>`, so `load_dataset(folder)` reads the questions and never the
manifest. Exports are byte-identical run to run (no timestamps; questions are a function of
task, seed and difficulty), so two exports can be compared with `diff`.

One row per question: id, task, source, split, prompt, answer, metadata (a JSON string, because each
task's metadata has its own shape and a column of mixed structs would not load as one schema).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from r1ci.paths import bbh_dir, data_root
from r1ci.provenance import versions
from r1ci.tasks import registry
from r1ci.tasks.selection import select_tasks
from r1ci.tasks.splits import SPLITS, active_split

ExportFormat = Literal["jsonl", "parquet"]
FORMATS: tuple[str, ...] = ("jsonl", "parquet")
COLUMNS: tuple[str, ...] = ("id", "task", "source", "split", "prompt", "answer", "metadata")


def _select(split: str, suite: str | None, tasks: list[str] | None) -> list[str]:
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return select_tasks(
        tasks, split=None if split == "all" else split, suite=suite,
        purpose="an export of that split (drop them or export with --split all)",
    )


def _rows(
    names: list[str], n: int, seed: int, difficulty: int | None, progress: bool
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with Progress(
        TextColumn("[bold]export[/] {task.fields[name]:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not progress,
        transient=True,
    ) as bar:
        job = bar.add_task("export", total=len(names), name="")
        for name in names:
            bar.update(job, name=name)
            task = registry.get(name)
            split = registry.split_of(name)
            level = difficulty if task.difficulties else None
            for q in task.questions(n, seed=seed, difficulty=level):
                rows.append(
                    {
                        "id": q.id,
                        "task": q.task,
                        "source": task.source,
                        "split": split,
                        "prompt": q.prompt,
                        "answer": q.answer,
                        "metadata": json.dumps(q.metadata, sort_keys=True),
                    }
                )
            bar.advance(job)
    return rows


def _write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.string()) for c in COLUMNS])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def export_questions(
    out_dir: str | Path,
    *,
    split: str = "train",
    n: int = 100,
    seed: int = 0,
    fmt: str = "jsonl",
    suite: str | None = None,
    tasks: list[str] | None = None,
    difficulty: int | None = None,
    progress: bool = True,
) -> Path:
    """Write `questions.<fmt>` and `manifest.json` into `out_dir`; returns the questions file.

    `n` questions per task (BIG-Bench-Hard tasks give all their examples when n exceeds them);
    `difficulty` applies to tasks that have the knob and is ignored by the others.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1 question per task, got {n}")
    names = _select(split, suite, tasks)
    if not names:
        raise ValueError(f"no tasks selected (split={split!r}, suite={suite!r}); check `r1ci tasks list`")
    rows = _rows(names, n, seed, difficulty, progress)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"questions.{fmt}"
    tmp = out / f".questions.{fmt}.tmp{os.getpid()}"
    (_write_jsonl if fmt == "jsonl" else _write_parquet)(rows, tmp)
    tmp.replace(path)

    counts: dict[str, int] = {}
    for row in rows:
        counts[row["task"]] = counts.get(row["task"], 0) + 1
    manifest = {
        "file": path.name,
        "format": fmt,
        "rows": len(rows),
        "columns": list(COLUMNS),
        "split": split,
        "split_origin": active_split().origin,
        "suite": suite,
        "seed": seed,
        "n_per_task": n,
        "difficulty": difficulty,
        "tasks": [
            {
                "name": name,
                "source": registry.get(name).source,
                "split": registry.split_of(name),
                "rows": counts.get(name, 0),
            }
            for name in names
        ],
        "versions": versions("reasoning-gym"),
        "data_dir": str(data_root()),
        "bbh_dir": str(bbh_dir()),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "README.md").write_text(_dataset_card(path.name, manifest))
    return path


def _dataset_card(data_file: str, manifest: dict[str, Any]) -> str:
    """A dataset card whose YAML front matter points `datasets.load_dataset(folder)` at the data file only."""
    tasks = manifest["tasks"]
    return (
        "---\n"
        "configs:\n"
        "- config_name: default\n"
        "  data_files:\n"
        f"  - split: {'test' if manifest['split'] == 'test' else 'train'}\n"
        f"    path: {data_file}\n"
        "---\n\n"
        f"# r1ci questions ({manifest['split']} split)\n\n"
        f"{manifest['rows']} questions from {len(tasks)} tasks, {manifest['n_per_task']} per task, seed "
        f"{manifest['seed']}, made by r1ci {manifest['versions']['r1ci']} (`r1ci tasks export`). Columns: "
        f"{', '.join(manifest['columns'])}; `metadata` is a JSON string. How they were made: `manifest.json`.\n"
    )
