"""Helpers for the sandbox tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

import pytest

from r1ci.sandbox import LocalExecutor
from r1ci.sandbox.isolation import execution_exposed_paths

SECRET = "sk-r1ci-test-secret-do-not-leak"  # planted in the caller's environment by conftest


def has_layer(ex: LocalExecutor, name: str) -> bool:
    return bool(getattr(ex.layers, name))


def require_layer(ex: LocalExecutor, name: str) -> None:
    if not has_layer(ex, name):
        pytest.skip(f"kernel layer {name} is unavailable here: {ex.layers.missing.get(name)}")


def runtime_entries(point: str = "/tmp") -> list[str]:
    """Names a fresh `point` holds from the start: the read-only directories the sandbox binds there
    because this interpreter lives under it (a venv in a checkout cloned into /tmp); usually none."""
    inside = [p[len(point) + 1 :] for p in execution_exposed_paths() if p.startswith(point + "/")]
    return sorted({p.split("/")[0] for p in inside})
