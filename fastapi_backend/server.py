"""Serve the legacy app with uvicorn (httptools + uvloop): what ``cutover backend fastapi`` runs.

uvicorn's access log is off because ``AccessLogMiddleware`` already writes one structlog line per
request; logs are JSON lines unless stderr is a terminal.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import structlog
import uvicorn

from fastapi_backend.app import create_app

if TYPE_CHECKING:
    from engine.settings import LlmstructSettings


def configure_logging(level: str, json_lines: bool | None = None) -> None:
    """structlog to stderr: readable in a terminal, else JSON lines (design.md, "Conventions")."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),  # one write() per line
        cache_logger_on_first_use=True,
    )


def run(
    host: str = "127.0.0.1", port: int = 8001, settings: LlmstructSettings | None = None
) -> None:
    """Serve ``create_app(settings)`` until interrupted (settings default to the environment)."""
    if settings is None:
        from engine.settings import load_settings

        settings = load_settings()
    configure_logging(settings.log_level)
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        http="httptools",
        loop="uvloop",
        ws="websockets-sansio",
        access_log=False,
        log_level=settings.log_level.lower(),
        lifespan="on",
    )
    uvicorn.Server(config).run()
