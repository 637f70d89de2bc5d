"""The packages of moai_adk import each other in one direction only: a test walks every import
statement (including those inside functions and under TYPE_CHECKING) and fails on any cycle
between top-level packages or modules (cli -> deploy -> providers -> artifacts, ...)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import moai_adk

SRC = Path(moai_adk.__file__).resolve().parent


def _unit(parts: tuple[str, ...]) -> str:
    """The top-level unit a module belongs to: ``providers`` for moai_adk.providers.vercel._link."""
    return parts[1] if len(parts) > 1 else "<root>"


def import_graph() -> dict[str, dict[str, set[str]]]:
    """unit -> {imported unit -> files that import it}."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        package = rel.parts[:-1]  # the package relative imports start from
        source = _unit(parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    target = base + tuple(node.module.split(".")) if node.module else base
                else:
                    target = tuple((node.module or "").split("."))
                targets = [target] if node.module else [target + (a.name,) for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [tuple(a.name.split(".")) for a in node.names]
            else:
                continue
            for t in targets:
                if t[0] == "moai_adk" and len(t) > 1 and t[1] != "__version__" and _unit(t) != source:
                    graph[source][_unit(t)].add(str(path.relative_to(SRC)))
    return graph


def find_cycle(graph: dict[str, dict[str, set[str]]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles_between_packages() -> None:
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle:
        edges = [f"{a} -> {b} in {sorted(graph[a][b])}" for a, b in zip(cycle, cycle[1:], strict=False)]
        raise AssertionError("import cycle: " + " -> ".join(cycle) + "\n" + "\n".join(edges))


def test_the_walk_sees_the_layering() -> None:
    graph = import_graph()
    assert "providers" in graph["deploy"] and "artifacts" in graph["providers"]  # the walk finds real edges
    assert "deploy" not in graph["providers"] and "cli" not in graph["workspace"]
    assert "config" not in graph["providers"]  # adapters get their settings from the caller, never read moai.toml


def test_a_cycle_is_reported() -> None:
    assert find_cycle({"a": {"b": {"x"}}, "b": {"c": {"y"}}, "c": {"a": {"z"}}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": {"x"}}, "b": {}}) is None
