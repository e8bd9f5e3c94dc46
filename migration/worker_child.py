"""One worker of ``cutover gateway --workers N``, started by the supervisor
(:mod:`migration.workers`).

``python -m migration.worker_child --index I --public-port P --replica R --report-fd FD --parent PID
[--config FILE] [--log-format F]`` runs ``CutoverRuntime(role=Role.WORKER)`` on the reserved public
port (``SO_REUSEPORT``), writes ``{"admin_port": ..., "pid": ...}`` and a newline to ``FD`` once it
serves, and runs until SIGTERM. It exits when its supervisor dies: ``PR_SET_PDEATHSIG`` asks the
kernel for a SIGTERM then, and a check of ``getppid()`` each second covers the moment before that
call and systems without it. SIGINT is ignored: the supervisor stops its workers itself.
Exit codes as ``cutover gateway``: 2 for a bad configuration, 1 when the port cannot be bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PARENT_POLL_S = 1.0


def die_with_parent(parent: int) -> bool:
    """Ask for SIGTERM when the parent exits; False if it already has (we were re-parented)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    return os.getppid() == parent


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if os.getppid() != parent:
            stop.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PARENT_POLL_S)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="migration.worker_child")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--public-port", type=int, required=True)
    parser.add_argument("--replica", required=True)
    parser.add_argument("--report-fd", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--config", default=None)
    parser.add_argument("--log-format", default="auto")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one worker until SIGTERM or its parent's death; returns the exit code."""
    args = _parser().parse_args(argv)
    if not die_with_parent(args.parent):
        return 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    report = os.fdopen(args.report_fd, "w", encoding="utf-8")

    import uvloop

    from gateway.commands import configure_logging
    from gateway.config import ConfigError, load_config
    from migration.cluster.seams import Role
    from migration.runtime import CutoverRuntime
    from migration.workers import with_public_port

    try:
        config = with_public_port(load_config(args.config), args.public_port)
        runtime = CutoverRuntime(config, role=Role.WORKER, replica=args.replica)
    except ConfigError as exc:
        print(f"cutover gateway worker {args.index}: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.log_format)

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await runtime.start()
        try:
            ready = {"admin_port": runtime.gateway.admin_port, "pid": os.getpid()}
            report.write(json.dumps(ready) + "\n")
            report.flush()
            await _watch_parent(args.parent, stop)
        finally:
            await runtime.stop()

    try:
        uvloop.run(serve())
    except OSError as exc:
        print(f"cutover gateway worker {args.index}: cannot listen: {exc}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(OSError):
            report.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
