"""Shared sandbox fixtures: one warm executor for the whole session (starting one costs ~1 s)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sandbox_helpers import SECRET

from r1ci.sandbox import LocalExecutor, SandboxLimits
from r1ci.sandbox.bench import wait_quiet


@pytest.fixture(scope="session")
def executor() -> Iterator[LocalExecutor]:
    """A local pool started while the caller's environment holds secrets (which must not reach it)."""
    saved = {k: os.environ.get(k) for k in ("OPENAI_API_KEY", "R1CI_TEST_TOKEN")}
    os.environ["OPENAI_API_KEY"] = SECRET
    os.environ["R1CI_TEST_TOKEN"] = SECRET
    ex = LocalExecutor(workers=2, limits=SandboxLimits(timeout_s=10, max_file_mb=1, max_open_files=64))
    try:
        ex.wait_ready()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield ex
    ex.close()


@pytest.fixture
def quiet(executor: LocalExecutor) -> Iterator[LocalExecutor]:
    """The shared executor, checked after the test: nothing of the test's snippets may still run."""
    yield executor
    leftovers = wait_quiet(executor, timeout_s=10)
    assert not any(leftovers.values()), f"processes outlived their execution: {leftovers}"
