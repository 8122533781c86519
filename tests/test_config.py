"""Typed configs: YAML recipe < `-o key=value` overrides < explicit CLI flags, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1ci.cli import app
from r1ci.config import ConfigError, apply_overrides, load_config, set_dotted
from r1ci.train.estimate import EstimateConfig
from r1ci.train.grpo_config import GRPOConfig
from r1ci.train.sft import SFTConfig


def _recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_precedence_yaml_then_overrides_then_flags(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, "out: from-yaml\ntrain:\n  lr: 1.0e-4\n  epochs: 3\n")
    cfg = load_config(SFTConfig, recipe, ["train.lr=2e-5", "out=from-override"],
                      flags={"out": "from-flag", "train.max_steps": None})
    assert cfg.out == "from-flag"  # the flag beats -o and the YAML
    assert cfg.train.lr == 2e-5  # -o beats the YAML
    assert cfg.train.epochs == 3  # untouched YAML keys survive
    assert cfg.train.max_steps is None  # a None flag means "not given"


def test_unknown_key_is_an_error_naming_the_file(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, "trian:\n  lr: 1.0e-4\n")
    with pytest.raises(ConfigError, match=r"invalid SFTConfig in .*recipe.yaml(.|\n)*trian"):
        load_config(SFTConfig, recipe)


def test_override_errors_say_how_to_fix() -> None:
    with pytest.raises(ConfigError, match=r"not key=value; write e\.g\. train\.lr=1e-5"):
        apply_overrides({}, ["train.lr"])
    with pytest.raises(ConfigError, match="'lr' is a value, not a section"):
        apply_overrides({"lr": 1.0}, ["lr.x=2"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(SFTConfig, "no/such/recipe.yaml")


def test_set_dotted_creates_sections() -> None:
    data: dict = {}
    set_dotted(data, "a.b.c", [1, 2])
    assert data == {"a": {"b": {"c": [1, 2]}}}


def test_rl_rollout_section_changes_only_the_keys_it_names(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, "rollout:\n  max_new_tokens: 512\n")
    cfg = load_config(GRPOConfig, recipe)
    assert cfg.rollout.max_new_tokens == 512
    assert cfg.rollout.temperature == 1.0 and cfg.rollout.stop_at_answer is False  # RL defaults kept
    assert GRPOConfig().rollout.stop_at_answer is False
    est = load_config(EstimateConfig, None, ["rollout.max_new_tokens=64"])
    assert est.rollout == {"temperature": 1.0, "stop_at_answer": False, "max_new_tokens": 64}


@pytest.mark.parametrize("argv", [
    ["sft", "train", "--config", "{bad}"],
    ["rl", "train", "--config", "{bad}"],
    ["demo", "--config", "{bad}", "--out", "{out}"],
    ["rl", "train", "-o", "grpo.group_size=0", "--out", "{out}"],
])
def test_cli_reports_bad_config_in_one_line_and_exits_2(tmp_path: Path, argv: list[str]) -> None:
    bad = _recipe(tmp_path, "not_a_field: 1\n")
    args = [a.format(bad=bad, out=tmp_path / "run") for a in argv]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()  # nothing started


def _commands(cmd: object, path: tuple[str, ...] = ()) -> list[tuple[str, object]]:
    """Every command of the CLI tree as ("sft train", click command); groups with their own callback
    (`r1ci eval`) count too."""
    subs = getattr(cmd, "commands", None)
    if subs is None:
        return [(" ".join(path), cmd)]
    found = [(" ".join(path), cmd)] if path else []
    for name, sub in subs.items():
        found += _commands(sub, (*path, name))
    return found


def test_every_config_command_takes_overrides() -> None:
    """A command that reads a typed config (a --config recipe) also takes `-o key=value` for any field."""
    import typer

    commands = _commands(typer.main.get_command(app))
    options = {name: {o for p in cmd.params for o in getattr(p, "opts", [])} for name, cmd in commands}  # type: ignore[attr-defined]
    with_config = {name for name, opts in options.items() if "--config" in opts}
    assert {"demo", "experiment", "eval", "sft synth", "sft train", "rl train", "rl curriculum estimate"} <= with_config
    assert [name for name in with_config if "-o" not in options[name]] == []
    # commands built on a typed config without a recipe file
    assert "-o" in options["solve"] and "-o" in options["sandbox serve"]
