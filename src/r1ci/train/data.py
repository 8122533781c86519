"""SFT data: trajectories -> token examples -> a deterministic plan of optimizer steps -> tensors.

Tokenisation is not done here: `r1ci.rollout.tokenize.trajectory_features` (the one path shared with
the rollout engine and GRPO) gives ids + loss mask; this module turns the mask into labels
(-100 = no loss), splits off an eval slice, and plans batches.

The whole run's batch order is a pure function of (examples, seed, epoch, batch settings, number of
processes). That is what makes `--resume` exact: a checkpoint stores only the step index and the
plan is rebuilt. It also lets every process compute, without communication, how many loss tokens
an optimizer step holds across all processes, so the loss is normalised per model token over the
whole step (not per micro-batch, which would over-weight short trajectories).

Batching modes:
- default: one trajectory per row, rows padded to the longest in the micro-batch;
- `group_by_length`: rows of similar length share micro-batches (less padding), order still shuffled;
- `packing`: several trajectories share one row of at most `max_length` tokens; positions restart
  for each, and the model keeps them apart from `position_ids` alone (transformers detects packed
  rows when `attention_mask` is None and no KV cache is in use: sdpa/eager via a block-causal mask,
  flash-attention via varlen; `tests/train/test_sft.py` checks packed == padded loss).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

    from r1ci.rollout.trajectory import Trajectory

IGNORE_INDEX = -100

Row = list[int]
"""Indices of the examples sharing one row (one index unless packing)."""
MicroBatch = list[Row]
Step = list[MicroBatch]
"""All micro-batches of one optimizer step, for all processes: process r owns `step[r::world]`."""


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]
    """`input_ids` where the loss mask is 1, else -100 (prompt and interpreter output)."""
    group: str
    """Question id: samples of one question stay on one side of the train/eval split."""

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_loss_tokens(self) -> int:
        # labels[0] is never predicted (nothing precedes it), so it carries no loss
        return sum(1 for t in self.labels[1:] if t != IGNORE_INDEX)


@dataclass
class EncodeStats:
    total: int = 0
    kept: int = 0
    dropped_too_long: int = 0
    truncated: int = 0
    dropped_no_model_tokens: int = 0
    retokenized: int = 0
    """Trajectories whose stored ids came from another tokenizer (e.g. a teacher model) and were
    re-tokenised from their text for the model being trained."""


def sft_data_files(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """Resolve `--data`: a JSONL file, or a synthesis folder (its `sft.jsonl`), or a list of either."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not items:
        raise ValueError("no SFT data given; set data: (a sft.jsonl file or a `r1ci sft synth` output folder)")
    files = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            p = p / "sft.jsonl"
        if not p.exists():
            raise FileNotFoundError(
                f"SFT data {p} does not exist; run `r1ci sft synth ... --out DIR` first and pass --data DIR"
            )
        files.append(p)
    return files


def load_trajectories(paths: str | Path | Sequence[str | Path]) -> list[Trajectory]:
    from r1ci.rollout.trajectory import read_jsonl

    trajs: list[Trajectory] = []
    for path in sft_data_files(paths):
        trajs.extend(read_jsonl(path))
    if not trajs:
        raise ValueError(f"SFT data {paths} holds no trajectories; check the synthesis stats.json for why")
    return trajs


def data_fingerprint(paths: Iterable[Path]) -> str:
    """Content hash of the data files: a resumed run must train on the very same data."""
    h = hashlib.sha256()
    for p in paths:
        with Path(p).open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def for_tokenizer(traj: Trajectory, tokenizer: PreTrainedTokenizerBase, stats: EncodeStats | None = None) -> Trajectory:
    """`traj` itself when its stored ids were made by `tokenizer`; else a copy without ids, which
    `trajectory_features` then tokenises from text the way the engine would have.

    Synthesis usually runs on another model than the student (a teacher, or the scripted teacher
    with some tokenizer); training on its ids would feed the student foreign token ids. The check is
    exact: the student's chat template over the trajectory's messages must reproduce `prompt_ids`.
    """
    import dataclasses

    from r1ci.rollout.tokenize import encode_prompt

    if not traj.prompt_ids or encode_prompt(tokenizer, traj.messages) == list(traj.prompt_ids):
        return traj
    if stats is not None:
        stats.retokenized += 1
    segments = [dataclasses.replace(s, token_ids=[]) for s in traj.segments]
    return dataclasses.replace(traj, prompt_ids=[], completion_ids=[], mask=[], logprobs=None, segments=segments)


def encode_examples(
    trajs: Sequence[Trajectory],
    tokenizer: PreTrainedTokenizerBase,
    *,
    max_length: int,
    overflow: Literal["drop", "truncate"] = "drop",
) -> tuple[list[Example], EncodeStats]:
    """Tokenise trajectories through `trajectory_features` and build labels from its loss mask.

    Overlong trajectories are dropped by default: truncation cuts off the final answer, teaching the
    model to stop mid-thought; `truncate` keeps the head for users who want every prompt.
    """
    from r1ci.rollout.tokenize import trajectory_features

    stats = EncodeStats(total=len(trajs))
    out: list[Example] = []
    for traj in trajs:
        ids, mask = trajectory_features(for_tokenizer(traj, tokenizer, stats), tokenizer)
        if len(ids) != len(mask):
            raise ValueError(f"trajectory_features returned {len(ids)} ids but {len(mask)} mask values")
        if len(ids) > max_length:
            if overflow == "drop":
                stats.dropped_too_long += 1
                continue
            ids, mask = ids[:max_length], mask[:max_length]
            stats.truncated += 1
        labels = [t if m else IGNORE_INDEX for t, m in zip(ids, mask, strict=True)]
        ex = Example(input_ids=list(ids), labels=labels, group=f"{traj.task}|{traj.question_id}")
        if ex.n_loss_tokens == 0:
            stats.dropped_no_model_tokens += 1
            continue
        out.append(ex)
    stats.kept = len(out)
    return out, stats


def split_eval(
    examples: Sequence[Example], *, fraction: float, max_examples: int | None, seed: int
) -> tuple[list[Example], list[Example]]:
    """Hold out whole questions (never one sample of a question in train and another in eval).
    At least one question stays in train; eval may be empty when fraction is 0."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"eval fraction must be in [0, 1), got {fraction}")
    groups = sorted({ex.group for ex in examples})
    random.Random(seed).shuffle(groups)
    n_eval = min(round(len(groups) * fraction), len(groups) - 1)
    if fraction > 0 and n_eval == 0 and len(groups) > 1:
        n_eval = 1
    held = set(groups[:n_eval])
    train = [ex for ex in examples if ex.group not in held]
    evals = [ex for ex in examples if ex.group in held]
    if max_examples is not None:
        evals = evals[:max_examples]
    return train, evals


def pack_rows(lengths: Sequence[int], order: Sequence[int], capacity: int) -> list[Row]:
    """Best-fit packing of examples (in `order`) into rows of at most `capacity` tokens."""
    rows: list[Row] = []
    room: list[int] = []
    for idx in order:
        n = lengths[idx]
        if n > capacity:
            raise ValueError(f"example of {n} tokens does not fit a packed row of {capacity}; raise max_length")
        best = -1
        for r, free in enumerate(room):
            if free >= n and (best < 0 or free < room[best]):
                best = r
        if best < 0:
            rows.append([idx])
            room.append(capacity - n)
        else:
            rows[best].append(idx)
            room[best] -= n
    return rows


def plan_epoch(
    lengths: Sequence[int],
    *,
    epoch: int,
    seed: int,
    micro_batch_size: int,
    micro_batches_per_step: int,
    packing: bool,
    group_by_length: bool,
    max_length: int,
) -> list[Step]:
    """One epoch's optimizer steps. The micro-batch list is padded by wrapping around to the start
    of the epoch so every step (and every process) gets the same number of micro-batches — DDP
    deadlocks if one process runs fewer backward passes than another."""
    rng = random.Random(f"{seed}|{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if packing:
        rows = pack_rows(lengths, order, max_length)
        rng.shuffle(rows)
    else:
        rows = [[i] for i in order]
        if group_by_length:
            # HF-style megabatches: sort by length inside windows of 50 micro-batches, keep windows random
            window = micro_batch_size * 50
            grouped: list[Row] = []
            for start in range(0, len(rows), window):
                grouped.extend(sorted(rows[start : start + window], key=lambda r: -lengths[r[0]]))
            rows = grouped
    micro = [rows[i : i + micro_batch_size] for i in range(0, len(rows), micro_batch_size)]
    if group_by_length and not packing:
        rng.shuffle(micro)  # similar lengths within a micro-batch, random order across them
    if not micro:
        return []
    k = 0
    while len(micro) % micro_batches_per_step:
        micro.append(micro[k % len(micro)])
        k += 1
    return [micro[i : i + micro_batches_per_step] for i in range(0, len(micro), micro_batches_per_step)]


def plan_steps(
    lengths: Sequence[int],
    *,
    seed: int,
    micro_batch_size: int,
    grad_accum: int,
    world_size: int,
    epochs: float,
    max_steps: int | None,
    packing: bool,
    group_by_length: bool,
    max_length: int,
) -> list[Step]:
    """All optimizer steps of a run: `max_steps` steps if set (cycling epochs), else `epochs` epochs
    (a fractional epoch count stops part-way through the last one)."""
    if not lengths:
        raise ValueError("no training examples left after tokenisation and the eval split")
    if micro_batch_size < 1 or grad_accum < 1:
        raise ValueError("micro_batch_size and grad_accum must be >= 1")
    per_step = grad_accum * world_size
    kwargs: dict[str, Any] = dict(seed=seed, micro_batch_size=micro_batch_size, micro_batches_per_step=per_step,
                                  packing=packing, group_by_length=group_by_length, max_length=max_length)
    steps: list[Step] = []
    epoch = 0
    if max_steps is not None:
        while len(steps) < max_steps:
            steps.extend(plan_epoch(lengths, epoch=epoch, **kwargs))
            epoch += 1
        return steps[:max_steps]
    if epochs <= 0:
        raise ValueError(f"epochs must be > 0 (or set max_steps), got {epochs}")
    while epoch < epochs:
        one = plan_epoch(lengths, epoch=epoch, **kwargs)
        frac = min(1.0, epochs - epoch)
        steps.extend(one[: max(1, round(len(one) * frac))])
        epoch += 1
    return steps


def plan_fingerprint(steps: Sequence[Step]) -> str:
    return hashlib.sha256(json.dumps(steps).encode()).hexdigest()[:16]


def step_loss_tokens(step: Step, examples: Sequence[Example]) -> int:
    return sum(examples[i].n_loss_tokens for mb in step for row in mb for i in row)


def collate(
    rows: MicroBatch, examples: Sequence[Example], *, pad_id: int, packing: bool
) -> dict[str, torch.Tensor]:
    """Right-padded tensors for one micro-batch. Unpacked rows get an `attention_mask`; packed rows
    get per-trajectory `position_ids` and no attention mask (see the module docstring)."""
    import torch

    width = max(sum(len(examples[i]) for i in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        at = 0
        for i in row:
            ex = examples[i]
            n = len(ex)
            ids[r, at : at + n] = torch.tensor(ex.input_ids)
            row_labels = torch.tensor(ex.labels)
            row_labels[0] = IGNORE_INDEX  # a packed neighbour's last token must not "predict" this one
            labels[r, at : at + n] = row_labels
            positions[r, at : at + n] = torch.arange(n)
            attention[r, at : at + n] = 1
            at += n
        # padding forms its own (fully masked) packed segment: positions restart at 0
        positions[r, at:] = torch.arange(width - at)
    if packing:
        return {"input_ids": ids, "labels": labels, "position_ids": positions}
    return {"input_ids": ids, "labels": labels, "attention_mask": attention}


def eval_batches(examples: Sequence[Example], micro_batch_size: int) -> list[MicroBatch]:
    """Eval micro-batches sorted by length (order does not matter for a summed loss; padding does)."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]))
    rows = [[i] for i in order]
    return [rows[i : i + micro_batch_size] for i in range(0, len(rows), micro_batch_size)]
