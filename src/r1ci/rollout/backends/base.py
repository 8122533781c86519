"""The backend interface: generate one model turn for a batch of partial rollouts.

The engine owns the conversation (prompt, segments, ids); a backend only continues it. A request
carries the context in every form a backend may need: token ids (HF, vLLM, scripted), chat messages
plus segments (OpenAI chat API) or rendered text (OpenAI completions API). A backend returns the new
tokens/text, per-token logprobs when it has them, and why it stopped:

- "eos":    the model ended its turn (end-of-turn / EOS token; the token is the last id when ids exist).
- "stop":   a stop rule fired (a code block closed, an answer closed, or a stop string matched).
- "length": the request's `max_new_tokens` ran out (or the context is full).
- "error":  this request failed for good (API backends, after the client's retries); `error` says
  why, and the engine ends that rollout with `stop_reason="error"` while the others go on.

Backends with a tokenizer (`tokenizer is not None`) return ids and text with
`text == decode(token_ids)`; backends without one (API) return text only, and the engine then keeps
the trajectory ids-free (`r1ci.rollout.tokenize.trajectory_features` tokenises it later).

`on_finish(index, text)` is called as soon as request `index` stops, possibly while others are still
generating: the engine uses it to start that sequence's code execution early, overlapping the
sandbox with generation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from r1ci.rollout.protocol import StopRules
from r1ci.rollout.trajectory import Segment

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

FinishReason = Literal["eos", "stop", "length", "error"]
OnFinish = Callable[[int, str], None]


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0
    """0 = greedy."""
    top_p: float = 1.0


@dataclass
class GenerationRequest:
    messages: list[dict[str, str]]
    segments: list[Segment]
    """The completion so far (model and interpreter text); the new text continues the last segment
    when that is a model segment (a turn resumed after a stop string that was no event)."""
    max_new_tokens: int
    rules: StopRules
    turn_text: str = ""
    """Model text of the current turn so far (what stop rules are checked against, with the new text)."""
    prompt_ids: list[int] = field(default_factory=list)
    completion_ids: list[int] = field(default_factory=list)
    seed: int = 0
    key: int | None = None
    """Stable id of the rollout across turns (lets backends keep per-rollout state, e.g. a KV cache)."""

    @property
    def input_ids(self) -> list[int]:
        return self.prompt_ids + self.completion_ids

    @property
    def completion_text(self) -> str:
        return "".join(s.text for s in self.segments)


@dataclass
class GenerationResult:
    text: str
    token_ids: list[int]
    finish_reason: FinishReason
    logprobs: list[float] | None = None
    num_tokens: int | None = None
    """Tokens generated, for backends without ids (from the API's usage report); else len(token_ids)."""
    prompt_tokens: int | None = None
    """Context tokens the server counted for this request (API usage), for backends without ids."""
    error: str | None = None
    """Why the request failed (finish_reason "error")."""

    def __post_init__(self) -> None:
        if self.logprobs is not None and len(self.logprobs) != len(self.token_ids):
            raise ValueError(
                f"backend returned {len(self.logprobs)} logprobs for {len(self.token_ids)} tokens"
            )

    @property
    def tokens_used(self) -> int:
        return len(self.token_ids) if self.token_ids else int(self.num_tokens or 0)


@runtime_checkable
class Backend(Protocol):
    name: str
    model_name: str
    tokenizer: PreTrainedTokenizerBase | None
    """Set when the backend works on token ids (the engine then records ids, masks, logprobs)."""
    default_batch_size: int
    max_context: int | None
    """Longest prompt + completion the model takes (None = unknown / server-side)."""

    def generate(
        self,
        requests: list[GenerationRequest],
        params: SamplingParams,
        on_finish: OnFinish | None = None,
    ) -> list[GenerationResult]: ...

    def reset(self) -> None:
        """Forget per-rollout state (KV caches): called at the start and end of every run, so state
        never leaks across runs (e.g. a cache made by the policy before a GRPO update)."""
        ...

    def close(self) -> None: ...


def check_params(params: SamplingParams) -> None:
    if params.temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {params.temperature}")
    if not 0 < params.top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {params.top_p}")
