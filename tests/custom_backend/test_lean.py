"""The server process's imports: what ``python -m custom_backend`` must not load (resident memory).

The uvicorn step depends on uvicorn's internals, so a failure here names pyproject's uvicorn pin: an
upgrade that breaks them is read against ``custom_backend.lean`` before the pin moves.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from custom_backend.lean import UVICORN_PACKAGE_NAMES

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# uvicorn's CLI: the modules ``keep_unused_imports_out`` keeps from running,
# so free to use the package.
UVICORN_CLI = ("__init__.py", "__main__.py", "main.py")

# Measured costs are in ``custom_backend.lean`` and ``custom_backend.metrics``.
NOT_ON_THE_SERVE_PATH = (
    "structlog",
    "rich",
    "watchfiles",
    "anyio",
    "click",
    "multiprocessing",
    "uvicorn.main",
    "prometheus_client",
    "http.server",
    "wsgiref",
    "fastapi",
    "starlette",
    "pydantic",
    # ``importlib.metadata`` is a stand-in, run on first use: its own modules and what they import.
    "importlib.metadata._meta",
    "zipfile",
    "csv",
    "email.message",
    # ``hashlib`` and ``secrets`` are stand-ins too: OpenSSL's digests and ``hmac`` stay out.
    "_hashlib",
    "hmac",
)

SERVE_PATH = """
import json, sys
from custom_backend.lean import keep_unused_imports_out
keep_unused_imports_out()
from uvicorn.config import Config
from custom_backend.server import configure_logging
from custom_backend.settings import load_settings
from custom_backend.app import create_app
configure_logging("WARNING", json_lines=True)
config = Config(
    create_app(load_settings()), http="httptools", loop="uvloop", ws="websockets-sansio",
    lifespan="on", log_level="warning",
)
config.load()
print(json.dumps(sorted(name for name, module in sys.modules.items() if module is not None)))
"""


def test_serve_path_leaves_unused_modules_out(tmp_path: Path) -> None:
    """The app, uvicorn's server and its protocols load without the CLI, reloaders or exporters."""
    env = {
        "LLMSTRUCT_API_KEY": "k",
        "LLMSTRUCT_PROJECT_ROOT": str(tmp_path),
        "LLMSTRUCT_DATABASE": f"{tmp_path}/l.db",
        "PATH": "/usr/bin:/bin",
    }
    loaded = set(json.loads(run_python(SERVE_PATH, env=env)))
    assert {
        "uvicorn.server",
        "uvicorn.protocols.http.httptools_impl",
        "custom_backend.app",
    } <= loaded
    assert sorted(loaded.intersection(NOT_ON_THE_SERVE_PATH)) == []


def test_uvicorn_already_imported_is_left_alone() -> None:
    """In a process that imported uvicorn (tests, the cutover CLI) the package keeps its CLI."""
    code = (
        "import uvicorn; from custom_backend.lean import keep_unused_imports_out; "
        "keep_unused_imports_out(); print(callable(uvicorn.run))"
    )
    assert run_python(code).strip() == "True"


def test_websockets_handshake_helpers_load_the_deferred_modules() -> None:
    """The accept key (RFC 6455, section 1.3's example) and a client key work behind stand-ins."""
    code = """
import sys
from custom_backend.lean import keep_unused_imports_out
keep_unused_imports_out()
from websockets.utils import accept_key, generate_key
assert "_hashlib" not in sys.modules
print(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), len(generate_key()))
"""
    assert run_python(code).split() == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "24"]


def test_a_deferred_module_runs_on_first_use() -> None:
    """``import importlib.metadata`` binds the stand-in; its first attribute imports the module."""
    code = """
import sys
from custom_backend.lean import keep_unused_imports_out
keep_unused_imports_out()
import importlib.metadata
from importlib import metadata as held
assert "importlib.metadata._meta" not in sys.modules
assert held.version("pytest") == importlib.metadata.version("pytest")
from importlib.metadata import version
assert sys.modules["importlib.metadata"] is importlib.metadata is not held
assert "importlib.metadata._meta" in sys.modules
print(version("pytest"))
"""
    assert run_python(code).strip()


def test_installed_uvicorn_is_the_pinned_release() -> None:
    """The installed uvicorn is inside pyproject's pin, the range lean.py was checked against."""
    pin = uvicorn_pin()
    installed = importlib.metadata.version("uvicorn")
    assert pin.specifier.contains(installed), (
        f"uvicorn {installed} is installed, outside pyproject.toml's pin {pin}: "
        "check custom_backend/lean.py against it (this file's tests), then move the pin"
    )


def test_uvicorn_modules_take_only_what_lean_registers_from_the_package() -> None:
    """Outside its CLI, uvicorn's modules take from ``uvicorn`` only the names lean.py sets."""
    taken = names_taken_from_uvicorn()
    registered = set(UVICORN_PACKAGE_NAMES)
    extra = {module: names - registered for module, names in taken.items() if names - registered}
    version = importlib.metadata.version("uvicorn")
    assert not extra, (
        f"uvicorn {version}'s modules import {extra} from the package uvicorn, which "
        f"custom_backend.lean registers with {sorted(registered)} only: update "
        f"UVICORN_PACKAGE_NAMES and pyproject.toml's pin {uvicorn_pin()} together"
    )
    assert "Config" in set().union(*taken.values())  # the lifespan modules': the scan sees imports


def uvicorn_pin() -> Requirement:
    """pyproject.toml's uvicorn requirement (``uvicorn[standard]>=...,<...``)."""
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return next(Requirement(d) for d in dependencies if Requirement(d).name == "uvicorn")


def names_taken_from_uvicorn() -> dict[str, set[str]]:
    """Per uvicorn module outside its CLI: the names it reads from the package ``uvicorn``."""
    spec = importlib.util.find_spec("uvicorn")
    assert spec is not None
    assert spec.origin is not None
    root = Path(spec.origin).parent
    taken: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        module = path.relative_to(root.parent).as_posix()
        if path.parent == root and path.name in UVICORN_CLI:
            continue
        package = path.parent.relative_to(root.parent).parts  # what ``from .`` means here
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and imported_from(node, package) == "uvicorn":
                taken.setdefault(module, set()).update(alias.name for alias in node.names)
            elif isinstance(node, ast.Attribute) and ast.unparse(node.value) == "uvicorn":
                taken.setdefault(module, set()).add(
                    node.attr
                )  # ``import uvicorn``, ``uvicorn.run``
    return taken


def imported_from(node: ast.ImportFrom, package: tuple[str, ...]) -> str:
    """The module ``from ... import`` reads: ``from .. import X`` in uvicorn/lifespan is uvicorn."""
    if not node.level:
        return node.module or ""
    base = package[: len(package) - node.level + 1]
    return ".".join((*base, node.module) if node.module else base)


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a fresh interpreter; a failure shows its stderr and names the uvicorn pin."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        pytest.fail(
            f"exit {done.returncode}; if uvicorn's internals changed, pyproject.toml pins "
            f"{uvicorn_pin()} (uvicorn {importlib.metadata.version('uvicorn')} is installed):\n"
            f"{done.stderr}"
        )
    return done.stdout
