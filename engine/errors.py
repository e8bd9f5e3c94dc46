"""The engine's error hierarchy, the one thing every caller (CLI, both backends) maps to a status.

``InvalidInput`` and ``PathOutsideRoot`` are the caller's fault (HTTP 400 / CLI exit 2),
``NotFound`` is a missing task (404 / exit 3) and a bare ``EngineError`` is an internal
failure (500 or 502 / exit 1).
"""

from __future__ import annotations


class EngineError(Exception):
    """An internal failure of the engine (the base of every engine error)."""

    kind = "internal"

    @property
    def message(self) -> str:
        """The human-readable message, as given to the constructor."""
        return str(self.args[0]) if self.args else self.__class__.__name__


class InvalidInput(EngineError):
    """The caller passed a value the engine refuses (bad mode, bad field, missing path, ...)."""

    kind = "invalid_input"


class PathOutsideRoot(InvalidInput):
    """A requested path is absolute, escapes the root with ``..`` or resolves outside it."""

    kind = "path_outside_root"

    def __init__(self, path: str) -> None:
        super().__init__(f"Path is outside the project root: {path}")
        self.path = path


class NotFound(EngineError):
    """The requested task does not exist."""

    kind = "not_found"

    def __init__(self, message: str = "Task not found") -> None:
        super().__init__(message)
