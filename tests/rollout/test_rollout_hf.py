"""HF backend on the tiny random Llama: per-sequence stopping, ids invariant, sampler logprobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rollout_fakes import SubprocessExecutor, forced_lm, make_task

from r1ci.rollout import RolloutConfig, run_rollouts
from r1ci.rollout.backends.base import GenerationRequest, SamplingParams
from r1ci.rollout.backends.hf import HFBackend
from r1ci.rollout.protocol import StopRules
from r1ci.rollout.tokenize import encode_prompt, encode_text, trajectory_features

TASK = make_task()


def script(context: str, turn: int) -> str:
    """Question Q<i> uses i code turns; code blocks are followed by hallucinated output the model
    must never get to write (the backend stops at the closing fence)."""
    i = int(context.split("<|im_start|>user\nQ", 1)[1].split(":", 1)[0])
    if turn < i:
        return f"Run {turn}:\n```python\nprint({turn} * 11)\n```\nCode Execution Results:\n```output\nfake\n```"
    return f"Final. <<<{i * 7}>>> extra words after the answer"


@pytest.fixture(scope="module")
def forced(tiny_model_dir: Path) -> tuple[Any, Any]:
    return forced_lm(tiny_model_dir, script)


def test_batched_multi_turn_with_hf_generate(forced: tuple[Any, Any]) -> None:
    model, tok = forced
    model.contexts.clear()
    backend = HFBackend.from_model(model, tok)
    trajs = run_rollouts(backend, TASK.questions(3), RolloutConfig(max_new_tokens=400), executor=SubprocessExecutor(),
                         grader=TASK.grade, progress=False, batch_size=3)
    assert [t.num_code_turns for t in trajs] == [0, 1, 2]
    assert backend.session is not None and backend.session.reused_rows == 3  # later turns reused the KV cache
    assert all(t.stop_reason == "answer" and t.reward == 1.0 for t in trajs)
    t2 = trajs[2]
    assert [s.kind for s in t2.segments] == ["model", "interpreter", "model", "interpreter", "model"]
    assert t2.segments[0].text == "Run 0:\n```python\nprint(0 * 11)\n```"
    assert t2.segments[3].text == "\nCode Execution Results:\n```output\n11\n```\n"
    assert t2.segments[4].text == "Final. <<<14>>>"
    assert "fake" not in t2.completion

    # Tokenisation invariant: every context the model was prefilled with is a prefix of
    # prompt_ids + completion_ids, and there is one ending at each interpreter boundary.
    for t in trajs:
        full = t.prompt_ids + t.completion_ids
        assert encode_prompt(tok, t.messages) == t.prompt_ids
        mine = [c for c in model.contexts if c[: len(t.prompt_ids)] == t.prompt_ids]
        assert len(mine) == t.num_code_turns + 1
        assert all(full[: len(c)] == c for c in mine)
        ends, pos = [], len(t.prompt_ids)
        for s in t.segments:
            pos += len(s.token_ids)
            if s.kind == "interpreter":
                ends.append(pos)
                assert s.token_ids == encode_text(tok, s.text)
        assert sorted(len(c) for c in mine) == [len(t.prompt_ids), *ends]
        ids, mask = trajectory_features(t)
        assert ids == full and mask == [0] * len(t.prompt_ids) + t.mask
        assert t.logprobs is not None and len(t.logprobs) == len(t.completion_ids)
        assert all(lp == 0.0 for lp, m in zip(t.logprobs, t.mask, strict=True) if m == 0)
        # Forced tokens carry nearly all the mass (logprob ~0; the real values are checked below).
        assert all(-1e-3 < lp <= 0.0 for lp, m in zip(t.logprobs, t.mask, strict=True) if m == 1)


def test_on_finish_fires_per_sequence_before_batch_ends(forced: tuple[Any, Any]) -> None:
    model, tok = forced
    backend = HFBackend.from_model(model, tok)
    rules = StopRules(code=True, answer=True)
    msgs = [[{"role": "user", "content": f"Q{i}: x"}] for i in (0, 1)]
    reqs = [GenerationRequest(messages=m, segments=[], max_new_tokens=60, rules=rules,
                              prompt_ids=encode_prompt(tok, m)) for m in msgs]
    finished: list[tuple[int, str]] = []
    res = backend.generate(reqs, SamplingParams(), lambda i, text: finished.append((i, text)))
    assert [r.finish_reason for r in res] == ["stop", "stop"]
    assert res[0].text == "Final. <<<0>>>" and res[1].text.endswith("print(0 * 11)\n```")
    # Q0's answer is shorter than Q1's code turn: it is reported first, with the final text.
    assert finished == [(0, res[0].text), (1, res[1].text)]
    budget = GenerationRequest(messages=msgs[1], segments=[], max_new_tokens=3, rules=rules,
                               prompt_ids=reqs[1].prompt_ids)
    (short,) = backend.generate([budget], SamplingParams())
    assert short.finish_reason == "length" and len(short.token_ids) == 3


@pytest.mark.parametrize("temperature", [0.0, 0.7])
def test_logprobs_match_a_teacher_forced_forward_pass(tiny_model_dir: Path, temperature: float) -> None:
    import torch

    backend = HFBackend.load(str(tiny_model_dir), device="cpu")
    rules = StopRules(code=True, answer=True)
    msgs = [[{"role": "user", "content": "hello there"}], [{"role": "user", "content": "a longer prompt, padded less"}]]
    reqs = [GenerationRequest(messages=m, segments=[], max_new_tokens=12, rules=rules, seed=3,
                              prompt_ids=encode_prompt(backend.tokenizer, m)) for m in msgs]
    results = backend.generate(reqs, SamplingParams(temperature=temperature))
    for req, res in zip(reqs, results, strict=True):
        assert res.logprobs is not None and len(res.logprobs) == len(res.token_ids) > 0
        ids = torch.tensor([req.prompt_ids + res.token_ids])
        with torch.no_grad():
            logits = backend.model(ids).logits[0, len(req.prompt_ids) - 1 : -1].float()
        scaled = logits / (temperature if temperature > 0 else 1.0)
        expected = torch.log_softmax(scaled, -1).gather(1, torch.tensor(res.token_ids)[:, None]).squeeze(1)
        assert torch.allclose(torch.tensor(res.logprobs), expected, atol=2e-3), (res.logprobs, expected.tolist())
        if temperature == 0:  # greedy: every token is the argmax
            assert logits.argmax(-1).tolist() == res.token_ids


def test_generation_leaves_caller_state_alone(tiny_model_dir: Path) -> None:
    """GRPO generates with the policy in training mode: mode, RNG and generation_config survive."""
    import torch

    backend = HFBackend.load(str(tiny_model_dir), device="cpu")
    model = backend.model
    model.train()
    model.generation_config.top_k = 3
    torch.manual_seed(123)
    state = torch.get_rng_state()
    m = [{"role": "user", "content": "hi"}]
    req = GenerationRequest(messages=m, segments=[], max_new_tokens=5, rules=StopRules(True, True), seed=1,
                            prompt_ids=encode_prompt(backend.tokenizer, m))
    a = backend.generate([req], SamplingParams(temperature=1.0))[0].token_ids
    b = backend.generate([req], SamplingParams(temperature=1.0))[0].token_ids
    assert a == b  # seeded
    assert model.training and model.generation_config.top_k == 3
    assert torch.equal(torch.get_rng_state(), state)


def test_hf_requires_ids(tiny_model_dir: Path) -> None:
    backend = HFBackend.load(str(tiny_model_dir), device="cpu")
    req = GenerationRequest(messages=[], segments=[], max_new_tokens=5, rules=StopRules(True, True))
    with pytest.raises(ValueError, match="token ids"):
        backend.generate([req], SamplingParams())


def test_cross_turn_kv_cache_matches_a_fresh_prefill(tiny_model_dir: Path) -> None:
    """Round 2 continues round 1's cache (rows grow by different amounts, one row leaves, one joins):
    tokens and logprobs equal those of a backend that re-prefills everything."""
    import torch

    cached = HFBackend.load(str(tiny_model_dir), device="cpu")
    fresh = HFBackend(cached.model, cached.tokenizer, reuse_cache=False)
    tok = cached.tokenizer
    rules = StopRules(code=True, answer=True)

    def req(key: int, ids: list[int], n: int) -> GenerationRequest:
        return GenerationRequest(messages=[], segments=[], max_new_tokens=n, rules=rules, prompt_ids=ids, key=key)

    prompts = {k: encode_prompt(tok, [{"role": "user", "content": "x" * (3 * k + 1)}]) for k in range(4)}
    round1 = [req(k, prompts[k], 6 + 3 * k) for k in range(3)]
    out1 = cached.generate(round1, SamplingParams())
    assert cached.session is not None and cached.session.cache is not None
    # Row 1 leaves, rows 0 and 2 come back with interpreter text of different lengths, row 3 joins.
    extra = {0: encode_text(tok, "\nCode Execution Results:\n```output\n1\n```\n"), 2: encode_text(tok, "\nok\n")}
    round2 = [req(2, prompts[2] + out1[2].token_ids + extra[2], 7), req(3, prompts[3], 5),
              req(0, prompts[0] + out1[0].token_ids + extra[0], 9)]
    got = cached.generate(round2, SamplingParams())
    assert cached.session.reused_rows == 2
    want = fresh.generate(round2, SamplingParams())
    for g, w in zip(got, want, strict=True):
        assert g.token_ids == w.token_ids and g.finish_reason == w.finish_reason
        assert torch.allclose(torch.tensor(g.logprobs), torch.tensor(w.logprobs), atol=1e-3)
    # A request whose context does not extend its cached row (e.g. edited history) is re-prefilled.
    cached.generate([req(0, prompts[1], 3)], SamplingParams())
    assert cached.session.reused_rows == 2
    cached.reset()
    assert cached.session.cache is None
