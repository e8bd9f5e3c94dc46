"""The machine-readable contract: the OpenAPI document exported from the FastAPI app.

The legacy app is the source of truth (API.md): ``openapi_document()`` builds it from
``create_app()``, and ``contracts/openapi.json`` is the checked-in copy that the candidate, the
gateway's live validation and the contract checker read. ``write_openapi`` writes it
deterministically (sorted keys, two-space indent, final newline) so a regenerated file only differs
when the contract does; ``drift`` tells whether the app and the copy disagree (a test fails on
drift, ``cutover contracts export`` fixes it).
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the legacy app (no I/O: the app is built but never started)."""
    from engine.settings import LlmstructSettings
    from fastapi_backend.app import create_app

    # Explicit defaults: the document must not depend on LLMSTRUCT_* in the exporting shell.
    settings = LlmstructSettings(bridge_mode="subprocess")
    return create_app(settings).openapi()


def render(document: dict[str, Any]) -> str:
    """A document's canonical text: sorted keys, two-space indent, UTF-8 as is, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_openapi(path: Path = OPENAPI_PATH) -> Path:
    """Write the app's document to ``path`` (``contracts/openapi.json``); return the path."""
    path.write_text(render(openapi_document()), encoding="utf-8")
    return path


def load_openapi(path: Path = OPENAPI_PATH) -> dict[str, Any]:
    """Read a checked-in document."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def drift_diff(path: Path = OPENAPI_PATH) -> list[str]:
    """Unified diff from the checked-in copy to the app's document; empty when they agree."""
    current = render(openapi_document()).splitlines(keepends=True)
    stored = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    return list(
        difflib.unified_diff(stored, current, fromfile=str(path), tofile="create_app().openapi()")
    )


def drift(path: Path = OPENAPI_PATH) -> bool:
    """Whether the checked-in document differs from what the app serves now."""
    return bool(drift_diff(path))
