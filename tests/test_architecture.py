"""The house keeps its shape: no import circles (function-local imports included), a shallow plugin, no imports
hidden at the bottom of a file. The floors and the subsystems' independence are import-linter's contracts
(pyproject.toml, run by `make test`)."""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_PLUGIN_DEPTH = 7  # modules on the longest import chain inside prodimg_plugin (entry point ... conf)


def import_graph(package: str) -> dict[str, set[str]]:
    """module -> the package's modules it imports anywhere in its file (at the top or inside a function)."""
    files = {_module(path): path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts}
    graph = {}
    for name, path in files.items():
        targets = set()
        base = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                parts = base.split(".")
                module = ".".join(parts[: len(parts) - node.level + 1] + [node.module or ""]).strip(".") \
                    if node.level else node.module
                targets |= {module, *(f"{module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        graph[name] = {t for t in targets if t in files and t != name and not name.startswith(t + ".")}
    return graph


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("package", ["prodimg_plugin", "ml"])
def test_no_import_circles(package):
    assert circles(import_graph(package)) == []


def test_the_plugin_is_at_most_seven_imports_deep():
    graph = import_graph("prodimg_plugin")

    @lru_cache(maxsize=None)
    def depth(module: str) -> int:
        return 1 + max((depth(m) for m in graph[module]), default=0)

    deepest = max(graph, key=depth)
    assert depth(deepest) <= MAX_PLUGIN_DEPTH, f"{deepest} starts a chain of {depth(deepest)} modules"


def test_circles_are_found_when_there_are_some():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", ["prodimg_plugin", "ml"])
def test_no_imports_hidden_at_the_bottom_of_a_file(package):
    hidden = [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py") if "noqa: E402" in p.read_text()]
    assert hidden == []
