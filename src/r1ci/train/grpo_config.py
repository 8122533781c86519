"""Typed GRPO config: every knob a documented field with a default that works (the YAML maps 1:1).

    cfg = load_config(GRPOConfig, "configs/rl/demo.yaml", ["grpo.group_size=8", "optim.lr=1e-6"])

Defaults follow TRL / veRL / DAPO practice where the paper is silent (see configs/rl/*.yaml for
the per-model recipes and why each value was picked).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from r1ci.config import StrictModel
from r1ci.rollout.protocol import RL_SAMPLING, RolloutConfig
from r1ci.train.curriculum import CurriculumConfig
from r1ci.train.metric_sinks import LoggingConfig
from r1ci.train.scaffold import LoraSettings, Precision, SaveDtype


class DataSettings(StrictModel):
    """Where RL prompts come from when no curriculum estimate names them."""

    tasks: list[str] | None = None
    """Task names or suites ("symbench", "bbh", "reasoning_gym"); None = all training tasks.
    Ignored when `curriculum.estimates` is set (the estimate file holds the questions)."""
    questions_per_task: int = Field(64, ge=1)
    seed: int = 0
    """Seed of the generated questions (use the same one as the curriculum estimate)."""
    difficulty: int | None = None
    """Difficulty level for tasks that have one (None = each task's default)."""
    allow_test_tasks: bool = False
    """Held-out test tasks are refused unless this is set (the split is by task)."""


class GRPOSettings(StrictModel):
    """The algorithm (see the docstring of `r1ci.train.grpo` for where it departs from textbook GRPO)."""

    group_size: int = Field(8, ge=2)
    """G: samples per question. Advantages are relative to the group, so G >= 2."""
    questions_per_step: int = Field(8, ge=1)
    """Questions per optimizer step (all processes together); the batch is questions_per_step * G rollouts."""
    epsilon_low: float = Field(0.2, ge=0.0)
    """Lower clip: ratio below 1 - epsilon_low stops pushing a negative-advantage token down."""
    epsilon_high: float = Field(0.28, ge=0.0)
    """Upper clip (DAPO clip-higher: 0.28 > 0.2 keeps low-probability good tokens growing)."""
    beta: float = Field(0.0, ge=0.0)
    """KL(policy || reference) weight, k3 estimator. 0 = no reference model (DAPO, Dr. GRPO, TRL default);
    DeepSeek-R1 used 0.001. With LoRA the reference is the base model with the adapter disabled."""
    scale_rewards: Literal["group", "batch", "none"] = "group"
    """Advantage = (r - group mean) / std of the group ("group"), of the batch ("batch"), or not divided
    ("none", Dr. GRPO)."""
    loss_aggregation: Literal["token", "sequence", "constant"] = "token"
    """"token": mean over all model tokens of the batch (DAPO); "sequence": per-sequence mean, then
    mean (original GRPO); "constant": sum / (sequences * rollout.max_new_tokens) (Dr. GRPO)."""
    mu: int = Field(1, ge=1)
    """Optimisation epochs per batch (one optimizer step each). 1 = strictly on-policy (ratio == 1)."""
    old_logprobs: Literal["recompute", "sampler"] = "recompute"
    """Old-policy log-probs for the ratio: recomputed by a forward pass before the first epoch, or the
    sampler's own (cheaper; with vLLM the ratio then also corrects sampler/trainer numeric drift). The HF
    backend records them under the sampling temperature; top_p < 1 truncation is not reflected."""
    dynamic_sampling: bool = False
    """DAPO dynamic sampling: drop zero-variance groups (no signal) and draw more questions to refill."""
    max_refill_rounds: int = Field(2, ge=0)
    """Dynamic sampling: extra rollout rounds per step at most (bounds the step's generation time)."""
    format_reward: float = Field(0.0, ge=0.0)
    """Weight of a format term added to the verifier reward: 1 when the model's text holds a final
    `<<<answer>>>`. A partial-credit signal for small models that have not learned the protocol yet."""
    mask_truncated: bool = False
    """DAPO overlong filtering: rollouts cut by the length budget get no loss (their reward is noise)."""
    micro_batch_size: int = Field(8, ge=1)
    """Sequences per forward/backward pass per process (memory knob; does not change the maths)."""
    disable_dropout: bool = True
    """Dropout makes two forward passes over the same tokens disagree, i.e. a noisy ratio (TRL default)."""

    @model_validator(mode="after")
    def _clip(self) -> GRPOSettings:
        if self.epsilon_low >= 1.0:
            raise ValueError("grpo.epsilon_low must be < 1 (the ratio is clipped to [1 - eps_low, 1 + eps_high])")
        return self


class OptimSettings(StrictModel):
    lr: float = Field(1e-6, gt=0)
    """AdamW learning rate (TRL's GRPO default; 135M-parameter demo models need ~1e-5)."""
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = Field(0, ge=0)
    min_lr_ratio: float = 1.0
    """Cosine decay to lr * min_lr_ratio over max_steps; 1.0 = constant after warmup (RL default)."""
    max_grad_norm: float | None = 1.0
    precision: Precision = "auto"
    """auto: bf16 mixed precision on GPU, fp32 on CPU."""
    gradient_checkpointing: bool = False


class GenerationSettings(StrictModel):
    backend: Literal["auto", "hf", "vllm"] = "hf"
    """hf: generate in-process with the policy being trained (no weight sync needed);
    vllm: a colocated vLLM engine whose weights are overwritten after every optimizer step;
    auto: vllm when it is installed, else hf."""
    executor: str = "local"
    """Sandbox for model code: "local" (fork-server pool) or an HTTP sandbox URL (`r1ci sandbox serve`)."""
    batch_size: int | None = None
    """HF backend: sequences generated together (None = backend default: 64 on GPU, 8 on CPU)."""
    vllm: dict[str, Any] = Field(default_factory=lambda: {"gpu_memory_utilization": 0.3})
    """Extra options for the vLLM backend (gpu_memory_utilization, max_model_len, ...)."""


class TrainSettings(StrictModel):
    max_steps: int = Field(100, ge=1)
    save_every: int | None = 50
    """Checkpoint every N steps (None = only at the end). --resume continues from the newest."""
    keep_checkpoints: int | None = 2
    log_rollouts_every: int = Field(0, ge=0)
    """Write the step's trajectories to OUT/rollouts/step-N.jsonl every N steps (0 = never)."""
    save_dtype: SaveDtype = "auto"
    """dtype of the final model: auto = the base model's own dtype (a bf16 model is saved in bf16)."""


class GRPOConfig(StrictModel):
    model: str = "default"
    """Starting policy: the SFT output folder, a hub id, a .gguf, or `default` (SmolLM2-135M)."""
    out: str = "runs/rl"
    seed: int = 0
    resume: bool = False
    data: DataSettings = Field(default_factory=DataSettings)
    rollout: RolloutConfig = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    """Multi-turn rollouts (paper: at most 5 code turns), sampled as `RL_SAMPLING` says unless the recipe
    names a key: a recipe's `rollout:` section changes only the keys it names."""

    @field_validator("rollout", mode="before")
    @classmethod
    def _rl_rollout_defaults(cls, v: Any) -> Any:
        return {**RL_SAMPLING, **v} if isinstance(v, dict) else v
    grpo: GRPOSettings = Field(default_factory=GRPOSettings)
    optim: OptimSettings = Field(default_factory=OptimSettings)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    curriculum: CurriculumConfig = Field(default_factory=CurriculumConfig)
    train: TrainSettings = Field(default_factory=TrainSettings)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @model_validator(mode="after")
    def _check(self) -> GRPOConfig:
        if self.rollout.temperature == 0.0:
            raise ValueError(
                "rollout.temperature is 0 (greedy): every sample of a group would be identical and GRPO "
                "would get no signal; use 1.0 (or 0.6-1.0)"
            )
        return self
