"""What made an artefact: its config, the library versions, the git commit and the time.

Every artefact r1ci writes (eval runs, SFT data, checkpoints, final models, curriculum estimates,
exports) records `provenance(config)` (invariant 3), so a number can always be traced back to the
code and settings that produced it. Versions are read from package metadata, never by importing the
packages (importing torch alone costs seconds).
"""

from __future__ import annotations

import importlib.metadata as md
import platform
import subprocess
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

PACKAGES = ("r1ci", "torch", "transformers", "peft", "accelerate", "vllm", "openai")
"""Recorded when installed (an absent optional package is left out)."""


def versions(*extra: str) -> dict[str, str]:
    """Python and the installed versions of `PACKAGES` plus `extra`."""
    out = {"python": platform.python_version()}
    for pkg in (*PACKAGES, *extra):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the r1ci source checkout (with `+dirty` for uncommitted changes); None when
    r1ci runs from an installed wheel or git is missing."""
    src = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def provenance(config: Any = None, *packages: str) -> dict[str, Any]:
    """`{"config", "versions", "git_commit", "time"}`; `config` is a pydantic model, a dict or None."""
    if hasattr(config, "model_dump"):
        config = config.model_dump(mode="json")
    record: dict[str, Any] = {} if config is None else {"config": config}
    record.update(versions=versions(*packages), git_commit=git_commit(),
                  time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return record
