"""`cutover backend`, `cutover gateway`, `cutover up` and `cutover demo`: commands that run the
stack."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from migration.cli.processes import BackendProcesses

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


TOKEN_FILE = "admin-token"


class AdminTokenError(Exception):
    """The state directory's admin token file cannot be used; ``str()`` says why, naming it."""


def state_admin_token(state_dir: Path) -> str:
    """The admin token of ``cutover up`` in ``state_dir``: the one saved there, else a new one
    saved.

    Issue #15 item 5: a new token on every ``up`` broke every shell that had exported the last one.
    The file is created with ``O_CREAT | O_EXCL`` and mode 0600 in one call, so it is never readable
    by others, not even between creation and the first write; a file someone made readable by
    others since is refused (as ssh refuses such a key) rather than trusted or silently fixed.
    """
    path = state_dir / TOKEN_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _saved_token(path)
    token = secrets.token_urlsafe(24)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return token


def _saved_token(path: Path) -> str:
    try:
        mode = path.stat().st_mode & 0o777
        token = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminTokenError(f"cannot read the admin token {path}: {exc}") from None
    if mode & 0o077:
        raise AdminTokenError(
            f"the admin token {path} is readable by others (mode {mode:04o}): "
            f"chmod 600 it, or delete it for a new one"
        )
    if not token:
        raise AdminTokenError(f"the admin token {path} is empty: delete it for a new one")
    return token


def _backends_api_key() -> str:
    """The API key both llmstruct backends will require (``LLMSTRUCT_API_KEY``, else the
    default)."""
    from engine.settings import LlmstructSettings

    return os.environ.get("LLMSTRUCT_API_KEY") or str(
        LlmstructSettings.model_fields["api_key"].default
    )


def _up_config(args: argparse.Namespace, state_dir: Path) -> Any:
    """The gateway config of ``cutover up``: ``--config`` as given, else the embedded one.

    A ``--config`` file brings its own ``admin_token`` (or ``CUTOVER_ADMIN_TOKEN``); the embedded
    config takes the environment's token, else the one kept in ``state_dir``.
    """
    from gateway.config import build_config, load_config
    from migration.runtime import embedded_config_data

    if args.config:
        return load_config(args.config)  # a missing file: ConfigError naming it
    data = embedded_config_data(
        baseline_port=args.baseline_port,
        candidate_port=args.candidate_port,
        public_port=args.port,
        admin_port=args.admin_port,
        admin_token=os.environ.get("CUTOVER_ADMIN_TOKEN") or state_admin_token(state_dir),
        state_dir=state_dir,
    )
    return build_config(data, "embedded default")


def busy_ports(config: GatewayConfig, flags: bool, in_use: Callable[[str, int], bool]) -> list[str]:
    """What ``cutover up`` would listen on but cannot, one line each naming the port; [] when free.

    Checked before any process starts (issue #15 item 5): a second ``up`` used to report success
    while its backends died on the taken ports and its gateway fronted the first stack's backends.
    ``flags``: name the option that moves each port (not with ``--config``, which sets them).
    """
    wanted = (
        ("baseline backend", "127.0.0.1", config.baseline.port, "--baseline-port"),
        ("candidate backend", "127.0.0.1", config.candidate.port, "--candidate-port"),
        ("gateway", config.public.host, config.public.port, "--port"),
        ("gateway admin", config.admin.host, config.admin.port, "--admin-port"),
    )
    return [
        f"port {port} ({what}, {host or '*'}) is already in use"
        + (f": stop what holds it, or pick another with {flag}" if flags else "")
        for what, host, port, flag in wanted
        if in_use(host, port)
    ]


async def _until_signalled_or_exited(backends: BackendProcesses) -> str | None:
    """Wait for SIGINT/SIGTERM (``None``) or for a backend to exit (what it said)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        if dead := backends.exited():
            return "; ".join(dead)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
    return None


def _run_up(args: argparse.Namespace) -> int:
    """Both backends as child processes, the gateway runtime in this process, until Ctrl-C."""
    import uvloop

    from gateway.commands import configure_logging
    from gateway.config import ConfigError
    from migration.cli.processes import (
        BackendFailedError,
        BackendProcesses,
        BackendSpec,
        port_in_use,
    )
    from migration.runtime import CutoverRuntime

    state_dir = Path(args.state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        config = _up_config(args, state_dir)
        runtime = CutoverRuntime(config)
    except (ConfigError, AdminTokenError) as exc:
        print(f"cutover up: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else exc
        print(f"cutover up: {where}", file=sys.stderr)
        return 2
    if busy := busy_ports(config, flags=not args.config, in_use=port_in_use):
        for line in busy:
            print(f"cutover up: {line}", file=sys.stderr)
        return 1
    token = config.admin_token
    env = {
        "LLMSTRUCT_DATABASE": os.environ.get("LLMSTRUCT_DATABASE")
        or str(state_dir / "llmstruct.db")
    }
    backends = BackendProcesses(
        [
            BackendSpec("fastapi", "127.0.0.1", config.baseline.port, env),
            BackendSpec("custom", "127.0.0.1", config.candidate.port, env),
        ],
        log_dir=state_dir / "logs",
    )
    configure_logging(args.log_format)

    async def main() -> str | None:
        await runtime.start()
        gw = runtime.gateway
        admin = f"http://127.0.0.1:{gw.admin_port}"
        export = f"export CUTOVER_ADMIN_URL={admin}" + (
            f" CUTOVER_ADMIN_TOKEN={token}" if token else ""
        )
        print(
            f"cutover is up\n"
            f"  gateway     http://127.0.0.1:{gw.public_port}   (send the llmstruct API here)\n"
            f"  admin       {admin}   (/status /metrics /shadow /migration)\n"
            f"  baseline    {config.baseline.url}   (fastapi_backend)\n"
            f"  candidate   {config.candidate.url}   (custom_backend)\n"
            f"  API key     {_backends_api_key()}   (X-API-Key of both backends; the split sticks "
            "on it, so every client sending this one key moves together: see the status' keys)\n"
            f"  admin token {token or '(none in the config: changes are refused)'}\n"
            f"  state       {state_dir}\n"
            f"{export}\n"
            f"Ctrl-C stops everything.",
            flush=True,
        )
        try:
            return await _until_signalled_or_exited(backends)
        finally:
            await runtime.stop()

    backends.start()
    try:
        backends.wait_healthy(timeout=60.0)
        if died := uvloop.run(main()):
            raise BackendFailedError(died)
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
        description="Run the FastAPI (baseline, port 8001) or custom (candidate, port 8002) "
        "llmstruct backend in the foreground; LLMSTRUCT_* variables set its API key, task store "
        "and project root.",
        epilog="examples:\n  cutover backend fastapi\n  cutover backend custom --port 9002",
    )
    backend.add_argument("stack", choices=sorted(DEFAULT_PORTS), help="which implementation")
    backend.add_argument("--port", type=int, default=None, help="listen port (default 8001/8002)")
    backend.add_argument("--host", default="127.0.0.1", help="listen address")
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
        "the migration controller), wait until healthy, print the URLs and the admin token. "
        "Exit 1 when a port is taken or a backend dies; Ctrl-C stops everything.",
        epilog="examples:\n  cutover up\n  cutover up --state-dir /var/lib/cutover --port 9080\n"
        "  cutover up --config deploy/gateway.example.yaml",
    )
    up.add_argument("--config", default=None, help="gateway YAML (default: the embedded one)")
    up.add_argument("--port", type=int, default=8080, help="gateway public port")
    up.add_argument("--admin-port", type=int, default=8081, help="gateway admin port")
    up.add_argument("--baseline-port", type=int, default=8001, help="fastapi_backend's port")
    up.add_argument("--candidate-port", type=int, default=8002, help="custom_backend's port")
    up.add_argument(
        "--state-dir",
        default=".cutover",
        help="SQLite files, logs and the admin token, kept for the next up (default: .cutover)",
    )
    up.add_argument(
        "--log-format",
        choices=["auto", "json", "console"],
        default="auto",
        help="log lines on stderr; auto: console on a terminal, JSON otherwise",
    )
    up.set_defaults(func=_run_up)

    demo = subparsers.add_parser(
        "demo",
        help="the whole stack with synthetic traffic and a live ramp shadow → 10 → 50 → 100",
        description="Start everything on free loopback ports, drive bounded traffic, ramp the "
        "candidate and show the live view; --regression injects a candidate latency fault at the "
        "50 % step and shows the automatic rollback. Ends with the events and the report.",
        epilog="examples:\n  cutover demo\n  cutover demo --regression\n"
        "  cutover demo --no-live --rps 50 --steps 10,100",
    )
    demo.add_argument("--regression", action="store_true", help="inject a regression mid-ramp")
    demo.add_argument("--rps", type=float, default=150.0, help="offered load (requests/s)")
    demo.add_argument("--steps", default="shadow,10,50,100", help="ramp steps (percent)")
    demo.add_argument("--hold", default="6s", help="minimum hold per step")
    demo.add_argument(
        "--min-requests", type=int, default=150, help="candidate requests per step before promotion"
    )
    demo.add_argument("--max-seconds", type=float, default=150.0, help="give up after this long")
    demo.add_argument("--state-dir", default=None, help="where to keep state (default: a temp dir)")
    demo.add_argument("--no-live", action="store_true", help="no live view (for logs and CI)")
    demo.set_defaults(func=_run_demo)
