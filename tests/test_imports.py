"""No import circles (DESIGN.md, "Layering"): the import graph of `swap_core/` and `ui/` is acyclic.

The graph is read from the source with `ast`, so it sees every import, not only those a test
run happens to execute: module-level and function-level `import` / `from ... import`
statements (relative ones resolved), and `importlib.import_module` calls. An edge goes from the
importing module to the deepest project module the statement names (`from pkg import name` is
an edge to `pkg.name` when that is a module, else to `pkg`); the parent packages Python runs
on the way are not edges, or every package `__init__` that imports a submodule would be a cycle.

A registry `__init__` that loads its submodules with `importlib.import_module(f"{__name__}.{m}")`
has an edge to each of its submodules (which ones depends on data, so all of them), and so
is a cycle as soon as a submodule imports the `__init__` back (e.g. for the registering
decorator): the decorator belongs in a module of its own (`spaces/registry.py`).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("swap_core", "ui")
# Registries whose lazy `importlib` loading of their own submodules is not (yet) counted as edges.
# swap_core/proxies: `proxy` and `_PROXIES` still live in proxies/__init__.py, which proxies/swap.py
# (and every other proxy module) imports back; drop the exemption once they move to proxies/registry.py.
LAZY_REGISTRY_EXEMPT = {"swap_core.proxies"}


def project_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of PACKAGES (a package is its `__init__.py`)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _deepest_module(dotted: str, modules: dict[str, Path]) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _from_base(name: str, node: ast.ImportFrom, modules: dict[str, Path]) -> str:
    """The absolute module a `from ... import` statement in module `name` imports from."""
    if not node.level:
        return node.module or ""
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _is_import_module_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module" and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "importlib" and bool(node.args))


def _dynamic_targets(name: str, argument: ast.expr, modules: dict[str, Path]) -> Iterator[str]:
    """Modules an `importlib.import_module(argument)` in `name` may load."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        target = _deepest_module(argument.value, modules)
        if target:
            yield target
    elif (isinstance(argument, ast.JoinedStr) and argument.values
          and isinstance(argument.values[0], ast.FormattedValue)
          and isinstance(argument.values[0].value, ast.Name) and argument.values[0].value.id == "__name__"
          and _is_package(name, modules) and name not in LAZY_REGISTRY_EXEMPT):
        yield from (m for m in modules if m.rpartition(".")[0] == name)  # a registry loading its modules


def imports_of(name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules that module `name` imports, anywhere in its source."""
    tree = ast.parse(modules[name].read_text(encoding="utf-8"), filename=str(modules[name]))
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(filter(None, (_deepest_module(a.name, modules) for a in node.names)))
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(name, node, modules)
            for alias in node.names:
                target = _deepest_module(f"{base}.{alias.name}", modules) or _deepest_module(base, modules)
                if target:
                    targets.add(target)
        elif _is_import_module_call(node):
            targets.update(_dynamic_targets(name, node.args[0], modules))
    targets.discard(name)
    return targets


def import_graph() -> nx.DiGraph:
    modules = project_modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name in modules:
        graph.add_edges_from((name, target) for target in imports_of(name, modules))
    return graph


def describe_cycles(graph: nx.DiGraph) -> list[str]:
    """One line per import circle: the modules of each strongly connected component of size > 1,
    and one concrete cycle through them."""
    lines = []
    for component in sorted((sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)):
        cycle = [edge[0] for edge in nx.find_cycle(graph.subgraph(component))]
        lines.append(f"{{{', '.join(component)}}}: {' -> '.join(cycle + cycle[:1])}")
    return lines


def test_the_graph_sees_relative_function_level_and_lazy_imports():
    graph = import_graph()
    assert graph.has_edge("swap_core.spaces.nb201", "swap_core.spaces.base")  # `from .base import ...`
    assert graph.has_edge("swap_core.cli", "swap_core.spaces")  # `from .spaces import get_space`
    assert graph.has_edge("swap_core.spaces", "swap_core.spaces.nb201")  # importlib, lazy registry
    assert graph.has_edge("swap_core.cli", "swap_core.bench")  # inside cmd_bench
    assert any(target.startswith("swap_core.") for target in graph.successors("ui.settings"))


def test_no_import_circles():
    cycles = describe_cycles(import_graph())
    assert not cycles, "import circles (strongly connected components):\n" + "\n".join(cycles)


def test_swap_core_never_imports_the_app_or_streamlit():
    graph = import_graph()
    leaks = [(a, b) for a, b in graph.edges if a.startswith("swap_core") and not b.startswith("swap_core")]
    assert not leaks, f"swap_core imports the app's modules: {leaks}"
    for name, path in project_modules().items():
        if name.startswith("swap_core"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                           else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                assert not any(m.split(".")[0] == "streamlit" for m in modules), f"{name} imports Streamlit"
