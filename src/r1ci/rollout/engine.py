"""The batched multi-turn rollout loop: generate, execute closed code blocks, append, continue.

Each round, every active rollout asks the backend for its next model turn (one batched call). A
turn ends at a closed ```python block, a closed `<<<answer>>>`, an end-of-turn token, or a token
budget. Code blocks go to the sandbox the moment their sequence stops (the backend's `on_finish`
hook), so executions overlap the rest of the batch's generation; the loop then waits for what is
still running, appends each output as an interpreter segment and starts the next round. Finished
rollouts leave the batch and queued ones join (batch refill), so a slow question never holds a
batch slot hostage.

Ids: the engine keeps the ids the backend generated and encodes interpreter text on its own with
`encode_text`, so `prompt_ids + completion_ids` are exactly what the model was conditioned on (no
BPE merges across the model/interpreter boundary). Rewards come from the question's task verifier
(`r1ci.tasks.get(q.task).grade`) on the model's own text, or from a `grader` you pass.

Stop reasons: "answer" (the model finished and wrote `<<<...>>>`), "eos" (it finished without one),
"length" (token budget), "max_turns" (it closed another code block after its last allowed execution),
"error" (the backend failed this sample for good, e.g. an API error after retries: `metadata.error`
says why, and the other rollouts go on).

Token counts: with ids, `metadata.completion_tokens == len(completion_ids)`; text-only (API)
backends count model tokens from the server's `usage` and interpreter tokens as the growth of the
server's prompt count between turns, so budgets and `completion_tokens` cover both there too.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from r1ci.rollout.backends.base import Backend, GenerationRequest, GenerationResult, SamplingParams
from r1ci.rollout.protocol import (
    ExecResultLike,
    RolloutConfig,
    StopRules,
    build_messages,
    format_interpreter_output,
    max_turns_notice,
    stop_rules,
)
from r1ci.rollout.tokenize import encode_prompt, encode_text
from r1ci.rollout.trajectory import Segment, StopReason, Trajectory
from r1ci.tasks.answers import extract_answer
from r1ci.tasks.base import Grade, Question

Grader = Callable[[Question, str], Grade]
OnTrajectory = Callable[[Trajectory], None]
OnSegment = Callable[[int, Segment], None]
"""(rollout index, segment) as soon as a model turn or an interpreter output is complete (live display)."""


class ExecutorLike(Protocol):
    def run_many(self, codes: list[str], *, timeout_s: float, memory_mb: int,
                 max_output_bytes: int) -> Sequence[ExecResultLike]: ...


def registry_grader(question: Question, model_text: str) -> Grade:
    """Grade with the question's own task from the registry."""
    from r1ci import tasks

    if not hasattr(tasks, "get"):
        raise RuntimeError("the task registry (r1ci.tasks.get) is not available; pass grader=... to run_rollouts")
    return tasks.get(question.task).grade(question, model_text)


def _task_source(question: Question) -> str | None:
    if "source" in question.metadata:
        return str(question.metadata["source"])
    from r1ci import tasks

    try:
        return tasks.get(question.task).source  # type: ignore[attr-defined]
    except Exception:  # unknown to the registry (ad-hoc questions): the source is simply not known
        return None


@dataclass
class RolloutStats:
    """Where the time went (the benchmark reads these)."""

    wall_s: float = 0.0
    generate_s: float = 0.0
    exec_wait_s: float = 0.0
    """Time the loop sat blocked on the sandbox after a generate call returned."""
    exec_s: float = 0.0
    """Summed execution time (runs concurrently and overlaps generation, so it can exceed exec_wait_s)."""
    executions: int = 0
    rounds: int = 0
    model_tokens: int = 0
    interpreter_tokens: int = 0
    trajectories: int = 0

    @property
    def sandbox_share(self) -> float:
        return self.exec_wait_s / self.wall_s if self.wall_s else 0.0


@dataclass
class _Rollout:
    index: int
    question: Question
    sample_index: int
    seed: int
    messages: list[dict[str, str]]
    prompt_ids: list[int] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    completion_ids: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    logprobs: list[float] | None = field(default_factory=list)
    tokens_used: int = 0
    turn_text: str = ""
    turn_tokens: int = 0
    code_turns: int = 0
    exec_errors: int = 0
    exec_s: float = 0.0
    stop_reason: StopReason | None = None
    pending: Future[tuple[ExecResultLike, float]] | None = None
    error: str | None = None
    server_context: int | None = None
    """Text-only backends: context tokens the server counted at its last answer (prompt + completion)."""

    @property
    def model_text(self) -> str:
        return "".join(s.text for s in self.segments if s.kind == "model")


class RolloutEngine:
    def __init__(
        self,
        backend: Backend,
        cfg: RolloutConfig,
        *,
        executor: ExecutorLike | None = None,
        grader: Grader | None = None,
        batch_size: int | None = None,
        on_segment: OnSegment | None = None,
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.backend = backend
        self.cfg = cfg
        self.executor = executor
        self.grader = grader or registry_grader
        self.batch_size = batch_size or backend.default_batch_size
        self.on_segment = on_segment
        self.rules: StopRules = stop_rules(cfg)
        self.params = SamplingParams(temperature=cfg.temperature, top_p=cfg.top_p)
        self.stats = RolloutStats()
        self._pool: ThreadPoolExecutor | None = None
        self._run_id = uuid.uuid4().hex[:12]

    # --- public ------------------------------------------------------------------------------------

    def run(
        self,
        questions: Sequence[Question],
        *,
        samples_per_question: int = 1,
        seed: int = 0,
        progress: bool = True,
        on_trajectory: OnTrajectory | None = None,
    ) -> list[Trajectory]:
        if samples_per_question < 1:
            raise ValueError(f"samples_per_question must be >= 1, got {samples_per_question}")
        queue = deque(
            _Rollout(
                index=qi * samples_per_question + si,
                question=q,
                sample_index=si,
                seed=seed * 1_000_003 + qi * samples_per_question + si,
                messages=build_messages(q.prompt, self.cfg),
            )
            for qi, q in enumerate(questions)
            for si in range(samples_per_question)
        )
        total = len(queue)
        own_executor = self.executor is None and self.cfg.mode == "ci"
        if own_executor:
            from r1ci.sandbox import get_executor

            self.executor = get_executor("local")
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(64, self.batch_size)), thread_name_prefix="r1ci-exec")
        finished: list[Trajectory] = []
        start = time.perf_counter()
        self.backend.reset()
        try:
            with _Progress(progress, total, self.backend.name) as advance:
                active: list[_Rollout] = []
                while queue or active:
                    while queue and len(active) < self.batch_size:
                        r = queue.popleft()
                        self._begin(r)
                        active.append(r)
                    self._round([r for r in active if r.stop_reason is None])
                    still = []
                    for r in active:
                        if r.stop_reason is None:
                            still.append(r)
                            continue
                        traj = self._finish(r)
                        self._close_session(r)
                        finished.append(traj)
                        if on_trajectory is not None:
                            on_trajectory(traj)
                        advance(traj)
                    active = still
        finally:
            self.backend.reset()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            if own_executor:
                close = getattr(self.executor, "close", None)
                if close is not None:
                    close()
                self.executor = None
        self.stats.wall_s += time.perf_counter() - start
        return sorted(finished, key=lambda t: (t.metadata["index"]))

    # --- one round ---------------------------------------------------------------------------------

    def _begin(self, r: _Rollout) -> None:
        tok = self.backend.tokenizer
        if tok is not None:
            r.prompt_ids = encode_prompt(tok, r.messages)
        else:
            r.logprobs = None
        if self._budget(r) <= 0:
            r.stop_reason = "length"

    def _budget(self, r: _Rollout) -> int:
        budget = min(self.cfg.max_tokens_per_turn - r.turn_tokens, self.cfg.max_new_tokens - r.tokens_used)
        if self.backend.max_context and r.prompt_ids:
            budget = min(budget, self.backend.max_context - len(r.prompt_ids) - len(r.completion_ids))
        elif self.backend.max_context and r.server_context is not None:
            budget = min(budget, self.backend.max_context - r.server_context)
        return budget

    def _round(self, batch: list[_Rollout]) -> None:
        if not batch:
            return
        self.stats.rounds += 1
        requests = [
            GenerationRequest(
                messages=r.messages,
                segments=r.segments,
                max_new_tokens=self._budget(r),
                rules=self.rules,
                turn_text=r.turn_text,
                prompt_ids=r.prompt_ids,
                completion_ids=r.completion_ids,
                seed=r.seed + 7919 * (r.code_turns + len(r.segments)),
                key=r.index,
            )
            for r in batch
        ]
        early: dict[int, Future[tuple[ExecResultLike, float]]] = {}

        def on_finish(i: int, text: str) -> None:
            r = batch[i]
            event = self.rules.event(r.turn_text + text)
            if event is not None and event.kind == "code" and r.code_turns < self.cfg.max_code_turns:
                early[i] = self._submit(event.code or "", self._session_id(r))

        t0 = time.perf_counter()
        results = self.backend.generate(requests, self.params, on_finish)
        self.stats.generate_s += time.perf_counter() - t0
        if len(results) != len(batch):
            raise RuntimeError(f"backend {self.backend.name} returned {len(results)} results for {len(batch)} requests")
        for i, (r, res) in enumerate(zip(batch, results, strict=True)):
            self._absorb(r, res, early.get(i))
        t0 = time.perf_counter()
        for r in batch:
            if r.pending is not None:
                result, duration = r.pending.result()
                r.pending = None
                r.exec_s += duration
                self.stats.exec_s += duration
                self.stats.executions += 1
                self._append_output(r, result)
        self.stats.exec_wait_s += time.perf_counter() - t0

    def _submit(self, code: str, session_id: str | None = None) -> Future[tuple[ExecResultLike, float]]:
        assert self._pool is not None and self.executor is not None
        return self._pool.submit(self._execute, code, session_id)

    def _session_id(self, r: _Rollout) -> str | None:
        """rollout.persistent_state: one sandbox session per trajectory (unique across engine runs)."""
        return f"rollout-{self._run_id}-{r.index}" if self.cfg.persistent_state else None

    def _close_session(self, r: _Rollout) -> None:
        session_id = self._session_id(r)
        close = getattr(self.executor, "close_session", None)
        if session_id is not None and close is not None:
            close(session_id)

    def _execute(self, code: str, session_id: str | None = None) -> tuple[ExecResultLike, float]:
        assert self.executor is not None
        t0 = time.perf_counter()
        if session_id is not None:
            result = self.executor.run(
                code,
                session_id=session_id,
                timeout_s=self.cfg.exec_timeout_s,
                memory_mb=self.cfg.exec_memory_mb,
                max_output_bytes=max(65536, 8 * self.cfg.max_output_chars),
            )
            return result, time.perf_counter() - t0
        (result,) = self.executor.run_many(
            [code],
            timeout_s=self.cfg.exec_timeout_s,
            memory_mb=self.cfg.exec_memory_mb,
            # The sandbox caps bytes to protect memory; the protocol clips characters for the model.
            max_output_bytes=max(65536, 8 * self.cfg.max_output_chars),
        )
        return result, time.perf_counter() - t0

    # --- bookkeeping -------------------------------------------------------------------------------

    def _absorb(self, r: _Rollout, res: GenerationResult, early: Future[tuple[ExecResultLike, float]] | None) -> None:
        if res.finish_reason == "error":
            r.error = res.error or f"backend {self.backend.name} failed this request"
            r.stop_reason = "error"
            return
        text, ids, lps = res.text, list(res.token_ids), res.logprobs
        if not ids and res.prompt_tokens is not None:
            if r.server_context is not None:  # what the server counted for the interpreter text appended
                grown = max(0, res.prompt_tokens - r.server_context)
                r.tokens_used += grown
                self.stats.interpreter_tokens += grown
            r.server_context = res.prompt_tokens + res.tokens_used
        full = r.turn_text + text
        event = self.rules.event(full)
        if event is not None and not ids and event.end < len(full):
            # Text-only backends may run past the event (no token-level stop); ids-backends stop on it.
            text = full[len(r.turn_text) : event.end]
        if event is not None and event.kind == "code" and res.finish_reason == "eos" and ids:
            # End-of-turn right after the closing fence (string-stopping backends): the code still runs,
            # and the end token must not sit between the code and its output.
            ids = ids[:-1]
            lps = lps[:-1] if lps is not None else None
        self._add_model(r, text, ids, lps, res.tokens_used)
        if event is None:
            if res.finish_reason == "stop" and self._budget(r) > 0:
                return  # a stop string that was no event (e.g. ">>>" inside code): resume this turn
            self._end_turn(r)
            if res.finish_reason == "length" or (res.finish_reason == "stop" and self._budget(r) <= 0):
                r.stop_reason = "length"
            else:
                r.stop_reason = "answer" if extract_answer(r.model_text) is not None else "eos"
            return
        self._end_turn(r)
        if event.kind == "answer":
            r.stop_reason = "answer"
        elif r.code_turns >= self.cfg.max_code_turns:
            r.stop_reason = "max_turns"
        else:
            r.pending = early or self._submit(event.code or "", self._session_id(r))

    def _add_model(self, r: _Rollout, text: str, ids: list[int], lps: list[float] | None, used: int) -> None:
        if r.segments and r.segments[-1].kind == "model":
            last = r.segments[-1]  # a resumed turn: still one model segment per turn
            last.text += text
            last.token_ids.extend(ids)
        else:
            r.segments.append(Segment("model", text, list(ids)))
        r.completion_ids.extend(ids)
        r.mask.extend([1] * len(ids))
        if r.logprobs is not None:
            r.logprobs = r.logprobs + lps if lps is not None and len(lps) == len(ids) else None
        r.turn_text += text
        r.turn_tokens += max(used, 1)
        r.tokens_used += used
        self.stats.model_tokens += used

    def _end_turn(self, r: _Rollout) -> None:
        if self.on_segment is not None and r.segments and r.segments[-1].kind == "model":
            self.on_segment(r.index, r.segments[-1])

    def _append_output(self, r: _Rollout, result: ExecResultLike) -> None:
        r.code_turns += 1
        if result.status != "ok":
            r.exec_errors += 1
        last = r.code_turns == self.cfg.max_code_turns
        text = format_interpreter_output(
            result, self.cfg.max_output_chars, after=r.turn_text, notice=max_turns_notice(self.cfg) if last else None
        )
        tok = self.backend.tokenizer
        ids = encode_text(tok, text) if tok is not None else []
        seg = Segment("interpreter", text, ids)
        r.segments.append(seg)
        r.completion_ids.extend(ids)
        r.mask.extend([0] * len(ids))
        if r.logprobs is not None:
            r.logprobs.extend([0.0] * len(ids))
        r.tokens_used += len(ids)
        self.stats.interpreter_tokens += len(ids)
        r.turn_text, r.turn_tokens = "", 0
        if self.on_segment is not None:
            self.on_segment(r.index, seg)
        if self._budget(r) <= 0:
            r.stop_reason = "length"

    def _finish(self, r: _Rollout) -> Trajectory:
        assert r.stop_reason is not None
        model_text = r.model_text
        grade = self.grader(r.question, model_text)
        self.stats.trajectories += 1
        return Trajectory(
            task=r.question.task,
            question_id=r.question.id,
            prompt=r.question.prompt,
            messages=r.messages,
            prompt_ids=r.prompt_ids,
            completion="".join(s.text for s in r.segments),
            segments=r.segments,
            completion_ids=r.completion_ids,
            mask=r.mask,
            logprobs=r.logprobs if r.prompt_ids else None,
            num_code_turns=r.code_turns,
            exec_errors=r.exec_errors,
            stop_reason=r.stop_reason,
            extracted_answer=grade.extracted if grade.extracted is not None else extract_answer(model_text),
            reward=grade.reward,
            grade_reason=grade.reason,
            metadata={
                "index": r.index,
                "source": _task_source(r.question),
                "mode": self.cfg.mode,
                "sample_index": r.sample_index,
                "seed": r.seed,
                "model": self.backend.model_name,
                "backend": self.backend.name,
                "gold": r.question.answer,
                "temperature": float(self.cfg.temperature),
                "exec_time_s": round(r.exec_s, 4),
                "completion_tokens": len(r.completion_ids) if r.completion_ids else r.tokens_used,
                "error": r.error,
            },
        )


class _Progress:
    """A rich progress bar over rollouts (a no-op when disabled)."""

    def __init__(self, enabled: bool, total: int, backend: str) -> None:
        self.enabled = enabled and total > 0
        self.total = total
        self.backend = backend
        self.correct = 0.0
        self.done = 0

    def __enter__(self) -> Callable[[Trajectory], None]:
        if not self.enabled:
            return lambda traj: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]rollouts[/] ({task.fields[backend]})"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("reward {task.fields[reward]:.2f}"),
            TimeElapsedColumn(),
        )
        self.bar.__enter__()
        self.task = self.bar.add_task("rollouts", total=self.total, backend=self.backend, reward=0.0)

        def advance(traj: Trajectory) -> None:
            self.done += 1
            self.correct += traj.reward or 0.0
            self.bar.update(self.task, advance=1, reward=self.correct / self.done)

        return advance

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)


def run_rollouts(
    backend: Backend,
    questions: Sequence[Question],
    cfg: RolloutConfig,
    *,
    samples_per_question: int = 1,
    executor: ExecutorLike | None = None,
    seed: int = 0,
    progress: bool = True,
    on_trajectory: OnTrajectory | None = None,
    grader: Grader | None = None,
    batch_size: int | None = None,
    on_segment: OnSegment | None = None,
) -> list[Trajectory]:
    """Roll out every question `samples_per_question` times; trajectories come back in question order
    (question-major, then sample index) with rewards filled in. `executor` defaults to the local
    sandbox (`r1ci.sandbox.get_executor("local")`, created and closed here); text mode needs none."""
    engine = RolloutEngine(
        backend, cfg, executor=executor, grader=grader, batch_size=batch_size, on_segment=on_segment
    )
    return engine.run(
        questions, samples_per_question=samples_per_question, seed=seed, progress=progress,
        on_trajectory=on_trajectory,
    )

