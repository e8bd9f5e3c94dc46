"""`cutover backend`, `cutover up` and `cutover demo`: commands that run the stack."""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_PORTS = {"fastapi": 8001, "custom": 8002}


def _run_backend(args: argparse.Namespace) -> int:
    port = args.port if args.port is not None else DEFAULT_PORTS[args.stack]
    if args.stack == "fastapi":
        from fastapi_backend.server import run
    else:
        from custom_backend.server import run
    run(host=args.host, port=port)
    return 0


def register(subparsers: Any) -> None:
    """Add the stack commands to the `cutover` parser."""
    backend = subparsers.add_parser(
        "backend",
        help="run one llmstruct backend (settings from LLMSTRUCT_* variables)",
        description="Run the FastAPI (baseline, port 8001) or custom (candidate, port 8002) backend.",
    )
    backend.add_argument("stack", choices=sorted(DEFAULT_PORTS), help="which implementation")
    backend.add_argument("--port", type=int, default=None, help="listen port (default 8001/8002)")
    backend.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    backend.set_defaults(func=_run_backend)
