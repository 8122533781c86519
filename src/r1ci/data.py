"""Where reference data lives: `$R1CI_DATA_DIR`, else `../shared/data` beside a source checkout, else the cache.

Layout under the data root (the public repositories' own layouts):
    bbh/bbh/<task>.json                       suzgunmirac/BIG-Bench-Hard, folder bbh/
    symbench/dataset_gather/<task folder>/     yongchao98/CodeSteer-v1.0, folder dataset_gather/
"""

from __future__ import annotations

import os
from pathlib import Path

from r1ci.models import cache_dir

_REPO_SIBLING = Path(__file__).resolve().parents[3] / "shared" / "data"


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
