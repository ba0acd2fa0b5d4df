"""No import circles (DESIGN.md, "Layering"): the import graph of `swap_core/` and `ui/` is acyclic.

The graph is read from the source with `ast`, so it sees every import, not only those a test
run happens to execute: module-level and function-level `import` / `from ... import`
statements (relative ones resolved), and `importlib.import_module` calls. An edge goes from the
importing module to the deepest project module the statement names (`from pkg import name` is
an edge to `pkg.name` when that is a module, else to `pkg`); the parent packages Python runs
on the way are not edges, or every package `__init__` that imports a submodule would be a cycle.

A registry that loads its package's modules with `importlib.import_module(f"{__name__}.{m}")`
(or `f"{__package__}.{m}"`) has an edge to each module it may load: those named by the
module-level tuple of strings that `m` loops over, else every module of the package. So it
is a cycle as soon as one of them imports the registry back for the registering decorator:
the decorator belongs in a module the registry's loader is not in (`spaces/registry.py`,
loaded from `spaces/__init__.py`).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("swap_core", "ui")
# Packages whose lazy `importlib` loading of their own modules is not (yet) counted as edges.
# swap_core.proxies: proxies/registry.py loads the proxy modules, which import `proxy` from it;
# drop the exemption once the loading moves to proxies/__init__.py (as in swap_core.spaces).
LAZY_REGISTRY_EXEMPT: set[str] = set()


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


def _string_tuples(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level names bound to a tuple or list of strings, e.g. `_MODULES = ("nb201", ...)`."""
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, (ast.Tuple, ast.List)):
            items = node.value.elts
            if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in items):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(target, ast.Name):
                        found[target.id] = [e.value for e in items]
    return found


def _loop_values(tree: ast.Module) -> dict[str, list[str]]:
    """Loop variable -> the strings it takes, for `for m in NAME` over a module-level string tuple."""
    tuples = _string_tuples(tree)
    return {node.target.id: tuples[node.iter.id] for node in ast.walk(tree)
            if isinstance(node, ast.For) and isinstance(node.target, ast.Name)
            and isinstance(node.iter, ast.Name) and node.iter.id in tuples}


def _dynamic_targets(name: str, argument: ast.expr, tree: ast.Module, modules: dict[str, Path]) -> Iterator[str]:
    """Modules an `importlib.import_module(argument)` in module `name` may load."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        target = _deepest_module(argument.value, modules)
        if target:
            yield target
        return
    parts = argument.values if isinstance(argument, ast.JoinedStr) else []
    head = parts[0].value if parts and isinstance(parts[0], ast.FormattedValue) else None
    if not (isinstance(head, ast.Name) and head.id in ("__name__", "__package__")):
        return
    package = name if head.id == "__name__" or _is_package(name, modules) else name.rpartition(".")[0]
    if package in LAZY_REGISTRY_EXEMPT:
        return
    tail = parts[-1].value if len(parts) == 3 and isinstance(parts[-1], ast.FormattedValue) else None
    values = _loop_values(tree).get(tail.id) if isinstance(tail, ast.Name) else None
    if values is not None:
        yield from filter(None, (_deepest_module(f"{package}.{v}", modules) for v in values))
    else:  # which ones is data: any module of the package
        yield from (m for m in modules if m.rpartition(".")[0] == package)


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
            targets.update(_dynamic_targets(name, node.args[0], tree, modules))
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
