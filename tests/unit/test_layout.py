"""The shared layer's shape: no import cycles between its modules, nor between its contexts.

Every import counts, the ones inside functions included: a cycle hidden behind a function-level
import still ties two modules together (and fails the day someone moves the import up).
"""

import ast
from pathlib import Path

from helpers import ROOT

PACKAGE_ROOT = ROOT / "layers" / "shared"
CONTEXTS = ("accounts", "meters", "market", "dr", "audit", "simulators", "edge", "iota")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_modules() -> dict[str, Path]:
    return {module_name(p): p for p in (PACKAGE_ROOT / "etp").rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The etp modules a file imports, anywhere in it; `from etp.x import y` names module etp.x.y if it is one."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "etp"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "etp":
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = layer_modules()
    known = set(modules)
    return {name: imports_of(path, known) & known - {name} for name, path in modules.items()}


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that comes back to its start, or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def context_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in CONTEXTS else "kernel"


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree():
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_function_level_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from etp.market import bids\n    import etp.clock\n")
    assert imports_of(source, {"etp.market.bids", "etp.clock"}) == {"etp.market.bids", "etp.clock"}


def test_the_layer_is_split_into_its_contexts():
    top_level = {p.name for p in (PACKAGE_ROOT / "etp").iterdir() if p.suffix == ".py" or p.is_dir()}
    assert set(CONTEXTS) <= top_level
    # what every context may use (retention: how long each context's expiring items are kept; numbers:
    # the amounts every context parses; io_pool: batches sent from a bounded pool of threads)
    kernel = {"__init__.py", "clock.py", "dynamo.py", "io_pool.py", "numbers.py", "retention.py", "settings.py"}
    assert {name for name in top_level if name.endswith(".py")} <= kernel


def test_no_module_imports_itself_back():
    assert cycle_in(import_graph()) is None


def test_contexts_depend_one_way():
    graph: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        graph.setdefault(context_of(module), set()).update(context_of(t) for t in targets)
    assert cycle_in({context: targets - {context} for context, targets in graph.items()}) is None
