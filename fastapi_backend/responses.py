"""The documented error responses of each operation, for the OpenAPI document.

The contract validator treats a status that an operation does not document as a violation, so every
error an operation can really answer is listed here with the ``{"detail": ...}`` model and an
example taken from API.md's error table. 422 is FastAPI's own ``HTTPValidationError``, which it adds
by itself to every operation with parameters or a body.
"""

from __future__ import annotations

from typing import Any

from fastapi_backend.models import ErrorDetail

_ERRORS: dict[int, tuple[str, str]] = {
    400: (
        "Invalid input, e.g. a path outside the project root, or a body that is not text",
        "Path is outside the project root: ../etc",
    ),
    401: ("Missing or invalid API key", "Missing API key"),
    404: ("Unknown task id", "Task not found"),
    413: ("Request body larger than LLMSTRUCT_MAX_BODY_BYTES", "Request body too large"),
    502: ("The llmstruct CLI failed", "database is locked"),
    504: ("The llmstruct CLI timed out", "CLI call timed out after 30s"),
}

BRIDGE_ERRORS = (502, 504)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: per status its description, ``ErrorDetail``, example."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, example = _ERRORS[status]
        documented[status] = {
            "model": ErrorDetail,
            "description": description,
            "content": {"application/json": {"example": {"detail": example}}},
        }
    return documented
