"""The trajectory record: one multi-turn answer, as text segments *and* as the exact token ids.

A trajectory is the unit every later stage reads (evaluation, SFT, curriculum, GRPO), so it keeps
both views of the completion:

- `segments`: alternating model text and interpreter output, each with the token ids that entered
  the model's context (ids the sampler produced for model segments; `encode_text` ids for
  interpreter segments). Concatenated, they are `completion_ids`.
- `mask`: 1 on model-generated tokens, 0 on interpreter tokens (the prompt is not part of it).
- `logprobs`: the sampler's per-token log-probabilities, 0.0 on interpreter tokens; None when the
  backend does not report them (API backends, the scripted backend).

Trajectories from API backends have no ids (`prompt_ids == completion_ids == []`);
`r1ci.rollout.tokenize.trajectory_features` tokenises them exactly the way the engine would.

JSONL I/O is lossless: `Trajectory.from_dict(t.to_dict()) == t`.

One schema whatever the backend or stage: empty id lists are lists, and `metadata` always holds
every key of `METADATA_KEYS` (None where a stage has nothing to say), so the JSONL of an hf run, an
openai run, an eval and a synthesis load together:

    datasets.load_dataset("json", data_files=[...], features=dataset_features())

(`datasets.concatenate_datasets` of files loaded one by one works as well.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from r1ci.jsonl import append_records, iter_records, write_records

SegmentKind = Literal["model", "interpreter"]
StopReason = Literal["answer", "eos", "length", "max_turns", "error"]
SEGMENT_KINDS: tuple[str, ...] = ("model", "interpreter")
STOP_REASONS: tuple[str, ...] = ("answer", "eos", "length", "max_turns", "error")
METADATA_TYPES: dict[str, str] = {
    "index": "int64",  # position in the run (question-major, then sample)
    "source": "string",  # symbench | bbh | reasoning_gym
    "mode": "string",  # ci | text
    "sample_index": "int64",
    "seed": "int64",
    "model": "string",
    "backend": "string",
    "gold": "string",
    "temperature": "float64",
    "exec_time_s": "float64",
    "completion_tokens": "int64",  # model + interpreter tokens (ids, or the server's usage)
    "error": "string",  # why the backend failed this sample (stop_reason "error")
    "synth_reason": "string",  # SFT synthesis: why the filters kept or dropped it
}
"""Every trajectory's metadata keys and their Arrow types (the one metadata schema)."""
METADATA_KEYS: tuple[str, ...] = tuple(METADATA_TYPES)


@dataclass
class Segment:
    kind: SegmentKind
    text: str
    token_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in SEGMENT_KINDS:
            raise ValueError(f"segment kind must be one of {SEGMENT_KINDS}, got {self.kind!r}")


@dataclass
class Trajectory:
    task: str
    question_id: str
    prompt: str
    """The user text of the question (what the task wrote; the system prompt is in `messages`)."""
    messages: list[dict[str, str]]
    """The chat messages the completion answers (system + user)."""
    prompt_ids: list[int]
    completion: str
    segments: list[Segment]
    completion_ids: list[int]
    mask: list[int]
    logprobs: list[float] | None
    num_code_turns: int
    exec_errors: int
    stop_reason: StopReason
    extracted_answer: str | None = None
    reward: float | None = None
    grade_reason: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.metadata = {**dict.fromkeys(METADATA_KEYS), **self.metadata}
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason must be one of {STOP_REASONS}, got {self.stop_reason!r}")
        if len(self.mask) != len(self.completion_ids):
            raise ValueError(
                f"mask has {len(self.mask)} entries but completion_ids has {len(self.completion_ids)}; "
                "they must be aligned one to one"
            )
        if self.logprobs is not None and len(self.logprobs) != len(self.completion_ids):
            raise ValueError(
                f"logprobs has {len(self.logprobs)} entries but completion_ids has "
                f"{len(self.completion_ids)}; pass None when the backend reports no logprobs"
            )

    @property
    def model_text(self) -> str:
        """Everything the model wrote (interpreter output excluded): where answers are read from."""
        return "".join(s.text for s in self.segments if s.kind == "model")

    @property
    def has_ids(self) -> bool:
        return bool(self.prompt_ids)

    @property
    def num_model_tokens(self) -> int:
        return sum(self.mask)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        data = dict(d)
        try:
            data["segments"] = [Segment(**s) for s in data["segments"]]
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"not a trajectory record ({exc}); was it written by Trajectory.to_dict?") from exc
        except KeyError as exc:
            raise ValueError(f"trajectory record lacks field {exc}; was it written by Trajectory.to_dict?") from exc


def dataset_features() -> Any:
    """`datasets.Features` of a trajectory JSONL line: pass it to `load_dataset("json", ...)` so files
    whose columns are all empty or all None (an API run has no ids) still get the common types."""
    from datasets import Features, List, Value

    ids = List(Value("int64"))
    return Features({
        "task": Value("string"),
        "question_id": Value("string"),
        "prompt": Value("string"),
        "messages": List({"role": Value("string"), "content": Value("string")}),
        "prompt_ids": ids,
        "completion": Value("string"),
        "segments": List({"kind": Value("string"), "text": Value("string"), "token_ids": ids}),
        "completion_ids": ids,
        "mask": ids,
        "logprobs": List(Value("float64")),
        "num_code_turns": Value("int64"),
        "exec_errors": Value("int64"),
        "stop_reason": Value("string"),
        "extracted_answer": Value("string"),
        "reward": Value("float64"),
        "grade_reason": Value("string"),
        "metadata": {k: Value(t) for k, t in METADATA_TYPES.items()},
    })


def write_jsonl(path: str | Path, trajs: Iterable[Trajectory], append: bool = False) -> Path:
    """One JSON object per line: `append=True` adds to the file (streaming writers), else the file is
    replaced atomically. Broken-line policy: `r1ci.jsonl`."""
    records = (t.to_dict() for t in trajs)
    return append_records(path, records) if append else write_records(path, records)


def iter_jsonl(path: str | Path) -> Iterator[Trajectory]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"trajectory file {p} does not exist")
    for lineno, record in iter_records(p):
        try:
            yield Trajectory.from_dict(record)
        except ValueError as exc:
            raise ValueError(f"{p}:{lineno}: bad trajectory line: {exc}") from exc


def read_jsonl(path: str | Path) -> list[Trajectory]:
    return list(iter_jsonl(path))
