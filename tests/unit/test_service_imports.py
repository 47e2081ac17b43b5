"""The services import in one direction: each alone, no cycle, no import hidden in a function."""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVICES = PROJECT_ROOT / "app" / "services"
PACKAGE = "app.services"
# The records that own runs: the run lifecycle must not reach them.
RUN_OWNERS = {f"{PACKAGE}.{name}" for name in ("benchmarks", "join_requests", "benchmark_outcomes")}


def service_modules() -> list[str]:
    return sorted(
        f"{PACKAGE}.{path.stem}" for path in SERVICES.glob("*.py") if path.stem != "__init__"
    )


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """Each module an import statement names, and whether it sits inside a function.

    Imports under `if TYPE_CHECKING:` are for type checkers only and are left out.
    """
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, in_function)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, in_function))
            # `from app.services import runs` names the module runs.
            found.extend((f"{node.module}.{alias.name}", in_function) for alias in node.names)
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return found


def import_graph() -> dict[str, dict[str, bool]]:
    """Which service modules each service module imports, with whether inside a function."""
    modules = set(service_modules())
    graph: dict[str, dict[str, bool]] = {}
    for module in modules:
        path = SERVICES / f"{module.rsplit('.', 1)[1]}.py"
        edges: dict[str, bool] = {}
        for name, in_function in _imports(ast.parse(path.read_text(), str(path))):
            if name in modules and name != module:
                edges[name] = edges.get(name, False) or in_function
        graph[module] = edges
    return graph


def find_cycle(graph: dict[str, dict[str, bool]]) -> list[str] | None:
    """One import cycle of the graph, as the modules around it, or None."""
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return path[path.index(module) :] + [module]
        if module in done:
            return None
        for target in sorted(graph.get(module, {})):
            cycle = walk(target, [*path, module])
            if cycle:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = walk(module, [])
        if cycle:
            return cycle
    return None


def reachable(graph: dict[str, dict[str, bool]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_cycle_finder_finds_a_cycle_of_three():
    graph = {"a": {"b": False}, "b": {"c": True}, "c": {"a": False}, "d": {"a": False}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": False}, "b": {}}) is None


def test_imports_inside_functions_and_type_checking_blocks_are_told_apart():
    source = (
        "from typing import TYPE_CHECKING\nfrom app.services import runs\n"
        "if TYPE_CHECKING:\n    from app.services.mail import x\n"
        "def f():\n    import app.services.queue\n"
    )
    found = _imports(ast.parse(source))
    assert ("app.services.runs", False) in found
    assert ("app.services.queue", True) in found
    assert not any(name.startswith("app.services.mail") for name, _ in found)


def test_the_services_import_one_another_without_a_cycle():
    assert find_cycle(import_graph()) is None


def test_no_service_hides_an_import_of_another_in_a_function():
    lazy = sorted(
        f"{module} -> {target}"
        for module, edges in import_graph().items()
        for target, in_function in edges.items()
        if in_function
    )
    assert lazy == []


def test_the_run_lifecycle_reaches_none_of_the_records_that_own_runs():
    graph = import_graph()
    for module in (f"{PACKAGE}.runs", f"{PACKAGE}.run_outcomes"):
        assert reachable(graph, module) & RUN_OWNERS == set(), module
    # ...while the owners do depend on the run lifecycle, which the check above relies on.
    assert f"{PACKAGE}.runs" in reachable(graph, f"{PACKAGE}.join_requests")


def _import_alone(module: str) -> tuple[str, int, str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return module, done.returncode, done.stderr[-2000:]


@pytest.mark.timeout(240)
def test_each_service_module_imports_alone_in_a_fresh_interpreter():
    modules = service_modules()
    assert f"{PACKAGE}.commit_hooks" in modules and len(modules) > 20
    with ThreadPoolExecutor(max_workers=8) as pool:
        failed = [
            (module, error) for module, code, error in pool.map(_import_alone, modules) if code != 0
        ]
    assert failed == []
