"""The llmstruct core engine: project scanner, context builder, task store and CLI. No HTTP here.

``Engine`` and ``LlmstructSettings`` are loaded lazily (PEP 562) so that ``python -m
engine.cli``, spawned per request by the legacy backend, does not pay for pydantic-settings when
it only needs the light modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import EngineError, InvalidInput, NotFound, PathOutsideRoot
from engine.version import VERSION

if TYPE_CHECKING:
    from engine.facade import Engine
    from engine.settings import LlmstructSettings

__all__ = [
    "VERSION",
    "Engine",
    "EngineError",
    "InvalidInput",
    "LlmstructSettings",
    "NotFound",
    "PathOutsideRoot",
]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from engine.facade import Engine

        return Engine
    if name == "LlmstructSettings":
        from engine.settings import LlmstructSettings

        return LlmstructSettings
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
