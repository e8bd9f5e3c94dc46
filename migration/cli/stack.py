"""`cutover backend`, `cutover gateway`, `cutover up` and `cutover demo`: commands that run the stack."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

DEFAULT_PORTS = {"fastapi": 8001, "custom": 8002}


def _run_backend(args: argparse.Namespace) -> int:
    port = args.port if args.port is not None else DEFAULT_PORTS[args.stack]
    if args.stack == "fastapi":
        from fastapi_backend import server
    else:
        from custom_backend import server  # type: ignore[no-redef]
    server.run(host=args.host, port=port)
    return 0


async def _until_signalled() -> None:
    """Wait for SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _run_gateway(args: argparse.Namespace) -> int:
    """The gateway with shadowing, live contract checks and the migration controller.

    With more than one worker (``--workers`` or the config's ``workers``) this process becomes the
    supervisor of that many data-plane processes (:mod:`migration.workers`).
    """
    import uvloop

    from gateway.commands import configure_logging
    from gateway.config import ConfigError, load_config, resolve_workers
    from migration.runtime import CutoverRuntime

    try:
        config = load_config(args.config)
        workers = config.workers
        if args.workers is not None:
            workers = resolve_workers(args.workers, "--workers")
        if workers > 1:
            from migration.workers import run_workers

            return run_workers(args.config, config, workers, log_format=args.log_format)
        runtime = CutoverRuntime(config)
    except ConfigError as exc:
        print(f"cutover gateway: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.log_format)

    async def main() -> None:
        await runtime.start()
        try:
            await _until_signalled()
        finally:
            await runtime.stop()

    try:
        uvloop.run(main())
    except OSError as exc:
        print(f"cutover gateway: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


def _up_config(args: argparse.Namespace, token: str) -> Any:
    from gateway.config import build_config, parse_config
    from migration.runtime import embedded_config_data

    if args.config:
        return parse_config(Path(args.config).read_text("utf-8"), args.config)
    data = embedded_config_data(
        baseline_port=args.baseline_port,
        candidate_port=args.candidate_port,
        public_port=args.port,
        admin_port=args.admin_port,
        admin_token=token,
        state_dir=Path(args.state_dir),
    )
    return build_config(data, "embedded default")


def _run_up(args: argparse.Namespace) -> int:
    """Both backends as child processes, the gateway runtime in this process, until Ctrl-C."""
    import uvloop

    from gateway.commands import configure_logging
    from gateway.config import ConfigError
    from migration.cli.processes import BackendFailedError, BackendProcesses, BackendSpec
    from migration.runtime import CutoverRuntime

    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    token = os.environ.get("CUTOVER_ADMIN_TOKEN") or secrets.token_urlsafe(24)
    try:
        config = _up_config(args, token)
        runtime = CutoverRuntime(config)
    except (ConfigError, OSError) as exc:
        print(f"cutover up: {exc}", file=sys.stderr)
        return 2
    env = {"LLMSTRUCT_DATABASE": os.environ.get("LLMSTRUCT_DATABASE")
           or str(state_dir / "llmstruct.db")}  # fmt: skip
    backends = BackendProcesses(
        [
            BackendSpec("fastapi", "127.0.0.1", config.baseline.port, env),
            BackendSpec("custom", "127.0.0.1", config.candidate.port, env),
        ],
        log_dir=state_dir / "logs",
    )
    configure_logging(args.log_format)

    async def main() -> None:
        await runtime.start()
        gw = runtime.gateway
        print(
            f"cutover is up\n"
            f"  gateway     http://127.0.0.1:{gw.public_port}   (send the llmstruct API here)\n"
            f"  admin       http://127.0.0.1:{gw.admin_port}   (/status /metrics /shadow /migration)\n"
            f"  baseline    {config.baseline.url}   (fastapi_backend)\n"
            f"  candidate   {config.candidate.url}   (custom_backend)\n"
            f"  admin token {token}\n"
            f"  state       {state_dir}\n"
            f"export CUTOVER_ADMIN_URL=http://127.0.0.1:{gw.admin_port} CUTOVER_ADMIN_TOKEN={token}\n"
            f"Ctrl-C stops everything.",
            flush=True,
        )
        try:
            await _until_signalled()
        finally:
            await runtime.stop()

    backends.start()
    try:
        backends.wait_healthy(timeout=60.0)
        uvloop.run(main())
    except BackendFailedError as exc:
        print(f"cutover up: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cutover up: cannot listen: {exc}", file=sys.stderr)
        return 1
    finally:
        backends.stop()
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from migration.demo import DemoOptions, main

    options = DemoOptions(
        regression=args.regression,
        rps=args.rps,
        steps=args.steps,
        hold=args.hold,
        min_requests=args.min_requests,
        max_seconds=args.max_seconds,
        state_dir=Path(args.state_dir) if args.state_dir else None,
        live=not args.no_live,
    )
    with contextlib.suppress(KeyboardInterrupt):
        return main(options)
    return 130


def register(subparsers: Any) -> None:
    """Add the stack commands to the `cutover` parser."""
    from gateway.commands import add_gateway_parser

    backend = subparsers.add_parser(
        "backend",
        help="run one llmstruct backend (settings from LLMSTRUCT_* variables)",
        description="Run the FastAPI (baseline, port 8001) or custom (candidate, port 8002) backend.",
    )
    backend.add_argument("stack", choices=sorted(DEFAULT_PORTS), help="which implementation")
    backend.add_argument("--port", type=int, default=None, help="listen port (default 8001/8002)")
    backend.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    backend.set_defaults(func=_run_backend)

    gateway = add_gateway_parser(subparsers, _run_gateway)
    gateway.add_argument(
        "--workers",
        default=None,
        metavar="N|auto",
        help="data-plane processes on the public port (SO_REUSEPORT) under one supervisor that "
        "runs the admin API and the controller; auto = the CPUs this process may use "
        "(default: the config's workers, 1)",
    )

    up = subparsers.add_parser(
        "up",
        help="run both backends and the gateway on the embedded defaults",
        description="Start fastapi_backend, custom_backend and the gateway (with shadowing and "
        "the migration controller), wait until healthy, print the URLs and the admin token.",
    )
    up.add_argument("--config", default=None, help="gateway YAML (default: the embedded one)")
    up.add_argument("--port", type=int, default=8080, help="gateway public port")
    up.add_argument("--admin-port", type=int, default=8081, help="gateway admin port")
    up.add_argument("--baseline-port", type=int, default=8001)
    up.add_argument("--candidate-port", type=int, default=8002)
    up.add_argument("--state-dir", default=".cutover", help="SQLite files and logs")
    up.add_argument("--log-format", choices=["auto", "json", "console"], default="auto")
    up.set_defaults(func=_run_up)

    demo = subparsers.add_parser(
        "demo",
        help="the whole stack with synthetic traffic and a live ramp shadow → 10 → 50 → 100",
        description="Start everything on free loopback ports, drive bounded traffic, ramp the "
        "candidate and show the live view; --regression injects a candidate latency fault at the "
        "50 %% step and shows the automatic rollback. Ends with the events and the report.",
    )
    demo.add_argument("--regression", action="store_true", help="inject a regression mid-ramp")
    demo.add_argument("--rps", type=float, default=150.0, help="offered load (requests/s)")
    demo.add_argument("--steps", default="shadow,10,50,100", help="ramp steps (percent)")
    demo.add_argument("--hold", default="6s", help="minimum hold per step")
    demo.add_argument("--min-requests", type=int, default=150, help="candidate requests per step")
    demo.add_argument("--max-seconds", type=float, default=150.0, help="give up after this long")
    demo.add_argument("--state-dir", default=None, help="where to keep state (default: a temp dir)")
    demo.add_argument("--no-live", action="store_true", help="no live view (for logs and CI)")
    demo.set_defaults(func=_run_demo)
