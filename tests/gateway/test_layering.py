"""The gateway package's import graph: request paths import downwards, never each other in a ring.

Read from the sources with :mod:`ast` (``TYPE_CHECKING`` imports included, since mypyc compiles
against them too), so the test sees what a reader sees, not what happened to be imported first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gateway

PACKAGE = Path(gateway.__file__).resolve().parent

#: Import cycles that are deliberate: none. (``Request.conn`` is typed as the native base
#: ``gateway.request.ClientConnection``, so the request needs no import of the connection.)
ALLOWED_CYCLES: list[frozenset[str]] = []


def imports_of(path: Path) -> set[str]:
    """The ``gateway`` modules (top level of the package) that a source file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(name.split(".")[1] for name in names if name.startswith("gateway."))
    return found


def graph() -> dict[str, set[str]]:
    """Module name → the package's modules it imports."""
    modules = {path.stem: path for path in PACKAGE.glob("*.py")}
    return {name: imports_of(path) & modules.keys() for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_a_ring() -> None:
    """The cycle finder reports a three-module ring and nothing for a chain."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_gateway_has_no_import_cycle_but_the_allowed_ones() -> None:
    """No module of the gateway package is in an import cycle other than the documented ones."""
    assert sorted(map(sorted, cycles(graph()))) == sorted(map(sorted, ALLOWED_CYCLES))


def test_request_paths_import_downwards() -> None:
    """The fast path, the task path and the WebSocket relay never import the proxy or each other
    upwards, and the upstream client imports none of them."""
    edges = graph()
    assert not edges["upstream"] & {"proxy", "fastpath", "forward", "websocket", "exchange"}
    assert not edges["exchange"] & {"proxy", "fastpath", "forward", "websocket"}
    assert not edges["forward"] & {"proxy", "fastpath", "websocket"}
    assert not edges["fastpath"] & {"proxy", "websocket"}
    assert not edges["websocket"] & {"proxy", "fastpath"}


#: The server layer, bottom to top: each imports only modules before it (``http`` is the facade).
SERVER_LAYER = ("client_limits", "request", "request_cycle", "connection", "listener", "http")


def test_server_layer_imports_downwards() -> None:
    """The request, its cycle, the connection and the listener import downwards only: the
    connection reaches its listener through a Protocol, the request its connection through a
    native base class it declares."""
    edges = graph()
    for position, name in enumerate(SERVER_LAYER):
        assert not edges[name] & set(SERVER_LAYER[position:]), name


def test_no_module_imports_another_modules_private_name() -> None:
    """No gateway module imports a ``_private`` name from another one."""
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gateway"):
                offenders += [
                    f"{path.stem}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    assert offenders == []


def test_no_module_calls_another_modules_private_method() -> None:
    """The request paths reach each other only through public names (no ``obj._private(...)``)."""
    offenders = []
    paths = ("exchange", "fastpath", "forward", "proxy", "websocket")
    for name in (*paths, *SERVER_LAYER):
        tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id == "self")
            ):
                offenders.append(f"{name}: {ast.unparse(node)}")
    assert offenders == []
