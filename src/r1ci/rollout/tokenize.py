"""The one tokenisation path from chat messages and trajectories to ids and loss masks.

Every stage that turns text into ids goes through here: the rollout engine (prompt and interpreter
output), the scripted backend, SFT and GRPO. That is what makes the ids a trainer sees the ids the
sampler was conditioned on.

- `encode_prompt`: the chat template with the generation prompt (the assistant header) appended.
- `encode_text`: a piece of completion text on its own, without special tokens, and with special-token
  strings in it (e.g. "<|im_end|>" printed by model-written code) read as plain text, so interpreter
  output can never inject a control token.
- Model and interpreter text are never tokenised jointly: a BPE merge across the boundary would
  change ids the model already generated. The engine keeps generated ids as they came and encodes
  each interpreter segment separately; `trajectory_features` rebuilds ids-less trajectories the same way.

Known limit: tokenizers that add a prefix space to every encode call (legacy SentencePiece with
`add_prefix_space`) do not round-trip `encode_text`; byte-level BPE tokenizers (Qwen, Llama 3,
SmolLM2, Mistral-Nemo, ...) do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from r1ci.rollout.trajectory import Trajectory

_SENTINEL = "\u2063R1CI_SENTINEL\u2063"


def _as_ids(encoded: Any) -> list[int]:
    # apply_chat_template returns a list, a BatchEncoding or a dict depending on version and flags.
    if isinstance(encoded, dict) or hasattr(encoded, "keys"):
        encoded = encoded["input_ids"]
    return [int(i) for i in encoded]


def encode_prompt(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]]) -> list[int]:
    """Prompt ids: the chat template over `messages`, ending with the assistant header."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"tokenizer {getattr(tokenizer, 'name_or_path', '?')!r} has no chat template; "
            "use an instruct/chat model or set tokenizer.chat_template"
        )
    return _as_ids(tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True))


def encode_text(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Ids of a completion fragment on its own: no BOS/EOS added, special-token strings kept literal."""
    if not text:
        return []
    return [int(i) for i in tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]]


def decode(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> str:
    """Text of generated ids: special tokens (end-of-turn) dropped, spacing left exactly as generated."""
    return tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def special_token_ids(tokenizer: PreTrainedTokenizerBase) -> set[int]:
    ids = {int(i) for i in tokenizer.all_special_ids}
    for idx, tok in getattr(tokenizer, "added_tokens_decoder", {}).items():
        if getattr(tok, "special", False):
            ids.add(int(idx))
    return ids


def end_of_turn_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The token(s) the chat template writes to close an assistant turn (e.g. `<|im_end|>`).

    Found by rendering an assistant message and reading what follows its content, up to and including
    the first special token; falls back to the tokenizer's EOS when the template closes with plain text.
    """
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _SENTINEL}]
    try:
        rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    except Exception:  # templates that refuse this shape (rare) still have an EOS
        rendered = ""
    if isinstance(rendered, str) and _SENTINEL in rendered:
        suffix = rendered.split(_SENTINEL, 1)[1]
        ids = [int(i) for i in tokenizer(suffix, add_special_tokens=False)["input_ids"]]
        special = special_token_ids(tokenizer)
        for k, i in enumerate(ids):
            if i in special:
                return ids[: k + 1]
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has neither a chat template that closes turns nor an EOS token")
    return [int(tokenizer.eos_token_id)]


def stop_token_ids(tokenizer: PreTrainedTokenizerBase, extra: list[int] | int | None = None) -> list[int]:
    """Token ids that end a model turn: the template's end-of-turn token, EOS, and `extra`
    (e.g. the model's generation_config.eos_token_id, which can differ from the tokenizer's)."""
    out = [end_of_turn_ids(tokenizer)[-1]]
    if tokenizer.eos_token_id is not None:
        out.append(int(tokenizer.eos_token_id))
    if isinstance(extra, int):
        out.append(extra)
    elif extra:
        out.extend(int(i) for i in extra)
    return list(dict.fromkeys(out))


def trajectory_features(
    traj: Trajectory, tokenizer: PreTrainedTokenizerBase | None = None
) -> tuple[list[int], list[int]]:
    """(input_ids, loss_mask) of a trajectory: prompt (mask 0) + completion (mask 1 on model tokens).

    With ids (engine trajectories) these are exactly `prompt_ids + completion_ids` and `[0]*P + mask`.
    Without ids (API teachers, hand-written data) the messages and segments are tokenised the way the
    engine does: `encode_prompt(messages)`, then each segment with `encode_text` on its own; when the
    model finished its turn (stop_reason "answer" or "eos") the end-of-turn token is appended with mask
    1, so the student learns to stop.
    """
    if traj.prompt_ids:
        if len(traj.mask) != len(traj.completion_ids):
            raise ValueError(f"trajectory {traj.question_id}: mask and completion_ids differ in length")
        return list(traj.prompt_ids) + list(traj.completion_ids), [0] * len(traj.prompt_ids) + list(traj.mask)
    if tokenizer is None:
        raise ValueError(
            f"trajectory {traj.question_id} carries no token ids (API or hand-written); "
            "pass the tokenizer: trajectory_features(traj, tokenizer)"
        )
    ids = encode_prompt(tokenizer, traj.messages)
    mask = [0] * len(ids)
    for seg in traj.segments:
        seg_ids = encode_text(tokenizer, seg.text)
        ids += seg_ids
        mask += [1 if seg.kind == "model" else 0] * len(seg_ids)
    if traj.stop_reason in ("answer", "eos"):
        eot = end_of_turn_ids(tokenizer)
        ids += eot
        mask += [1] * len(eot)
    return ids, mask
