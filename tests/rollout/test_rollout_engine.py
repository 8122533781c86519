"""The multi-turn engine with the scripted backend (real tokenizer, real code execution in a subprocess)."""

from __future__ import annotations

from typing import Any

import pytest
from rollout_fakes import SubprocessExecutor, make_task

from r1ci.rollout import RolloutConfig, Trajectory, run_rollouts
from r1ci.rollout.backends.scripted import ScriptedBackend, last_output
from r1ci.rollout.tokenize import decode, encode_prompt, encode_text, end_of_turn_ids, trajectory_features
from r1ci.tasks.base import Question

TASK = make_task()


def code_then_answer(prompt: str, so_far: str, turn: int) -> str:
    """Q<i>: computes i*7 in code, then answers with what the interpreter printed."""
    i = int(prompt.split(":")[0][1:])
    if turn == 0:
        return f"Let me compute.\n```python\nprint({i} * 7)\n```\nCode Execution Results: 999"  # hallucination cut
    return f"The interpreter says {last_output(so_far)}. <<<{last_output(so_far)}>>> trailing text"


def run(script: Any, tok: Any, cfg: RolloutConfig | None = None, n: int = 1, **kw: Any) -> list[Trajectory]:
    backend = ScriptedBackend(script, tok)
    kw.setdefault("executor", SubprocessExecutor())
    return run_rollouts(backend, TASK.questions(n), cfg or RolloutConfig(), grader=TASK.grade, progress=False, **kw)


def test_code_is_executed_and_output_inserted(tiny_tokenizer: Any) -> None:
    ex = SubprocessExecutor()
    (t,) = run(code_then_answer, tiny_tokenizer, RolloutConfig(exec_timeout_s=3, exec_memory_mb=256), n=1, executor=ex)
    assert ex.codes == ["print(0 * 7)"]
    assert ex.calls[0]["timeout_s"] == 3 and ex.calls[0]["memory_mb"] == 256
    kinds = [s.kind for s in t.segments]
    assert kinds == ["model", "interpreter", "model"]
    assert t.segments[0].text.endswith("```")  # the hallucinated results after the fence were never generated
    assert t.segments[1].text == "\nCode Execution Results:\n```output\n0\n```\n"
    assert t.segments[2].text == "The interpreter says 0. <<<0>>>"  # stopped at the answer
    assert t.stop_reason == "answer" and t.extracted_answer == "0" and t.reward == 1.0
    assert t.num_code_turns == 1 and t.exec_errors == 0
    assert t.completion == "".join(s.text for s in t.segments)
    assert "999" not in t.model_text and "Code Execution Results" not in t.model_text


def test_masks_and_tokenisation_invariant(tiny_tokenizer: Any) -> None:
    tok = tiny_tokenizer
    (t,) = run(code_then_answer, tok, n=1)
    assert encode_prompt(tok, t.messages) == t.prompt_ids  # re-tokenising the prompt gives prompt_ids
    assert [i for s in t.segments for i in s.token_ids] == t.completion_ids
    expected_mask: list[int] = []
    for s in t.segments:
        expected_mask += [1 if s.kind == "model" else 0] * len(s.token_ids)
        if s.kind == "interpreter":
            assert s.token_ids == encode_text(tok, s.text)  # encoded on its own
        else:
            assert decode(tok, s.token_ids) == s.text
    assert t.mask == expected_mask and 0 in t.mask and 1 in t.mask
    ids, mask = trajectory_features(t)
    assert ids == t.prompt_ids + t.completion_ids
    assert mask == [0] * len(t.prompt_ids) + t.mask


def test_text_only_trajectory_is_tokenised_like_the_engine(tiny_tokenizer: Any) -> None:
    """An ids-less trajectory (API teacher) gets the same features as the engine's ids would be."""
    cfg = RolloutConfig(stop_at_answer=False)
    (with_ids,) = run(code_then_answer, tiny_tokenizer, cfg)
    (text_only,) = run(code_then_answer, None, cfg)
    assert text_only.prompt_ids == [] and text_only.completion_ids == [] and text_only.logprobs is None
    assert text_only.completion == with_ids.completion
    assert with_ids.completion_ids[-len(end_of_turn_ids(tiny_tokenizer)) :] == end_of_turn_ids(tiny_tokenizer)
    assert trajectory_features(text_only, tiny_tokenizer) == trajectory_features(with_ids)
    with pytest.raises(ValueError, match="pass the tokenizer"):
        trajectory_features(text_only)


def test_max_code_turns(tiny_tokenizer: Any) -> None:
    def always_code(prompt: str, so_far: str, turn: int) -> str:
        return f"Try {turn}.\n```python\nprint({turn})\n```\n"

    ex = SubprocessExecutor()
    (t,) = run(always_code, tiny_tokenizer, RolloutConfig(max_code_turns=2), executor=ex)
    assert t.stop_reason == "max_turns"
    assert t.num_code_turns == 2 and ex.codes == ["print(0)", "print(1)"]
    interp = [s.text for s in t.segments if s.kind == "interpreter"]
    assert "used all 2 code executions" in interp[1] and "used all" not in interp[0]
    assert t.segments[-1].kind == "model" and t.segments[-1].text.endswith("```")  # third block, not run


def test_timeout_is_an_execution_error_and_rollout_continues(tiny_tokenizer: Any) -> None:
    def loop_then_answer(prompt: str, so_far: str, turn: int) -> str:
        if turn == 0:
            return "```python\nwhile True:\n    pass\n```\n"
        return "The code timed out; I reason instead. <<<0>>>"

    (t,) = run(loop_then_answer, tiny_tokenizer, RolloutConfig(exec_timeout_s=0.5))
    assert t.exec_errors == 1 and t.num_code_turns == 1
    assert "TimeoutError" in t.segments[1].text
    assert t.stop_reason == "answer" and t.reward == 1.0


def test_execution_error_traceback_is_shown(tiny_tokenizer: Any) -> None:
    def crash(prompt: str, so_far: str, turn: int) -> str:
        return "```python\nprint(1 / 0)\n```\n" if turn == 0 else "<<<0>>>"

    (t,) = run(crash, tiny_tokenizer)
    assert "ZeroDivisionError" in t.segments[1].text and t.exec_errors == 1


def test_long_output_is_clipped(tiny_tokenizer: Any) -> None:
    def flood(prompt: str, so_far: str, turn: int) -> str:
        return "```python\nfor i in range(5000): print(i)\n```\n" if turn == 0 else "<<<0>>>"

    (t,) = run(flood, tiny_tokenizer, RolloutConfig(max_output_chars=200, max_new_tokens=4000))
    out = t.segments[1].text
    assert len(out) < 300 and "characters omitted" in out and "4999" in out


def test_batched_rollouts_finish_at_different_turns(tiny_tokenizer: Any) -> None:
    """Q<i> uses 3 - i code turns; batch refill with 2 samples each; results in question order."""

    def i_turns(prompt: str, so_far: str, turn: int) -> str:
        i = int(prompt.split(":")[0][1:])
        if turn < 3 - i:
            return f"Step {turn}.\n```python\nprint({turn} + 100)\n```\n"
        return f"Done after {turn} runs. <<<{i * 7}>>>"

    seen: list[str] = []
    trajs = run(i_turns, tiny_tokenizer, n=4, samples_per_question=2, batch_size=3,
                on_trajectory=lambda t: seen.append(t.question_id))
    assert [t.question_id for t in trajs] == [f"toy/0/{i}" for i in range(4) for _ in range(2)]
    assert [t.metadata["sample_index"] for t in trajs] == [0, 1] * 4
    assert [t.num_code_turns for t in trajs] == [3, 3, 2, 2, 1, 1, 0, 0]
    assert all(t.reward == 1.0 and t.stop_reason == "answer" for t in trajs)
    assert sorted(seen) == sorted(t.question_id for t in trajs) and seen != [t.question_id for t in trajs]
    # Batch of 3: Q0, Q0, Q1 start; Q1 (2 code turns) finishes first and its slot is refilled at once.
    assert seen[:3] == ["toy/0/1", "toy/0/0", "toy/0/0"]
    assert "102" in trajs[0].segments[-2].text


def test_text_mode_runs_no_code(tiny_tokenizer: Any) -> None:
    def writes_code(prompt: str, so_far: str, turn: int) -> str:
        return "```python\nprint(1)\n```\nSo <<<0>>>"

    # No executor at all: text mode must not need one (and must not create one).
    (t,) = run(writes_code, tiny_tokenizer, RolloutConfig(mode="text"), executor=None)
    assert [s.kind for s in t.segments] == ["model"] and t.num_code_turns == 0
    assert t.model_text == "```python\nprint(1)\n```\nSo <<<0>>>" and t.reward == 1.0
    assert t.metadata["mode"] == "text"
    assert "Do not write code" in t.messages[0]["content"]


def test_eos_without_answer_and_length(tiny_tokenizer: Any) -> None:
    (t,) = run(lambda p, s, k: "I do not know.", tiny_tokenizer)
    assert t.stop_reason == "eos" and t.reward == 0.0 and t.extracted_answer is None
    assert t.completion_ids[-1] in end_of_turn_ids(tiny_tokenizer) and t.mask[-1] == 1
    (t,) = run(lambda p, s, k: "word " * 100, tiny_tokenizer, RolloutConfig(max_new_tokens=20))
    assert t.stop_reason == "length" and len(t.completion_ids) == 20


def test_total_budget_counts_interpreter_tokens(tiny_tokenizer: Any) -> None:
    def flood(prompt: str, so_far: str, turn: int) -> str:
        return "```python\nprint('x ' * 400)\n```\n" if turn == 0 else "<<<0>>>"

    (t,) = run(flood, tiny_tokenizer, RolloutConfig(max_new_tokens=60, max_output_chars=5000))
    assert t.stop_reason == "length" and t.num_code_turns == 1
    assert t.segments[-1].kind == "interpreter"


def test_on_segment_streams_in_order(tiny_tokenizer: Any) -> None:
    events: list[tuple[int, str]] = []
    run(code_then_answer, tiny_tokenizer, n=1, on_segment=lambda i, s: events.append((i, s.kind)))
    assert events == [(0, "model"), (0, "interpreter"), (0, "model")]


def test_bad_arguments(tiny_tokenizer: Any) -> None:
    with pytest.raises(ValueError, match="samples_per_question"):
        run(code_then_answer, tiny_tokenizer, samples_per_question=0)
    with pytest.raises(TypeError, match="script"):
        ScriptedBackend("not a function", tiny_tokenizer)  # type: ignore[arg-type]


def test_metadata_and_grading(tiny_tokenizer: Any) -> None:
    q = Question("toy/x/1", "toy", "Q3: what is 3 * 7?", "22")  # wrong gold: the model's 21 is graded wrong
    (t,) = run_rollouts(ScriptedBackend(code_then_answer, tiny_tokenizer), [q], RolloutConfig(),
                        executor=SubprocessExecutor(), grader=TASK.grade, progress=False, seed=5)
    assert t.extracted_answer == "21" and t.reward == 0.0 and t.grade_reason == "wrong"
    assert t.metadata["gold"] == "22" and t.metadata["backend"] == "scripted" and t.metadata["sample_index"] == 0


def test_real_local_sandbox_is_the_default_executor(tiny_tokenizer: Any) -> None:
    """executor=None: the engine starts r1ci.sandbox's local executor, uses it, and closes it."""

    def two_runs(prompt: str, so_far: str, turn: int) -> str:
        if turn == 0:
            return "```python\nimport math\nprint(math.factorial(5))\n```\n"
        if turn == 1:
            return "```python\nwhile True:\n    pass\n```\n"
        return "<<<0>>>"

    (t,) = run(two_runs, tiny_tokenizer, RolloutConfig(exec_timeout_s=1.0), executor=None)
    interp = [s.text for s in t.segments if s.kind == "interpreter"]
    assert interp[0] == "\nCode Execution Results:\n```output\n120\n```\n"
    assert "TimeoutError" in interp[1]
    assert t.num_code_turns == 2 and t.exec_errors == 1 and t.stop_reason == "answer"
    assert t.metadata["exec_time_s"] > 0.5
