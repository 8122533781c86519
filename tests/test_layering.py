"""The package layering: every import in src/r1ci points down the stack, and no import cycle exists.

    bottom (config, models, paths, jsonl, provenance)  <  tasks, sandbox  <  rollout  <  train, eval
        <  pipelines  <  cli

Imports are read with `ast` (every `import` / `from ... import`, including the lazy ones inside
functions and under TYPE_CHECKING), so a violation fails here whether or not the code path runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "r1ci"

LAYERS: dict[str, int] = {
    "<root>": 0, "config": 0, "models": 0, "gguf_convert": 0, "paths": 0, "jsonl": 0, "provenance": 0,
    "tasks": 1, "sandbox": 1,
    "rollout": 2,
    "train": 3, "eval": 3,
    "pipelines": 4,
    "cli": 5,
}
"""Layer of each top-level module or subpackage of r1ci; a module may import its own unit or lower layers."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The r1ci modules `path` imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from r1ci import tasks` imports the submodule r1ci.tasks
            found.update(f"{target}.{alias.name}" for alias in node.names
                         if (PACKAGE.parent / f"{target}.{alias.name}".replace(".", "/")).exists()
                         or (PACKAGE.parent / (f"{target}.{alias.name}".replace(".", "/") + ".py")).exists())
    return {name for name in found if name == "r1ci" or name.startswith("r1ci.")}


def _unit(module: str) -> str:
    """The layer unit of a module: r1ci.train.grpo -> "train", r1ci.config -> "config", r1ci -> "<root>"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<root>"


def _layer(module: str) -> int:
    return LAYERS.get(_unit(module), -1)  # an unlisted unit fails test_every_unit_has_a_layer


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        # importing r1ci.a.b also runs r1ci.a/__init__; count the deepest existing module only
        graph[name] = {imp if imp in modules else imp.rpartition(".")[0] for imp in _imports(path)} - {name}
    return graph


def test_every_unit_has_a_layer() -> None:
    units = {_unit(m) for m in _graph()}
    assert units <= set(LAYERS), f"give these r1ci modules a layer in LAYERS: {sorted(units - set(LAYERS))}"


def test_no_module_imports_a_higher_layer() -> None:
    upward = sorted(
        f"{src} (layer {_layer(src)}) imports {dst} (layer {_layer(dst)})"
        for src, targets in _graph().items() for dst in targets
        if _unit(src) != _unit(dst) and _layer(dst) > _layer(src) >= 0
    )
    assert not upward, "upward imports:\n" + "\n".join(upward)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(("graph", "expected"), [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert _cycles(graph) == expected


def test_import_parser_sees_lazy_imports() -> None:
    assert "r1ci.rollout.tokenize" in _imports(PACKAGE / "rollout" / "engine.py")
    # a lazy import inside a function counts like a top-level one
    assert any(name.startswith("r1ci.train.") for name in _imports(PACKAGE / "pipelines" / "demo.py"))
