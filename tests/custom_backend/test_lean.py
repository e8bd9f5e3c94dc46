"""The server process's imports: what ``python -m custom_backend`` must not load (resident memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    out = subprocess.run(
        [sys.executable, "-c", SERVE_PATH], env=env, capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_websockets_handshake_helpers_load_the_deferred_modules() -> None:
    """The accept key (RFC 6455, section 1.3's example) and a client key still work behind stand-ins."""
    code = """
import sys
from custom_backend.lean import keep_unused_imports_out
keep_unused_imports_out()
from websockets.utils import accept_key, generate_key
assert "_hashlib" not in sys.modules
print(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), len(generate_key()))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "24"]


def test_a_deferred_module_runs_on_first_use() -> None:
    """``import importlib.metadata`` binds the stand-in; the first attribute imports the real module."""
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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip()
