"""The package's shape: no import circle between modules (top-level imports; an import inside
a function is lazy by design), and layers import only the layers above them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cimspice"
# circuits -> spice -> characterize -> surrogate -> sim -> studies: what each may not import
FORBIDDEN = {"spice": ("characterize", "surrogate", "sim", "studies"),
             "circuits": ("characterize", "surrogate", "sim", "studies"),
             "characterize": ("surrogate", "sim", "studies"),
             "surrogate": ("sim", "studies", "spice", "circuits"),
             "sim": ("studies", "spice", "circuits", "characterize")}


def module_graph() -> dict[str, set[str]]:
    """Module -> the cimspice modules its top-level imports load."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                subs = {f"{target}.{a.name}" for a in node.names} & set(modules)
                edges |= subs | ({target} if len(subs) < len(node.names) and target in modules else set())
            elif isinstance(node, ast.Import):
                edges |= {a.name for a in node.names} & set(modules)
        graph[name] = edges - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
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
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle():
    assert cycles(module_graph()) == []


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layers_import_only_the_layers_above():
    wrong = [(name, target) for name, edges in module_graph().items() for target in edges
             if name.count(".") >= 1 and any(target.startswith(f"cimspice.{other}")
                                             for other in FORBIDDEN.get(name.split(".")[1], ()))]
    assert wrong == []
