"""Typed configs: pydantic models loaded from YAML, overridable from the CLI with dotted `key=value`.

    cfg = load_config(SFTConfig, "configs/sft/demo.yaml", ["train.lr=1e-5", "lora.r=16"],
                      flags={"out": "runs/x", "train.max_steps": None})

Precedence: the YAML recipe, then `-o key=value` overrides, then explicit CLI flags (a flag left at
None is "not given"). Unknown keys are errors (a typo in a recipe must not silently fall back to a
default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, get_args

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
        try:
            set_dotted(data, key.strip(), _parse_scalar(value))
        except ConfigError as exc:
            raise ConfigError(f"override {item!r}: {exc}") from None
    return data


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """`set_dotted(d, "train.lr", 1e-5)` sets d["train"]["lr"], creating sections on the way."""
    node = data
    *parents, leaf = dotted.split(".")
    for part in parents:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"cannot set {dotted!r}: {part!r} is a value, not a section")
        node = nxt
    node[leaf] = value


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


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> T:
    """Recipe YAML + dotted overrides + explicit flags (dotted keys; None = not given), validated."""
    return build_config(cls, load_yaml(path), overrides, flags, source=path)


def build_config(
    cls: type[T],
    data: dict[str, Any],
    overrides: list[str] | None = None,
    flags: Mapping[str, Any] | None = None,
    source: str | Path | None = None,
) -> T:
    """`data` (an already-loaded recipe) + overrides + flags, validated; errors name `source`."""
    data = apply_overrides(data, overrides)
    for dotted, value in (flags or {}).items():
        if value is not None:
            set_dotted(data, dotted, value)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        where = f" in {source}" if source else ""
        raise ConfigError(f"invalid {cls.__name__}{where}:\n{explain(cls, exc)}") from exc


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a field annotation (`X`, `X | None`, ...), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def valid_keys(cls: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the config section at `loc` ([] when `loc` leaves the typed configs)."""
    node: type[BaseModel] | None = cls
    for part in loc:
        field = node.model_fields.get(str(part)) if node is not None else None
        node = _model_in(field.annotation) if field is not None else None
    return sorted(node.model_fields) if node is not None else []


def explain(cls: type[BaseModel], exc: ValidationError, prefix: str = "") -> str:
    """One line per error, each naming its dotted key; an unknown key also lists the valid ones."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = prefix + ".".join(str(part) for part in loc)
        if err["type"] == "extra_forbidden":
            valid = valid_keys(cls, loc[:-1])
            hint = f"; valid keys here: {', '.join(valid)}" if valid else ""
            lines.append(f"  {key}: unknown key{hint}")
        else:
            lines.append(f"  {key}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_differences(saved: Mapping[str, Any], now: Mapping[str, Any], *,
                       only: Sequence[str] | None = None, ignore: Sequence[str] = ()) -> list[str]:
    """Dotted keys whose value differs between a saved run config and this one, one line each.
    `only`/`ignore` name top-level keys (e.g. the knobs a resumed run may change)."""
    def pick(d: Mapping[str, Any]) -> dict[str, Any]:
        return _flatten({k: v for k, v in d.items() if (only is None or k in only) and k not in ignore})

    a, b = pick(saved), pick(now)
    return [f"  {key}: {a.get(key)!r} in the saved run, {b.get(key)!r} now"
            for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]


def check_resume_config(saved: Mapping[str, Any], now: Mapping[str, Any], *, where: str | Path,
                        only: Sequence[str] | None = None, ignore: Sequence[str] = ()) -> None:
    """The one resume check: continuing a run with different settings would mix two experiments."""
    diffs = config_differences(saved, now, only=only, ignore=ignore)
    if diffs:
        raise ConfigError(
            f"cannot resume {where}: its config differs from this one:\n" + "\n".join(diffs)
            + "\nRe-run with the original settings, or pass a new --out to start a separate run."
        )


def dump_config(cfg: BaseModel, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
