"""transformers backend: batched `model.generate` with KV cache, left padding, CPU or GPU.

- Per-sequence stopping: a `StoppingCriteria` watches every sequence and stops it when its code block
  closes, its answer closes, it emits an end-of-turn token, or its own token budget runs out (the
  batch keeps going for the others). When a sequence stops, `on_finish` fires right away, so the
  engine can start that code in the sandbox while the rest of the batch is still generating.
- Per-token logprobs come from the sampler itself: a `LogitsProcessor` placed after the built-in
  warpers keeps log_softmax of the scores each token was drawn from. With sampling they are
  log-probs under the temperature-scaled (and top-p-truncated, if top_p < 1) distribution; greedy
  gives the model's plain distribution.
- Sampling is exactly the configured one: the model's own generation_config (which may carry
  top_k=20, repetition_penalty=1.05, ...) is swapped out for the call, because transformers would
  otherwise merge those defaults into ours.
- The RNG is seeded from the requests' seeds inside `torch.random.fork_rng`, so rollouts are
  reproducible for the same batch composition and the caller's RNG state (GRPO's) is untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from r1ci.rollout.backends.base import (
    FinishReason,
    GenerationRequest,
    GenerationResult,
    OnFinish,
    SamplingParams,
    check_params,
)
from r1ci.train.tokenize import decode, stop_token_ids

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def _stopping_criteria_cls() -> type:
    from transformers import StoppingCriteria

    class TurnStopper(StoppingCriteria):
        """Stops each sequence on its own: end-of-turn token, stop event or its token budget."""

        def __init__(self, backend: HFBackend, requests: list[GenerationRequest], prompt_len: int,
                     on_finish: OnFinish | None) -> None:
            self.backend = backend
            self.requests = requests
            self.prompt_len = prompt_len
            self.on_finish = on_finish
            self.lengths: list[int | None] = [None] * len(requests)
            self.reasons: list[FinishReason] = ["length"] * len(requests)

        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            import torch

            n_new = input_ids.shape[1] - self.prompt_len
            last = input_ids[:, -1].tolist()
            for i, req in enumerate(self.requests):
                if self.lengths[i] is not None:
                    continue
                reason: FinishReason | None = None
                if last[i] in self.backend.stop_ids:
                    reason = "eos"
                elif req.rules.may_trigger(self.backend.piece(last[i])):
                    text = decode(self.backend.tokenizer, input_ids[i, self.prompt_len :].tolist())
                    if req.rules.event(req.turn_text + text) is not None:
                        reason = "stop"
                if reason is None and n_new >= req.max_new_tokens:
                    reason = "length"
                if reason is not None:
                    self.lengths[i] = n_new
                    self.reasons[i] = reason
                    if self.on_finish is not None:
                        self.on_finish(i, decode(self.backend.tokenizer, input_ids[i, self.prompt_len :].tolist()))
            done = [n is not None for n in self.lengths]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return TurnStopper


def _logprob_recorder_cls() -> type:
    from transformers import LogitsProcessor

    class LogprobRecorder(LogitsProcessor):
        """Keeps the log-prob of each sampled token under the (processed) distribution it came from."""

        def __init__(self, temperature: float = 1.0) -> None:
            # transformers applies custom processors *before* its temperature warper, so the scores
            # seen here are untempered: scale them to record the distribution tokens are drawn from
            self.temperature = temperature
            self.prev: torch.Tensor | None = None
            self.steps: list[torch.Tensor] = []

        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            import torch

            self._take(input_ids[:, -1])
            self.prev = torch.log_softmax(scores.float() / self.temperature, dim=-1)
            return scores

        def _take(self, chosen: torch.Tensor) -> None:
            if self.prev is not None:
                self.steps.append(self.prev.gather(1, chosen[:, None]).squeeze(1))
                self.prev = None

        def finish(self, sequences: torch.Tensor) -> list[list[float]]:
            import torch

            self._take(sequences[:, -1])
            if not self.steps:
                return [[] for _ in range(sequences.shape[0])]
            return torch.stack(self.steps, dim=1).cpu().tolist()

    return LogprobRecorder


@contextlib.contextmanager
def _generation_context(model: PreTrainedModel, seed: int) -> Iterator[None]:
    """eval mode, no grad, neutral generation_config, forked RNG; all restored afterwards."""
    import torch
    from transformers import GenerationConfig

    was_training = model.training
    saved_config = model.generation_config
    devices = [model.device] if model.device.type == "cuda" else []
    model.eval()
    model.generation_config = GenerationConfig()
    try:
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(seed)
            yield
    finally:
        model.generation_config = saved_config
        if was_training:
            model.train()


class HFBackend:
    name = "hf"

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        model_name: str | None = None,
        logprobs: bool = True,
        batch_size: int | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.model_name = model_name or getattr(model, "name_or_path", "") or type(model).__name__
        self.logprobs = logprobs
        self.stop_ids = set(stop_token_ids(tokenizer, getattr(model.generation_config, "eos_token_id", None)))
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if pad is None:
            raise ValueError("tokenizer has neither a pad nor an EOS token; set tokenizer.pad_token")
        self.pad_id = int(pad)
        self.max_context: int | None = getattr(model.config, "max_position_embeddings", None)
        on_gpu = model.device.type != "cpu"
        self.default_batch_size = batch_size or (64 if on_gpu else 8)
        self._pieces: dict[int, str] = {}

    @classmethod
    def from_model(cls, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, **kwargs: Any) -> HFBackend:
        """Wrap an in-process model (GRPO generates with the policy it is training)."""
        return cls(model, tokenizer, **kwargs)

    @classmethod
    def load(cls, model: str = "default", *, device: str | None = None, dtype: str | None = None,
             **kwargs: Any) -> HFBackend:
        """Load from a hub id, local folder, GGUF file or `default` (the embedded SmolLM2)."""
        from r1ci.models import load_model

        loaded = load_model(model, device=device, dtype=dtype)
        return cls(loaded.model, loaded.tokenizer, model_name=model, **kwargs)

    def piece(self, token_id: int) -> str:
        """Decoded text of one token (cached: the stop check runs every step)."""
        p = self._pieces.get(token_id)
        if p is None:
            p = self._pieces[token_id] = self.tokenizer.decode([token_id])
        return p

    def generate(
        self,
        requests: list[GenerationRequest],
        params: SamplingParams,
        on_finish: OnFinish | None = None,
    ) -> list[GenerationResult]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        check_params(params)
        if not requests:
            return []
        for r in requests:
            if not r.prompt_ids:
                raise ValueError("the HF backend needs token ids in each request (prompt_ids is empty)")
        seqs = [r.input_ids for r in requests]
        width = max(len(s) for s in seqs)
        device = self.model.device
        input_ids = torch.tensor([[self.pad_id] * (width - len(s)) + s for s in seqs], device=device)
        attention = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], device=device)
        sampling = params.temperature > 0
        # Sampling knobs are set only when sampling: greedy with non-default ones makes transformers warn.
        knobs = {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p, "top_k": 0}
        gen_cfg = GenerationConfig(
            max_new_tokens=max(r.max_new_tokens for r in requests),
            pad_token_id=self.pad_id,
            eos_token_id=sorted(self.stop_ids),
            use_cache=True,
            **(knobs if sampling else {"do_sample": False}),
        )
        stopper = _stopping_criteria_cls()(self, requests, width, on_finish)
        recorder = _logprob_recorder_cls()(params.temperature if sampling else 1.0) if self.logprobs else None
        seed = hash(tuple(r.seed for r in requests)) % (2**31)
        with _generation_context(self.model, seed):
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                generation_config=gen_cfg,
                stopping_criteria=StoppingCriteriaList([stopper]),
                logits_processor=LogitsProcessorList([recorder] if recorder else []),
            )
        logprobs = recorder.finish(out) if recorder else None
        results = []
        for i in range(len(requests)):
            n = stopper.lengths[i]
            n = out.shape[1] - width if n is None else n
            ids = out[i, width : width + n].tolist()
            results.append(
                GenerationResult(
                    text=decode(self.tokenizer, ids),
                    token_ids=ids,
                    finish_reason=stopper.reasons[i],
                    logprobs=logprobs[i][:n] if logprobs is not None else None,
                )
            )
        return results

    def close(self) -> None:
        return None
