"""The end-to-end demo: every stage runs, the report shows numbers read back from the run, resume skips."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1ci.cli import app
from r1ci.pipelines.demo import STAGES, load_demo_config, run_demo

TINY = [
    "backend=hf",  # a tiny random model: no vLLM engine start in the default suite
    "tasks=[number_multiply, letter_counting]",
    "eval_questions_per_task=2",
    "eval_max_new_tokens=48",
    "synth.questions_per_task=3",
    "sft.train.save_every=2",
    "estimate.questions_per_task=2",
    "estimate.rollouts=2",
    "estimate.rollout.max_new_tokens=32",
    "rl.rollout.max_new_tokens=32",
]


def _run_tiny(out: Path, model: Path) -> Path:
    cfg = load_demo_config(None, [*TINY, f"out={out}", f"model={model}"], quick=True)
    return run_demo(cfg)


def test_demo_end_to_end_writes_a_report_from_the_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "demo"
    html = _run_tiny(out, tiny_model_dir)
    for stage in STAGES[:-1]:
        assert (out / stage / "DONE").exists(), stage
    assert (out / "sft" / "final" / "config.json").exists()
    assert (out / "rl" / "final" / "config.json").exists()
    md = (out / "report.md").read_text()
    for name in ("base (text)", "base (CI)", "SFT (CI)", "RL (CI)"):
        assert name in md
    # The headline accuracy of each stage is the mean reward of that stage's trajectories on disk.
    for folder, name in (("eval-base-ci", "base (CI)"), ("eval-rl", "RL (CI)")):
        rewards = [json.loads(line)["reward"] for line in (out / folder / "trajectories.jsonl").read_text().splitlines()]
        assert len(rewards) == 4
        row = next(line for line in md.splitlines() if line.startswith(f"| {name} |"))
        assert re.search(rf"\b{100 * sum(rewards) / len(rewards):.1f}%", row), row
    kept = sum(1 for _ in (out / "synth" / "sft.jsonl").open())
    assert kept == 6  # the scripted teacher is always right on these tasks
    assert f"kept {kept} of 6" in md
    rl_steps = [json.loads(line) for line in (out / "rl" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rl_steps if "reward" in r] == [1, 2]
    page = html.read_text()
    assert "data:image/png;base64," in page and "http://" not in page and "https://" not in page


def test_demo_resume_skips_finished_stages_and_refuses_a_dirty_folder(tmp_path: Path, tiny_model_dir: Path) -> None:
    out = tmp_path / "demo"
    _run_tiny(out, tiny_model_dir)
    stamp = (out / "sft" / "DONE").read_text()
    with pytest.raises(FileExistsError, match="--resume"):
        _run_tiny(out, tiny_model_dir)
    # Simulate an interruption after RL: the last eval and the report are redone, nothing else.
    (out / "eval-rl" / "DONE").unlink()
    (out / "report.md").unlink()
    cfg = load_demo_config(None, [*TINY, f"out={out}", f"model={tiny_model_dir}"], quick=True)
    run_demo(cfg, resume=True)
    assert (out / "sft" / "DONE").read_text() == stamp
    assert (out / "report.md").exists()
    changed = load_demo_config(None, [*TINY, f"out={out}", f"model={tiny_model_dir}", "eval_seed=5"], quick=True)
    with pytest.raises(ValueError, match="config differs"):
        run_demo(changed, resume=True)


def test_demo_cli_rejects_a_typo_in_an_override(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(tmp_path / "d"), "-o", "eval_sed=3"])
    assert result.exit_code != 0
    assert "eval_sed" in str(result.exception) + result.output


@pytest.mark.parametrize(("override", "valid"), [
    ("sft.train.lrr=1", "lr, max_grad_norm"),
    ("rl.grpo.group_sizee=2", "group_size"),
    ("estimate.rolouts=2", "rollouts"),
    ("synth.questions_per_tsk=2", "questions_per_task"),
])
def test_demo_config_is_validated_in_full_at_load(tmp_path: Path, override: str, valid: str) -> None:
    """A typo inside a stage section fails when the config loads, not three stages into the run."""
    from r1ci.config import ConfigError

    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=re.escape(key)) as err:
        load_demo_config(None, [override])
    assert "unknown key; valid keys here:" in str(err.value) and valid in str(err.value)
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(tmp_path / "d"), "-o", override])
    assert result.exit_code == 2 and key in result.output
    assert not (tmp_path / "d").exists()  # nothing ran


def test_demo_config_rejects_a_bad_value_in_a_stage(tmp_path: Path) -> None:
    from r1ci.config import ConfigError

    with pytest.raises(ConfigError, match=r"rl\.grpo\.group_size"):
        load_demo_config(None, ["rl.grpo.group_size=many"])


@pytest.mark.slow
def test_quick_demo_on_the_embedded_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(tmp_path / "q")])
    assert result.exit_code == 0, result.output
    assert "RL (CI)" in (tmp_path / "q" / "report.md").read_text()


def test_demo_backend_reaches_every_generation_stage(tmp_path: Path) -> None:
    """`backend` picks the engine of the evaluations, the curriculum estimate and the RL rollouts
    (vLLM schedules its own batches, so the evaluation batch cap is dropped for it)."""
    from r1ci.pipelines.demo import _estimate_config, _eval_config, _rl_config

    for name, eval_batch in (("vllm", None), ("hf", 24)):
        cfg = load_demo_config(None, [f"backend={name}", f"out={tmp_path}"])
        ev = _eval_config(cfg, tmp_path / "e", "default", "ci", False)
        assert (ev.backend, ev.batch_size) == (name, eval_batch)
        assert _estimate_config(cfg, tmp_path, tmp_path / "sft").backend == name
        assert _rl_config(cfg, tmp_path / "rl", tmp_path / "sft", tmp_path / "est", False).generation.backend == name
    with pytest.raises(ValueError, match="backend"):
        load_demo_config(None, ["backend=vlm"])


def test_shipped_demo_configs_match_the_defaults_and_validate() -> None:
    from r1ci.pipelines.demo import DemoConfig
    from r1ci.pipelines.stages import merged
    from r1ci.train.grpo_config import GRPOConfig
    from r1ci.train.sft import SFTConfig

    root = Path(__file__).resolve().parents[1] / "configs"
    assert load_demo_config(root / "demo.yaml") == DemoConfig()
    gpu = load_demo_config(root / "demo_gpu.yaml")
    sft = SFTConfig.model_validate(merged({"model": gpu.model, "data": ["d"], "out": "o"}, gpu.sft))
    rl = GRPOConfig.model_validate(merged({"model": gpu.model, "out": "o"}, gpu.rl))
    assert sft.lora.enabled and sft.train.precision == "bf16"
    assert rl.curriculum.num_stages == 4 and rl.grpo.group_size == 8
