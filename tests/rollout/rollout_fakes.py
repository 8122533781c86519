"""Test doubles for rollout tests: a subprocess executor, a tiny task, and a scripted-output tiny LM."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from r1ci.tasks.base import Grade, Question, Task

MARKER = "Code Execution Results:"


@dataclass
class FakeResult:
    stdout: str
    stderr: str
    status: str
    truncated: bool = False


class SubprocessExecutor:
    """Runs each snippet in `python -c` with a wall-clock timeout; records what it ran and the limits."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.calls: list[dict[str, Any]] = []

    def run_many(self, codes: list[str], *, timeout_s: float, memory_mb: int, max_output_bytes: int) -> list[FakeResult]:
        self.calls.append({"timeout_s": timeout_s, "memory_mb": memory_mb, "max_output_bytes": max_output_bytes})
        out = []
        for code in codes:
            self.codes.append(code)
            try:
                p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s)
            except subprocess.TimeoutExpired:
                out.append(FakeResult("", "", "timeout"))
                continue
            out.append(FakeResult(p.stdout, p.stderr, "ok" if p.returncode == 0 else "error"))
        return out


def _check(answer: str, q: Question) -> bool:
    return answer.strip() == q.answer


def make_task(name: str = "toy") -> Task:
    """A tiny task built directly from r1ci.tasks.base (no registry needed)."""

    def make(n: int, seed: int, difficulty: int | None) -> list[Question]:
        return [Question(f"{name}/{seed}/{i}", name, f"Q{i}: what is {i} * 7?", str(i * 7)) for i in range(n)]

    return Task(name=name, source="symbench", make_questions=make, check=_check)


def grader_for(task: Task) -> Callable[[Question, str], Grade]:
    return task.grade


def forced_lm(tiny_model_dir: Any, script: Callable[[str, int], str]) -> Any:
    """The tiny random Llama, but each generate call writes `script(context_text, turn)` then EOS.

    The chunk is forced through the logits (a large bonus on the scripted token), so the real
    transformers generate loop, KV cache, padding, stopping criteria and logit processors all run.
    It records the real (unmasked) ids of every row of every generate call in `.contexts`.
    """
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from r1ci.rollout.tokenize import encode_text, end_of_turn_ids

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    eot = end_of_turn_ids(tok)

    class ForcedLM(LlamaForCausalLM):
        def generate(self, input_ids=None, attention_mask=None, **kwargs):  # type: ignore[no-untyped-def]
            # The full context of each row (the backend may pass a KV cache, so forward() sees only
            # the uncached tail): real tokens are where the attention mask is 1.
            self.targets, self.k, self.first = [], [], True
            for row, m in zip(input_ids.tolist(), attention_mask.tolist(), strict=True):
                ctx = [t for t, keep in zip(row, m, strict=True) if keep]
                self.contexts.append(ctx)
                text = tok.decode(ctx)
                turn = text.rsplit("<|im_start|>assistant\n", 1)[-1].count(MARKER)  # the system prompt names it too
                self.targets.append(encode_text(tok, script(text, turn)) + eot)
            return super().generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)

        def forward(self, input_ids=None, attention_mask=None, **kwargs):  # type: ignore[no-untyped-def]
            out = super().forward(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
            self.k = [0] * len(self.targets) if self.first else [k + 1 for k in self.k]
            self.first = False
            for b, (target, k) in enumerate(zip(self.targets, self.k, strict=True)):
                out.logits[b, -1, target[min(k, len(target) - 1)]] += 60.0
            return out

    torch.manual_seed(0)
    model = ForcedLM.from_pretrained(tiny_model_dir)
    model.contexts = []
    return model, tok
