"""Helpers for the sandbox tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

import pytest

from r1ci.sandbox import LocalExecutor

SECRET = "sk-r1ci-test-secret-do-not-leak"  # planted in the caller's environment by conftest


def has_layer(ex: LocalExecutor, name: str) -> bool:
    return bool(getattr(ex.layers, name))


def require_layer(ex: LocalExecutor, name: str) -> None:
    if not has_layer(ex, name):
        pytest.skip(f"kernel layer {name} is unavailable here: {ex.layers.missing.get(name)}")
