"""Typed configs: pydantic models loaded from YAML, overridable from the CLI with dotted `key=value`.

    cfg = load_config(SFTConfig, "configs/sft/demo.yaml", ["train.lr=1e-5", "lora.r=16"])

Unknown keys are errors (a typo in a recipe must not silently fall back to a default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

T = TypeVar("T", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ConfigError(ValueError):
    pass


def _parse_scalar(text: str) -> Any:
    # YAML's scalar rules give ints, floats, bools, null and lists ("[a, b]") for free.
    return yaml.safe_load(text)


def apply_overrides(data: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value; write e.g. train.lr=1e-5")
        key, value = item.split("=", 1)
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"override {item!r}: {part!r} is a value, not a section")
            node = nxt
        node[parts[-1]] = _parse_scalar(value)
    return data


def load_yaml(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {p} does not exist; pass an existing YAML (see configs/)")
    data = yaml.safe_load(p.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping at top level, found {type(data).__name__}")
    return data


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    data = apply_overrides(load_yaml(path), overrides)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        raise ConfigError(f"invalid {cls.__name__}{where}:\n{exc}") from exc


def dump_config(cfg: BaseModel, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
