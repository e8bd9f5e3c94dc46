"""``cutover weight`` and ``cutover fault``, and the flags of the gateway-running commands.

``python -m gateway --config FILE`` runs the bare data plane in front of any two upstreams; a bad
configuration prints the field-naming message and exits with code 2. ``cutover gateway`` runs the
same listeners with shadowing and the migration controller wired in (``migration.runtime``), and
uses :func:`add_gateway_parser` for the same flags. ``weight`` and ``fault`` talk to a running
gateway's admin API over HTTP (httpx is fine here: it is not the data path); the address and token
come from ``--admin-url``/``--token`` or ``CUTOVER_ADMIN_URL``/``CUTOVER_ADMIN_TOKEN``. They print
one line for people (:func:`describe_weight`, :func:`describe_fault`) and the API's JSON only with
``--json``. ``cutover fault`` without options shows the faults and changes nothing; ``--clear`` is
the only way to remove one. ``--method`` and ``--path`` narrow a fault to part of the traffic (one
operation, say: ``--method POST --path /api/v1/tasks``), and every summary says so.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

import structlog


def configure_logging(fmt: str = "auto") -> None:
    """structlog: JSON lines in production, a readable console renderer on a terminal.

    Every line goes out in *one* ``write()``, newline included (structlog's ``WriteLogger``):
    the shadow sidecar and the worker processes inherit this stderr, and ``PrintLogger``'s
    ``print()`` wrote the message and its newline in two calls on Python's unbuffered stderr, so
    another process's line could land between them (issue #15 item 8: ``…Z"}{"pid": …``). One
    call per line is atomic on a pipe up to ``PIPE_BUF`` (4 KiB) and on an ``O_APPEND`` file.
    """
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
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
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


def describe_fault(fault: Mapping[str, Any] | None) -> str:
    """One backend's fault (the admin API's ``fault`` JSON) in words:
    ``abort 100% → 503, delay 0 ms``.

    Both halves are always named, so "no delay" reads as a fact rather than an omission; the delay
    says its distribution when it is not fixed (the spread is what makes a p95 move). A filtered
    fault ends with the requests it hits (``, only POST /api/v1/tasks``): a fault on one operation
    read as a fault on the whole backend would send an operator after the wrong regression.
    """
    if fault is None:
        return "no fault"
    abort = float(fault.get("abort_percent") or 0.0)
    head = f"abort {abort:g}% → {fault.get('abort_status', 503)}" if abort else "abort 0%"
    return f"{head}, {_describe_delay(fault)}{_describe_filter(fault)}"


def _describe_filter(fault: Mapping[str, Any]) -> str:
    methods, path = fault.get("methods") or [], fault.get("path")
    hit = " ".join(p for p in (",".join(methods), path) if p)
    return f", only {hit}" if hit else ""


def _describe_delay(fault: Mapping[str, Any]) -> str:
    delay = float(fault.get("delay_ms") or 0.0)
    kind = fault.get("delay_distribution") or "fixed"
    if kind == "uniform":
        high = fault.get("delay_max_ms")
        return f"delay {delay:g}–{float(high if high is not None else delay):g} ms uniform"
    if kind == "normal":
        return f"delay {delay:g} ± {float(fault.get('delay_stddev_ms') or 0.0):g} ms normal"
    if kind == "lognormal":
        sigma = float(fault.get("delay_sigma") or 0.0)
        return f"delay {delay:g} ms median lognormal (σ {sigma:g})"
    return f"delay {delay:g} ms"


def describe_weight(change: Mapping[str, Any]) -> str:
    """``PUT /routes/{name}/weight``'s answer in words:
    ``default: candidate weight 30% (was 0%)``."""
    was = change.get("previous_bps")
    before = "" if was is None else f" (was {was / 100:g}%)"
    return f"{change['route']}: candidate weight {change['weight_percent']:g}%{before}"


def _admin_call(
    args: argparse.Namespace,
    method: str,
    path: str,
    body: Any = None,
    *,
    summary: Callable[[Any], str],
    machine: Callable[[Any], Any] = lambda answer: answer,
) -> int:
    """One admin call: ``summary(answer)`` for people,
    ``machine(answer)`` as JSON with ``--json``."""
    from gateway.admin_client import AdminCallError, AdminClient

    try:
        with AdminClient(args.admin_url, args.token) as client:
            payload = client.call_json(method, path, body)
    except AdminCallError as exc:
        print(f"cutover: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps(machine(payload), indent=2) if args.json else summary(payload))
    return 0


def _weight(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"percent": args.percent}
    if args.reason:
        body["reason"] = args.reason
    return _admin_call(args, "PUT", f"/routes/{args.route}/weight", body, summary=describe_weight)


# The options that shape a fault; none given means "show", never "set" (issue #15 item 4: a bare
# ``cutover fault candidate`` used to PUT an all-zero fault, which silently cleared the real one).
_FAULT_OPTIONS = (
    "delay", "distribution", "stddev_ms", "max_ms", "sigma", "abort", "status", "method", "path",
)  # fmt: skip


def _fault_body(args: argparse.Namespace) -> dict[str, Any]:
    """The ``PUT /faults/{backend}`` body from the options given, the API's defaults elsewhere."""
    body: dict[str, Any] = {
        "delay_ms": args.delay or 0.0,
        "delay_distribution": args.distribution or "fixed",
        "abort_percent": args.abort or 0.0,
        "abort_status": args.status if args.status is not None else 503,
    }
    for option, field in (("stddev_ms", "delay_stddev_ms"), ("max_ms", "delay_max_ms"),
                          ("sigma", "delay_sigma")):  # fmt: skip
        if getattr(args, option) is not None:
            body[field] = getattr(args, option)
    if args.method is not None:  # repeated, or comma-separated: --method GET,HEAD
        body["methods"] = [
            m.strip() for given in args.method for m in given.split(",") if m.strip()
        ]
    if args.path is not None:
        body["path"] = args.path
    return body


def _fault_line(answer: Mapping[str, Any]) -> str:
    return f"{answer['backend']}: {describe_fault(answer['fault'])}"


def _fault_usage(message: str) -> int:
    print(f"cutover fault: {message}", file=sys.stderr)
    return 2


def _fault(args: argparse.Namespace) -> int:
    """Show (no options), set (``--delay``/``--abort``...) or ``--clear`` one backend's fault.

    Clearing is only ever explicit: options that inject nothing (``--status 502`` alone,
    ``--delay 0``) are refused with exit code 2 rather than sent, because the gateway stores an
    inert fault as no fault at all.
    """
    given = [o for o in _FAULT_OPTIONS if getattr(args, o) is not None]
    if args.clear:
        if given or args.backend is None:
            return _fault_usage("--clear takes a backend and no other fault option")
        return _admin_call(
            args,
            "DELETE",
            f"/faults/{args.backend}",
            summary=lambda answer: f"{answer['backend']}: fault cleared",
        )
    if not given:
        return _show_faults(args)
    if args.backend is None:
        return _fault_usage("name the backend to inject the fault in front of")
    body = _fault_body(args)
    if not body["delay_ms"] and not body["abort_percent"] and not body.get("delay_max_ms"):
        return _fault_usage(
            "these options inject nothing: give --delay or --abort (--clear removes a fault)"
        )
    return _admin_call(args, "PUT", f"/faults/{args.backend}", body, summary=_fault_line)


def _show_faults(args: argparse.Namespace) -> int:
    """The current fault of one backend (or of both), read from ``GET /status``; changes nothing.

    ``--json`` prints the same ``{"backend", "fault"}`` shape ``PUT /faults`` answers (a list of
    them without a backend), not the whole status.
    """

    def answers(status: Mapping[str, Any]) -> list[dict[str, Any]]:
        backends = status["backends"]
        names = [args.backend] if args.backend is not None else list(backends)
        return [{"backend": name, "fault": backends[name].get("fault")} for name in names]

    return _admin_call(
        args,
        "GET",
        "/status",
        summary=lambda status: "\n".join(_fault_line(a) for a in answers(status)),
        machine=lambda status: answers(status)[0] if args.backend is not None else answers(status),
    )


def _admin_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--admin-url",
        default=None,
        help="admin API (env CUTOVER_ADMIN_URL, default http://127.0.0.1:8081)",
    )
    parser.add_argument("--token", default=None, help="admin token (env CUTOVER_ADMIN_TOKEN)")
    parser.add_argument(
        "--json", action="store_true", help="print the admin API's JSON instead of a summary"
    )


def add_gateway_parser(subparsers: Any, func: Any = _run_gateway) -> argparse.ArgumentParser:
    """The ``gateway`` subcommand and its flags, run by ``func`` (the
    bare data plane by default)."""
    gw: argparse.ArgumentParser = subparsers.add_parser(
        "gateway",
        help="run the gateway in front of two HTTP upstreams",
        description="Run the gateway (public and admin listeners) from a YAML config; "
        "CUTOVER_* variables override it. Exit code 2 on a bad config.",
        epilog="examples:\n  cutover gateway --config deploy/gateway.example.yaml\n"
        "  CUTOVER_ADMIN_TOKEN=s3cret cutover gateway --config gw.yaml --log-format json",
    )
    gw.add_argument("--config", default=None, help="YAML config (default: the embedded one)")
    gw.add_argument(
        "--log-format",
        choices=["auto", "json", "console"],
        default="auto",
        help="log lines on stderr; auto: console on a terminal, JSON otherwise",
    )
    gw.set_defaults(func=func)
    return gw


def register(subparsers: Any) -> None:
    """Add ``weight`` and ``fault`` to the ``cutover`` parser (``gateway`` comes from migration)."""
    weight = subparsers.add_parser(
        "weight",
        help="set a route's candidate share (percent)",
        description="Set the share of a route's traffic the candidate gets, by hand; prints "
        "'ROUTE: candidate weight N% (was M%)'.",
        epilog="examples:\n  cutover weight default 30 --reason 'canary by hand'\n"
        "  cutover weight tasks 0 --json",
    )
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
        "fault",
        help="show, inject or clear a delay/abort fault in front of one backend",
        description="Without options, print the current faults (of BACKEND, or of both) and "
        "change nothing. With --delay and/or --abort, replace BACKEND's fault. Only --clear "
        "removes it.",
        epilog="examples:\n  cutover fault candidate --abort 100 --status 503\n"
        "  cutover fault candidate --delay 200 --distribution normal --stddev-ms 20\n"
        "  cutover fault candidate --delay-ms 300 --method POST --path /api/v1/tasks\n"
        "  cutover fault\n  cutover fault candidate --clear",
    )
    fault.add_argument(
        "backend", nargs="?", choices=["baseline", "candidate"], help="default: both (show only)"
    )
    fault.add_argument("--clear", action="store_true", help="remove the backend's fault")
    fault.add_argument(
        "--delay", "--delay-ms", type=float, default=None, metavar="MS", help="added delay (ms)"
    )
    fault.add_argument(
        "--distribution",
        choices=["fixed", "uniform", "normal", "lognormal"],
        default=None,
        help="how the delay varies (default: fixed)",
    )
    fault.add_argument("--stddev-ms", type=float, default=None, help="normal: standard deviation")
    fault.add_argument("--max-ms", type=float, default=None, help="uniform: upper bound")
    fault.add_argument("--sigma", type=float, default=None, help="lognormal: shape")
    fault.add_argument(
        "--abort", type=float, default=None, metavar="PERCENT", help="share of requests aborted"
    )
    fault.add_argument(
        "--status", type=int, default=None, help="status of aborted requests (default: 503)"
    )
    fault.add_argument(
        "--method",
        action="append",
        default=None,
        help="only requests with this method (repeat, or GET,HEAD; default: every method)",
    )
    fault.add_argument(
        "--path",
        default=None,
        metavar="PATTERN",
        help="only requests whose path matches, as a route's paths: '/api/v1/tasks' exactly, "
        "'/api/v1/tasks*' the prefix (default: every path)",
    )
    _admin_flags(fault)
    fault.set_defaults(func=_fault)
