"""r1ci.rollout.tokenize: prompt/text encoding, end-of-turn detection, features of ids-less trajectories."""

from __future__ import annotations

from typing import Any

import pytest

from r1ci.rollout.tokenize import (
    decode,
    encode_prompt,
    encode_text,
    end_of_turn_ids,
    stop_token_ids,
    trajectory_features,
)
from r1ci.rollout.trajectory import Segment, Trajectory


def test_encode_prompt_uses_template_with_generation_prompt(tiny_tokenizer: Any) -> None:
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}]
    ids = encode_prompt(tiny_tokenizer, msgs)
    text = tiny_tokenizer.decode(ids)
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert ids.count(tiny_tokenizer.convert_tokens_to_ids("<|im_start|>")) == 3  # no extra BOS


def test_encode_text_adds_nothing_and_keeps_special_strings_literal(tiny_tokenizer: Any) -> None:
    im_end = tiny_tokenizer.convert_tokens_to_ids("<|im_end|>")
    ids = encode_text(tiny_tokenizer, "x<|im_end|>y")
    assert im_end not in ids  # interpreter output cannot inject a control token
    assert decode(tiny_tokenizer, ids) == "x<|im_end|>y"
    assert encode_text(tiny_tokenizer, "") == []
    text = "\nCode Execution Results:\n```output\n  42\t\n```\n"
    assert decode(tiny_tokenizer, encode_text(tiny_tokenizer, text)) == text


def test_end_of_turn_and_stop_ids(tiny_tokenizer: Any) -> None:
    im_end = tiny_tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert end_of_turn_ids(tiny_tokenizer) == [im_end]
    assert tiny_tokenizer.eos_token_id == im_end  # SmolLM2's EOS is its end of turn
    assert stop_token_ids(tiny_tokenizer, [im_end, 99]) == [im_end, 99]  # no duplicates
    assert stop_token_ids(tiny_tokenizer, 0) == [im_end, 0]


def test_features_of_hand_written_trajectory(tiny_tokenizer: Any) -> None:
    tok = tiny_tokenizer
    msgs = [{"role": "user", "content": "2+2?"}]
    segs = [Segment("model", "```python\nprint(2+2)\n```"), Segment("interpreter", "\nCode Execution Results:\n"
            "```output\n4\n```\n"), Segment("model", "<<<4>>>")]
    traj = Trajectory(task="t", question_id="t/0", prompt="2+2?", messages=msgs, prompt_ids=[], completion="".join(
        s.text for s in segs), segments=segs, completion_ids=[], mask=[], logprobs=None, num_code_turns=1,
        exec_errors=0, stop_reason="answer")
    ids, mask = trajectory_features(traj, tok)
    p = encode_prompt(tok, msgs)
    s0, s1, s2 = (encode_text(tok, s.text) for s in segs)
    eot = end_of_turn_ids(tok)
    assert ids == p + s0 + s1 + s2 + eot
    assert mask == [0] * len(p) + [1] * len(s0) + [0] * len(s1) + [1] * len(s2) + [1] * len(eot)
    # A rollout cut by the budget did not finish its turn: no end-of-turn token is taught.
    traj.stop_reason = "length"
    ids2, _ = trajectory_features(traj, tok)
    assert ids2 == p + s0 + s1 + s2


def test_encode_prompt_needs_a_chat_template(tiny_tokenizer: Any) -> None:
    import copy

    tok = copy.deepcopy(tiny_tokenizer)
    tok.chat_template = None
    with pytest.raises(ValueError, match="chat template"):
        encode_prompt(tok, [{"role": "user", "content": "x"}])
