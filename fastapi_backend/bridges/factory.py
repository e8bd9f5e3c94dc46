"""Which bridge a service gets: ``settings.bridge_mode`` (``cli``, default, or ``inprocess``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi_backend.bridges.cli import CLIBridge
from fastapi_backend.bridges.inprocess import InProcessBridge
from fastapi_backend.bridges.protocol import Bridge

if TYPE_CHECKING:
    from engine.settings import LlmstructSettings


def make_bridge(settings: LlmstructSettings) -> Bridge:
    """The bridge ``settings.bridge_mode`` asks for; neither constructor does I/O."""
    if settings.bridge_mode == "inprocess":
        return InProcessBridge(settings)
    return CLIBridge(settings)
