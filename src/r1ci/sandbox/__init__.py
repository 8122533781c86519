"""Sandbox (placeholder docstring replaced below)."""

from r1ci.sandbox.executor import (
    Executor,
    SandboxError,
    close_default_executor,
    default_executor,
    execute,
    execute_many,
    get_executor,
)
from r1ci.sandbox.limits import SandboxLimits
from r1ci.sandbox.local import LocalExecutor
from r1ci.sandbox.result import ExecutionResult

__all__ = [
    "ExecutionResult",
    "Executor",
    "LocalExecutor",
    "SandboxError",
    "SandboxLimits",
    "close_default_executor",
    "default_executor",
    "execute",
    "execute_many",
    "get_executor",
]
