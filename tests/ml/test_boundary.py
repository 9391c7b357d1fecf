import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import ml

ROOT = Path(__file__).resolve().parents[2]


def test_ml_imports_with_django_unimportable():
    modules = [f"ml.{m.name}" for m in pkgutil.iter_modules(ml.__path__)]
    code = "import sys; sys.modules['django'] = None\n" + "\n".join(f"import {m}" for m in modules)
    code += "\nassert 'django' not in {k.split('.')[0] for k, v in sys.modules.items() if v is not None}"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(modules) >= 4


def ml_imports() -> dict[str, set[str]]:
    """Which ml modules each ml module imports, at module level or inside a function (read with ast)."""
    modules = {m.name for m in pkgutil.iter_modules(ml.__path__)}
    graph = {}
    for name in modules:
        tree = ast.parse((ROOT / "ml" / f"{name}.py").read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level == 1 or (node.module or "").split(".")[0] == "ml"):
                parts = (node.module or "").split(".")[0 if node.level else 1:]
                found |= {parts[0]} if parts and parts[0] else {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("ml.")}
        graph[name] = (found & modules) - {name}
    return graph


def test_ml_has_no_import_circles():
    graph = ml_imports()

    def reachable(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        return seen

    circles = sorted(m for m in graph if m in reachable(m))
    assert circles == [], f"modules on an import circle: {circles}"
