"""Where r1ci keeps files: the cache (`$R1CI_CACHE`, default `~/.cache/r1ci`) and the reference data
(`$R1CI_DATA_DIR`, else `../shared/data` beside a source checkout, else `<cache>/data`).

The bottom layer: it imports nothing from r1ci, so tasks, models and the trainers can all use it.

Layout under the data root (the public repositories' own layouts):
    bbh/bbh/<task>.json                       suzgunmirac/BIG-Bench-Hard, folder bbh/
    symbench/dataset_gather/<task folder>/     yongchao98/CodeSteer-v1.0, folder dataset_gather/
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO_SIBLING = Path(__file__).resolve().parents[3] / "shared" / "data"


def cache_dir() -> Path:
    root = Path(os.environ.get("R1CI_CACHE", Path.home() / ".cache" / "r1ci"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def data_root() -> Path:
    env = os.environ.get("R1CI_DATA_DIR")
    if env:
        return Path(env).expanduser()
    if _REPO_SIBLING.exists():
        return _REPO_SIBLING
    return cache_dir() / "data"


def bbh_dir() -> Path:
    return data_root() / "bbh" / "bbh"


def symbench_dir() -> Path:
    return data_root() / "symbench" / "dataset_gather"
