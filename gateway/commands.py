"""``cutover weight`` and ``cutover fault``, and the flags of the gateway-running commands.

``python -m gateway --config FILE`` runs the bare data plane in front of any two upstreams; a bad
configuration prints the field-naming message and exits with code 2. ``cutover gateway`` runs the
same listeners with shadowing and the migration controller wired in (``migration.runtime``), and
uses :func:`add_gateway_parser` for the same flags. ``weight`` and ``fault`` talk
to a running gateway's admin API over HTTP (httpx is fine here: it is not the data path); the
address and token come from ``--admin-url``/``--token`` or ``CUTOVER_ADMIN_URL``/``CUTOVER_ADMIN_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

import structlog


def configure_logging(fmt: str = "auto") -> None:
    """structlog: JSON lines in production, a readable console renderer on a terminal."""
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def _run_gateway(args: argparse.Namespace) -> int:
    from gateway.config import ConfigError, load_config
    from gateway.server import run

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"cutover gateway: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.log_format)
    try:
        run(config)
    except OSError as exc:
        print(f"cutover gateway: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


def _admin_call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> int:
    from gateway.admin_client import AdminCallError, AdminClient

    try:
        with AdminClient(args.admin_url, args.token) as client:
            payload = client.call_json(method, path, body)
    except AdminCallError as exc:
        print(f"cutover: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps(payload, indent=2))
    return 0


def _weight(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"percent": args.percent}
    if args.reason:
        body["reason"] = args.reason
    return _admin_call(args, "PUT", f"/routes/{args.route}/weight", body)


def _fault(args: argparse.Namespace) -> int:
    if args.clear:
        return _admin_call(args, "DELETE", f"/faults/{args.backend}")
    body: dict[str, Any] = {
        "delay_ms": args.delay,
        "delay_distribution": args.distribution,
        "abort_percent": args.abort,
        "abort_status": args.status,
    }
    if args.stddev_ms is not None:
        body["delay_stddev_ms"] = args.stddev_ms
    if args.max_ms is not None:
        body["delay_max_ms"] = args.max_ms
    if args.sigma is not None:
        body["delay_sigma"] = args.sigma
    return _admin_call(args, "PUT", f"/faults/{args.backend}", body)


def _admin_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--admin-url",
        default=None,
        help="admin API (env CUTOVER_ADMIN_URL, default http://127.0.0.1:8081)",
    )
    parser.add_argument("--token", default=None, help="admin token (env CUTOVER_ADMIN_TOKEN)")


def add_gateway_parser(subparsers: Any, func: Any = _run_gateway) -> argparse.ArgumentParser:
    """The ``gateway`` subcommand and its flags, run by ``func`` (the bare data plane by default)."""
    gw: argparse.ArgumentParser = subparsers.add_parser(
        "gateway",
        help="run the gateway in front of two HTTP upstreams",
        description="Run the gateway (public and admin listeners) from a YAML config; "
        "CUTOVER_* variables override it. Exit code 2 on a bad config.",
    )
    gw.add_argument("--config", default=None, help="YAML config (default: the embedded one)")
    gw.add_argument("--log-format", choices=["auto", "json", "console"], default="auto")
    gw.set_defaults(func=func)
    return gw


def register(subparsers: Any) -> None:
    """Add ``weight`` and ``fault`` to the ``cutover`` parser (``gateway`` comes from migration)."""
    weight = subparsers.add_parser("weight", help="set a route's candidate share (percent)")
    weight.add_argument("route", help="route name, e.g. default")
    weight.add_argument("percent", type=float, help="candidate share, 0..100 (fractions allowed)")
    weight.add_argument(
        "--reason",
        default=None,
        help="why (kept with the persisted weight; during a migration it pauses it: resume/abort)",
    )
    _admin_flags(weight)
    weight.set_defaults(func=_weight)

    fault = subparsers.add_parser(
        "fault", help="inject (or clear) a delay/abort fault in front of one backend"
    )
    fault.add_argument("backend", choices=["baseline", "candidate"])
    fault.add_argument("--clear", action="store_true", help="remove the backend's faults")
    fault.add_argument("--delay", type=float, default=0.0, metavar="MS", help="added delay (ms)")
    fault.add_argument(
        "--distribution", choices=["fixed", "uniform", "normal", "lognormal"], default="fixed"
    )
    fault.add_argument("--stddev-ms", type=float, default=None, help="normal: standard deviation")
    fault.add_argument("--max-ms", type=float, default=None, help="uniform: upper bound")
    fault.add_argument("--sigma", type=float, default=None, help="lognormal: shape")
    fault.add_argument("--abort", type=float, default=0.0, metavar="PERCENT", help="abort share")
    fault.add_argument("--status", type=int, default=503, help="status of aborted requests")
    _admin_flags(fault)
    fault.set_defaults(func=_fault)
