"""Multi-turn code-interpreter rollouts: protocol, batched engine, trajectories and model backends."""

from r1ci.rollout.backends import Backend, get_backend
from r1ci.rollout.engine import RolloutEngine, RolloutStats, run_rollouts
from r1ci.rollout.protocol import RolloutConfig, build_messages, format_interpreter_output
from r1ci.rollout.trajectory import Segment, Trajectory, read_jsonl, write_jsonl

__all__ = [
    "Backend",
    "RolloutConfig",
    "RolloutEngine",
    "RolloutStats",
    "Segment",
    "Trajectory",
    "build_messages",
    "format_interpreter_output",
    "get_backend",
    "read_jsonl",
    "run_rollouts",
    "write_jsonl",
]
