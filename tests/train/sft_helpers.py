"""Hand-made multi-turn trajectories for the SFT and synthesis tests (no model needed to build them)."""

from __future__ import annotations

from pathlib import Path

from r1ci.rollout.protocol import RolloutConfig, build_messages
from r1ci.rollout.trajectory import Segment, Trajectory, write_jsonl


def make_traj(
    qid: str,
    *,
    task: str = "toy",
    prompt: str = "What is 6 * 7?",
    model_turns: tuple[str, ...] = ("Let me compute it.\n```python\nprint(6 * 7)\n```", "It printed 42, so <<<42>>>"),
    outputs: tuple[str, ...] = ("\nCode Execution Results:\n```output\n42\n```\n",),
    reward: float = 1.0,
    exec_errors: int = 0,
    stop_reason: str = "answer",
    sample_index: int = 0,
    system_prompt: str | None = None,
) -> Trajectory:
    """A trajectory without token ids (as an API teacher writes them): model turns interleaved with
    interpreter outputs; `trajectory_features` tokenises it."""
    segments: list[Segment] = []
    for i, text in enumerate(model_turns):
        segments.append(Segment("model", text))
        if i < len(outputs):
            segments.append(Segment("interpreter", outputs[i]))
    completion = "".join(s.text for s in segments)
    answer = completion.rsplit("<<<", 1)[-1].split(">>>")[0] if "<<<" in completion else None
    return Trajectory(
        task=task,
        question_id=qid,
        prompt=prompt,
        messages=build_messages(prompt, RolloutConfig(system_prompt=system_prompt)),
        prompt_ids=[],
        completion=completion,
        segments=segments,
        completion_ids=[],
        mask=[],
        logprobs=None,
        num_code_turns=sum("```python" in t for t in model_turns),
        exec_errors=exec_errors,
        stop_reason=stop_reason,  # type: ignore[arg-type]
        extracted_answer=answer,
        reward=reward,
        grade_reason="correct" if reward == 1.0 else "wrong",
        metadata={"sample_index": sample_index, "source": "test"},
    )


SHORT_SYSTEM = "Solve with Python."
"""A short system prompt keeps the training tests fast (compute scales with every token, masked or not)."""


def toy_dataset(n: int = 6) -> list[Trajectory]:
    """n distinct arithmetic trajectories, each with one code turn and a final answer."""
    out = []
    for i in range(n):
        a, b = 3 + i, 7 + 2 * i
        out.append(
            make_traj(
                f"toy/0/{i}",
                prompt=f"What is {a} * {b}? Output the final answer as <<<answer>>>.",
                model_turns=(f"I will multiply with Python.\n```python\nprint({a} * {b})\n```",
                             f"The product is {a * b}. <<<{a * b}>>>"),
                outputs=(f"\nCode Execution Results:\n```output\n{a * b}\n```\n",),
                system_prompt=SHORT_SYSTEM,
            )
        )
    return out


def write_dataset(path: Path, trajs: list[Trajectory]) -> Path:
    return write_jsonl(path, trajs)
