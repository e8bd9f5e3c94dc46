"""Serve the custom backend with uvicorn on uvloop + httptools (``python -m custom_backend``).

Chosen over granian by measurement (``python -m bench.backends --backends custom custom-granian``,
same machine, interleaved): granian answered the cached endpoints 12-25 % faster (list 8.5k vs
7.6k req/s, get 9.1k vs 7.3k) and the engine-bound ones alike (project info 3.0k both), but it
runs a supervisor plus a worker process, 75 MiB resident against uvicorn's 39 MiB — and memory is
half of why this stack exists. uvicorn is also already a dependency and speaks the ASGI WebSocket
protocol the app implements. Access lines are the app's own (``custom_backend.logs``, DEBUG only),
so uvicorn's access log is off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uvicorn.config import Config
from uvicorn.server import Server

from custom_backend import logs
from custom_backend.app import create_app

if TYPE_CHECKING:
    from custom_backend.settings import BackendSettings


def configure_logging(level: str, json_lines: bool | None = None) -> None:
    """Log lines to stderr: readable in a terminal, else JSON lines (design.md, "Conventions")."""
    logs.configure(level, json_lines=json_lines)


def run(
    host: str = "127.0.0.1",
    port: int = 8002,
    settings: BackendSettings | None = None,
    *,
    cache: bool = True,
) -> None:
    """Serve ``create_app(settings)`` until interrupted (default: the ``LLMSTRUCT_*`` env)."""
    if settings is None:
        from custom_backend.settings import load_settings

        settings = load_settings()
    configure_logging(settings.log_level)
    config = Config(
        create_app(settings, cache=cache),
        host=host,
        port=port,
        http="httptools",
        loop="uvloop",
        ws="websockets-sansio",
        access_log=False,
        log_level=settings.log_level.lower(),
        lifespan="on",
        server_header=False,
    )
    Server(config).run()
