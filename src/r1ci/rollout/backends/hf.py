"""transformers backend: batched `model.generate` with KV cache, left padding, CPU or GPU.

- Per-sequence stopping: a `StoppingCriteria` watches every sequence and stops it when its code block
  closes, its answer closes, it emits an end-of-turn token, or its own token budget runs out (the
  batch keeps going for the others). When a sequence stops, `on_finish` fires right away, so the
  engine can start that code in the sandbox while the rest of the batch is still generating.
- Per-token logprobs come from the sampler's own logits: a `LogitsProcessor` (transformers runs
  custom processors before its warpers) keeps log_softmax(logits / T) of each sampled token, i.e.
  the temperature-scaled distribution before top-p truncation (greedy: the plain distribution),
  which is exactly what a trainer recomputes from the same ids.
- Sampling is exactly the configured one: the model's own generation_config (which may carry
  top_k=20, repetition_penalty=1.05, ...) is swapped out for the call, because transformers would
  otherwise merge those defaults into ours.
- The RNG is seeded from the requests' seeds inside `torch.random.fork_rng`, so rollouts are
  reproducible for the same batch composition and the caller's RNG state (GRPO's) is untouched.
- The KV cache is kept across turns (`KVSession`): a rollout that comes back after its code ran
  only prefills the interpreter output, not its whole context again (on CPU, re-prefilling cost
  ~30% of multi-turn throughput). See `KVSession` for how rows are re-laid out.
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
)
from r1ci.rollout.backends.shared import BaseBackend
from r1ci.rollout.tokenize import decode, stop_token_ids

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


class KVSession:
    """Reuses the previous generate call's KV cache for rows that come back with a longer context.

    After a call, the batch is a padded matrix `layout` [B, W] with `mask` marking real tokens
    (prompt, then each row's generated tokens up to its own stop; pads elsewhere) and a cache holding
    columns [0, W-1). For the next call, each request that continues a cached row (same `key`, and
    the row's cached real tokens are a prefix of its new input) keeps its columns; other requests
    (new rollouts) get masked old columns. Old columns no kept row uses are dropped (compaction),
    and every row's new tokens are right-aligned in fresh columns after them, so one prefill
    computes only the new tokens. Positions come from the mask (cumsum), which is how they were
    computed when the cached keys were made, so the result equals a full re-prefill up to float
    rounding. Caches other than plain `DynamicLayer`s (sliding window, quantised) are not reused.
    """

    max_blowup = 2.0
    """Start afresh when the re-laid-out width exceeds this multiple of the longest real context."""

    def __init__(self) -> None:
        self.keys: list[int | None] = []
        self.layout: torch.Tensor | None = None
        self.mask: torch.Tensor | None = None
        self.cache: Any = None
        self.reused_rows = 0
        """Rows that continued from the cache so far (for tests and benchmarks)."""

    def reset(self) -> None:
        self.keys, self.layout, self.mask, self.cache = [], None, None, None

    def store(self, keys: list[int | None], layout: torch.Tensor, mask: torch.Tensor, cache: Any) -> None:
        from transformers.cache_utils import DynamicCache, DynamicLayer

        plain = isinstance(cache, DynamicCache) and all(type(layer) is DynamicLayer for layer in cache.layers)
        if not plain or all(k is None for k in keys):
            self.reset()
            return
        self.keys, self.layout, self.mask, self.cache = keys, layout, mask, cache

    def plan(self, requests: list[GenerationRequest], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, Any] | None:
        """(input_ids, attention_mask, cache) continuing the stored batch, or None for a fresh prefill."""
        import torch

        if self.cache is None or self.layout is None or self.mask is None:
            return None
        cached = self.cache.get_seq_length()
        where = {k: i for i, k in enumerate(self.keys) if k is not None}
        rows: list[tuple[int | None, list[int]]] = []
        for req in requests:
            i = where.get(req.key) if req.key is not None else None
            if i is not None:
                real = self.layout[i, :cached][self.mask[i, :cached].bool()].tolist()
                if req.input_ids[: len(real)] == real and len(req.input_ids) > len(real):
                    rows.append((i, req.input_ids[len(real) :]))
                    continue
            rows.append((None, req.input_ids))
        reused = [i for i, _ in rows if i is not None]
        if not reused:
            return None
        keep = self.mask[reused, :cached].bool().any(0).nonzero().squeeze(1)
        width_new = max(len(suffix) for _, suffix in rows)
        longest = max(len(r.input_ids) for r in requests)
        if keep.numel() + width_new > self.max_blowup * longest + 32:
            return None
        self.reused_rows += len(reused)
        device = self.layout.device
        old_k = keep.numel()
        ids = torch.full((len(rows), old_k + width_new), pad_id, dtype=self.layout.dtype, device=device)
        mask = torch.zeros_like(ids)
        for b, (i, suffix) in enumerate(rows):
            if i is not None:
                ids[b, :old_k] = self.layout[i, keep]
                mask[b, :old_k] = self.mask[i, keep]
            ids[b, old_k + width_new - len(suffix) :] = torch.tensor(suffix, dtype=ids.dtype, device=device)
            mask[b, old_k + width_new - len(suffix) :] = 1
        select = torch.tensor([i if i is not None else 0 for i, _ in rows], device=device)
        fresh = torch.tensor([i is None for i, _ in rows], device=device)
        for layer in self.cache.layers:
            for name in ("keys", "values"):
                t = getattr(layer, name)
                t = t.index_select(0, select.to(t.device)).index_select(2, keep.to(t.device))
                t[fresh.to(t.device)] = 0  # new rows: their old columns are masked anyway
                setattr(layer, name, t)
        cache, self.cache = self.cache, None  # generate extends it in place; store() takes it back
        return ids, mask, cache


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


class HFBackend(BaseBackend):
    name = "hf"

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        model_name: str | None = None,
        logprobs: bool = True,
        batch_size: int | None = None,
        reuse_cache: bool = True,
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
        self.session = KVSession() if reuse_cache else None

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

    def _generate(
        self, requests: list[GenerationRequest], params: SamplingParams, on_finish: OnFinish | None
    ) -> list[GenerationResult]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        for r in requests:
            if not r.prompt_ids:
                raise ValueError("the HF backend needs token ids in each request (prompt_ids is empty)")
        device = self.model.device
        plan = self.session.plan(requests, self.pad_id) if self.session is not None else None
        if plan is None:
            seqs = [r.input_ids for r in requests]
            width = max(len(q) for q in seqs)
            input_ids = torch.tensor([[self.pad_id] * (width - len(q)) + q for q in seqs], device=device)
            attention = torch.tensor([[0] * (width - len(q)) + [1] * len(q) for q in seqs], device=device)
            cache = None
        else:
            input_ids, attention, cache = plan
            width = input_ids.shape[1]
        sampling = params.temperature > 0
        # Sampling knobs are set only when sampling: greedy with non-default ones makes transformers warn.
        knobs = {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p, "top_k": 0}
        gen_cfg = GenerationConfig(
            max_new_tokens=max(r.max_new_tokens for r in requests),
            pad_token_id=self.pad_id,
            eos_token_id=sorted(self.stop_ids),
            use_cache=True,
            return_dict_in_generate=True,
            **(knobs if sampling else {"do_sample": False}),
        )
        stopper = _stopping_criteria_cls()(self, requests, width, on_finish)
        recorder = _logprob_recorder_cls()(params.temperature if sampling else 1.0) if self.logprobs else None
        seed = hash(tuple(r.seed for r in requests)) % (2**31)
        with _generation_context(self.model, seed):
            gen = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                past_key_values=cache,
                generation_config=gen_cfg,
                stopping_criteria=StoppingCriteriaList([stopper]),
                logits_processor=LogitsProcessorList([recorder] if recorder else []),
            )
        out = gen.sequences
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
        if self.session is not None:
            new = out.shape[1] - width
            lengths = torch.tensor([len(r.token_ids) for r in results], device=out.device)
            gen_mask = (torch.arange(new, device=out.device)[None, :] < lengths[:, None]).to(attention.dtype)
            self.session.store([r.key for r in requests], out, torch.cat([attention, gen_mask], 1),
                               gen.past_key_values)
        return results

    def reset(self) -> None:
        """Drop the cross-turn KV cache (the engine calls this at the start and end of a run)."""
        if self.session is not None:
            self.session.reset()

    def close(self) -> None:
        self.reset()
