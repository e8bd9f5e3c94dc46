"""The shadow bench's servers: two upstreams and the four gateways, as pinned child processes.

Nothing here measures or judges: ``bench/shadow.py`` runs the rounds and writes the report,
``bench/shadow_load.py`` generates the fixed-rate load and ``bench/shadow_components.py`` times the
in-process parts. Every server is a child process started through :func:`bench.harness.process`
(output to a file, ready when it answers HTTP, SIGTERM then SIGKILL on the way out) from this
module's entry point::

    python -m bench.shadow_servers --upstream PORT
    python -m bench.shadow_servers --gateway CONFIG --mode MODE --workers N \\
        [--priority P] [--sidecar-cpus C]

Pinning: the gateways and the baseline run on CPU 0; the candidate upstream (and, in the ``split``
topology, the sidecar) on ``elsewhere`` (CPU 1 in ``split``, CPU 0 in ``shared``); load comes from
CPU 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.harness import free_port, pinned, process
from bench.json_upstream import serve_json

__all__ = [
    "BODY",
    "MODES",
    "PATH",
    "Servers",
    "main",
    "run_gateway",
    "run_upstream",
    "servers",
]

REPOSITORY = Path(__file__).resolve().parents[1]
PATH = "/api/v1/tasks"
MODES = ("plain", "tapped", "shadowed", "inline")
PYTHONPATH = {"PYTHONPATH": str(REPOSITORY)}
ME = [sys.executable, "-m", "bench.shadow_servers"]


def _task(i: int) -> dict[str, Any]:
    stamp = "2026-11-25T12:00:00.123456Z"
    return {
        "id": f"{i:032x}",
        "title": f"Task {i}",
        "description": "Write the shadow bench",
        "status": "open",
        "priority": "medium",
        "tags": ["bench", "shadow"],
        "estimated_effort": None,
        "created_at": stamp,
        "updated_at": stamp,
    }


BODY = orjson.dumps({"items": [_task(i) for i in range(3)], "total": 3, "limit": 50, "offset": 0})


# --------------------------------------------------------------------------- processes


def run_upstream(port: int) -> None:
    """Serve BODY as JSON on 127.0.0.1:port with keep-alive (asyncio + httptools on uvloop)."""
    serve_json(port, BODY)


class NoopTap:
    """Wants every exchange and drops it: the gateway's own cost of tapping (body capture, task
    path instead of its callback fast path), without any shadow work."""

    def wants(self, route: str, method: str) -> bool:
        return True

    def on_response(self, exchange: object) -> None:
        return None


def run_gateway(
    config_path: str, mode: str, workers: int, priority: str | None, cpus: str | None
) -> None:
    """A gateway from ``config_path``: ``plain`` (no tap), ``tapped`` (no-op tap) or
    ``shadowed``."""
    import signal

    import uvloop
    from prometheus_client import CollectorRegistry

    from contracts.export import OPENAPI_PATH
    from gateway.config import load_config
    from gateway.server import Gateway
    from gateway.shadow.admin import admin_extension
    from gateway.shadow.config import parse_shadow_settings
    from gateway.shadow.wiring import build_shadow

    config = load_config(config_path)

    async def main() -> None:
        registry = CollectorRegistry()
        shadow: Any = None
        taps: list[Any] = [NoopTap()] if mode == "tapped" else []
        if mode in ("shadowed", "inline"):
            settings = parse_shadow_settings(
                {
                    "workers": workers,
                    "isolation": "process" if mode == "shadowed" else "inline",
                    **({"process_priority": priority} if priority else {}),
                    **({"process_cpus": cpus} if cpus else {}),
                    "routes": {"default": {"percent": 100, "same_backend_percent": 10}},
                }
            )
            shadow = build_shadow(config, registry, settings, contract=str(OPENAPI_PATH))
            await shadow.open()
            taps = [shadow]
        gateway = Gateway(
            config,
            registry,
            taps=taps,
            admin_extensions=[admin_extension(shadow)] if shadow else [],
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await gateway.start()
        await stop.wait()
        await gateway.stop()
        if shadow is not None:
            await shadow.close()

    uvloop.run(main())


GATEWAY_CONF = """
upstreams:
  baseline: {{url: "http://127.0.0.1:{baseline}", pool_size: 128}}
  candidate: {{url: "http://127.0.0.1:{candidate}", pool_size: 128}}
routes:
  - name: default
    paths: ["/*"]
    weight_bps: 0
listeners:
  public: {{host: 127.0.0.1, port: {port}}}
  admin: {{host: 127.0.0.1, port: {admin}}}
"""


@dataclass(frozen=True, slots=True)
class Servers:
    """The running gateways: ``ports[mode] = (public, admin)``."""

    ports: dict[str, tuple[int, int]]

    @property
    def urls(self) -> dict[str, str]:
        """Each gateway's URL of the measured path."""
        return {name: f"http://127.0.0.1:{port}{PATH}" for name, (port, _) in self.ports.items()}

    @property
    def shadow_admin_url(self) -> str:
        """``GET /shadow`` of the shadowed (sidecar) gateway."""
        return f"http://127.0.0.1:{self.ports['shadowed'][1]}/shadow"


@contextmanager
def servers(workers: int, priority: str | None, topology: str) -> Iterator[Servers]:
    """Both upstreams and one gateway per mode, pinned for ``topology``, until the block ends."""
    baseline, candidate = free_port(), free_port()
    elsewhere = "1" if topology == "split" else "0"  # where shadowing's extra work runs
    ports = {name: (free_port(), free_port()) for name in MODES}
    with tempfile.TemporaryDirectory(prefix="cutover-bench-shadow-") as tmp, ExitStack() as stack:
        for port, cpu in ((baseline, "0"), (candidate, elsewhere)):
            stack.enter_context(
                process(
                    pinned(cpu, [*ME, "--upstream", str(port)]),
                    f"http://127.0.0.1:{port}/",
                    PYTHONPATH,
                )
            )
        for name, (port, admin) in ports.items():
            path = Path(tmp) / f"{name}.yaml"
            path.write_text(
                GATEWAY_CONF.format(baseline=baseline, candidate=candidate, port=port, admin=admin)
            )
            argv = [*ME, "--gateway", str(path), "--mode", name, "--workers", str(workers)]
            if priority:
                argv += ["--priority", priority]
            if topology == "split":
                argv += ["--sidecar-cpus", elsewhere]
            stack.enter_context(
                process(pinned("0", argv), f"http://127.0.0.1:{port}{PATH}", PYTHONPATH)
            )
        yield Servers(ports)


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    """Run one server (until it is stopped): an upstream or a gateway."""
    parser = argparse.ArgumentParser(prog="python -m bench.shadow_servers")
    parser.add_argument("--upstream", type=int, default=None, help="serve BODY on this port")
    parser.add_argument("--gateway", default=None, help="a gateway from this config file")
    parser.add_argument("--mode", choices=MODES, default="plain")
    parser.add_argument("--workers", type=int, default=8, help="shadow worker tasks")
    parser.add_argument("--priority", choices=("idle", "low", "normal"), default=None)
    parser.add_argument("--sidecar-cpus", default=None)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.upstream is not None:
        run_upstream(args.upstream)
    elif args.gateway is not None:
        run_gateway(args.gateway, args.mode, args.workers, args.priority, args.sidecar_cpus)
    else:
        parser.error("one of --upstream, --gateway")
    return 0


if __name__ == "__main__":
    sys.exit(main())
