"""Protocol: code-block and answer detection, stop rules, interpreter output wrapping."""

from __future__ import annotations

import pytest
from rollout_fakes import FakeResult

from r1ci.rollout.protocol import (
    RolloutConfig,
    StopRules,
    build_messages,
    clip_output,
    find_code_block,
    format_interpreter_output,
    has_open_code_block,
    prose,
    system_prompt,
)


def test_find_code_block_first_closed_python_block() -> None:
    text = "Think.\n```python\nx = 1\nprint(x)\n```\nthen\n```python\nprint(2)\n```"
    block = find_code_block(text)
    assert block is not None
    assert block.code == "x = 1\nprint(x)"
    assert text[block.end - 3 : block.end] == "```"
    assert text[block.start :].startswith("```python")


def test_code_block_variants_and_non_python_blocks() -> None:
    assert find_code_block("```py\nprint(1)\n```").code == "print(1)"  # type: ignore[union-attr]
    assert find_code_block("```python\n```").code == ""  # type: ignore[union-attr]
    # Bare and other-language fences are prose, not code to run.
    assert find_code_block("```\nprint(1)\n```\n```output\n3\n```") is None
    assert find_code_block("```python\nprint(1)\n") is None
    assert has_open_code_block("text ```python\nprint(1)\n")
    assert not has_open_code_block("```python\nprint(1)\n```")


def test_prose_removes_code_including_open_block() -> None:
    assert prose("a```python\nb\n```c```python\nd") == "ac"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("so <<<42>>>", "answer"),
        ("```python\nprint('<<<1>>>')\n", None),  # answer inside an open block: no event yet
        ("```python\nprint('<<<1>>>')\n```", "code"),
        ("<<<7>>> and then ```python\nprint(1)\n```", "answer"),  # earliest event wins
        ("```python\nprint(1)\n``` then <<<7>>>", "code"),
        ("no events here ```", None),
    ],
)
def test_stop_rules_event(text: str, kind: str | None) -> None:
    event = StopRules(code=True, answer=True).event(text)
    assert (event.kind if event else None) == kind


def test_stop_rules_respect_mode() -> None:
    assert StopRules(code=False, answer=True).event("```python\nprint(1)\n```") is None
    assert StopRules(code=True, answer=False).event("<<<1>>>") is None
    assert StopRules(code=True, answer=True).stop_strings() == ["```\n", ">>>"]


def test_interpreter_output_exact_wrapper() -> None:
    out = format_interpreter_output(FakeResult("42\n", "", "ok"), 2000, after="```python\nprint(42)\n```")
    assert out == "\nCode Execution Results:\n```output\n42\n```\n"
    # No extra newline when the model text already ends with one.
    assert format_interpreter_output(FakeResult("1", "", "ok"), after="```\n").startswith("Code Execution Results:")


def test_interpreter_output_errors_timeout_and_empty() -> None:
    err = format_interpreter_output(FakeResult("", "Traceback...\nZeroDivisionError: division by zero\n", "error"))
    assert "ZeroDivisionError: division by zero" in err
    timeout = format_interpreter_output(FakeResult("partial\n", "", "timeout"))
    assert "partial" in timeout and "TimeoutError" in timeout
    assert "(no output)" in format_interpreter_output(FakeResult("", "", "ok"))
    notice = format_interpreter_output(FakeResult("1", "", "ok"), notice="NOTICE\n")
    assert notice.endswith("```\nNOTICE\n")


def test_clip_output_keeps_head_and_tail() -> None:
    text = "".join(f"line {i}\n" for i in range(1000))
    clipped = clip_output(text, 300)
    assert len(clipped) <= 300
    assert clipped.startswith("line 0\n") and clipped.endswith("line 999\n")
    assert "characters omitted" in clipped
    assert clip_output("short", 300) == "short"


def test_prompts_per_mode() -> None:
    ci = build_messages("Q?", RolloutConfig(max_code_turns=3))
    assert [m["role"] for m in ci] == ["system", "user"] and ci[1]["content"] == "Q?"
    assert "```python" in ci[0]["content"] and "3 times" in ci[0]["content"] and "<<<answer>>>" in ci[0]["content"]
    text = system_prompt(RolloutConfig(mode="text"))
    assert "Do not write code" in text and "<<<answer>>>" in text
    assert system_prompt(RolloutConfig(system_prompt="Use {max_code_turns} runs.", max_code_turns=2)) == "Use 2 runs."


def test_config_rejects_unknown_and_bad_values() -> None:
    with pytest.raises(ValueError):
        RolloutConfig(max_turns=3)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        RolloutConfig(mode="python")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RolloutConfig(top_p=0)
