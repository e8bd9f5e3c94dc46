"""The shadow sidecar process: shadowing and live contract checks away
from the gateway's event loop.

``python -m gateway.shadow.sidecar FD PRIORITY LOG_FORMAT`` is started by
:class:`~gateway.shadow.sidecar_client.ShadowSidecar` with its end of a socketpair as ``FD``, at
the CPU priority and in the log format the gateway chose. Why a process: a shadow costs about
what the primary request costs again (a second upstream call, the comparison, two contract
checks). On the gateway's loop that work delays the next client's request; in a thread it would
fight the data path for the GIL. Here it runs at a lower CPU priority
(``shadow.process_priority``: ``low`` = nice 10 by default, ``idle`` = SCHED_IDLE): the kernel
runs the gateway and the backends first, and on a saturated machine it is the shadows that wait —
past ``max_queue_age_s`` they are dropped and counted, never the clients. Priority does not make
a shared core free: the sidecar's CPU still lengthens the queue clients wait in, so
``shadow.process_cpus`` moves it to cores that do not serve clients.

The process runs the same :class:`~gateway.shadow.service.ShadowService` as inline mode, on uvloop,
with its own registry; every ``publish_interval_s`` it sends the gateway its metric families and the
outcome counts for the migration metrics (:class:`~gateway.shadow.sidecar_wire.Publication`), and it
answers the admin views over the same socket. It ends when the gateway's end of the socket closes
(a killed gateway leaves no orphan) and ignores SIGINT, which a terminal sends the whole group.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from gateway.observer import Exchange
from gateway.shadow.admin import AdminReply, ShadowAdmin
from gateway.shadow.config import ShadowConfigError
from gateway.shadow.sender import PoolSender
from gateway.shadow.service import ShadowService
from gateway.shadow.sidecar_wire import (
    FrameReader,
    Kind,
    Publication,
    SidecarSpec,
    encode,
    load_contract,
)
from gateway.tasks import TaskSet

log = structlog.get_logger("gateway.shadow.sidecar")


class OutcomeTally:
    """The migration-metrics observer inside the sidecar: counts outcomes
    until the next publication."""

    def __init__(self) -> None:
        self.shadows: Counter[tuple[str, bool]] = Counter()
        self.contracts: Counter[tuple[str, str, bool]] = Counter()

    def observe_shadow(self, route: str, mismatched: bool) -> None:
        """Count one cross-backend comparison."""
        self.shadows[(route, mismatched)] += 1

    def observe_contract(self, route: str, backend: str, violated: bool) -> None:
        """Count one contract check."""
        self.contracts[(route, backend, violated)] += 1

    def take(self) -> tuple[dict[tuple[str, bool], int], dict[tuple[str, str, bool], int]]:
        """The counts since the last call, and start again from zero."""
        shadows, contracts = dict(self.shadows), dict(self.contracts)
        self.shadows.clear()
        self.contracts.clear()
        return shadows, contracts


def lower_priority(priority: str) -> str:
    """Apply ``idle`` (SCHED_IDLE), ``low`` (nice 10) or ``normal``; returns what was applied."""
    if priority == "idle":
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "idle"
        except (AttributeError, OSError):
            priority = "low"  # not Linux, or not permitted: the nearest thing
    if priority == "low":
        try:
            os.nice(10)
            return "low"
        except OSError:
            pass
    return "normal"


def pin_cpus(cpus: Sequence[int] | None) -> list[int]:
    """Run on ``cpus`` (``shadow.process_cpus``; None: where the
    gateway runs); the CPUs in effect."""
    if cpus is not None:
        try:
            os.sched_setaffinity(0, cpus)
        except (AttributeError, OSError) as exc:  # not Linux, or outside this cgroup's cpuset
            raise ShadowConfigError(
                f"shadow.process_cpus: cannot run on CPUs {list(cpus)}: {exc}"
            ) from None
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def build_service(
    spec: SidecarSpec, registry: CollectorRegistry, tally: OutcomeTally
) -> ShadowService:
    """The shadow service the spec describes (loads the contract; errors propagate)."""
    return ShadowService(
        spec.settings,
        PoolSender(spec.upstreams),
        registry,
        routes=spec.routes,
        validator=load_contract(spec.contract),
        observers=[tally],
    )


class SidecarEnd(asyncio.Protocol):
    """The sidecar's end of the socket: frames in, replies and publications out."""

    def __init__(self) -> None:
        self.spec: asyncio.Future[SidecarSpec] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.service: ShadowService | None = None
        self.admin: ShadowAdmin | None = None
        self.registry = CollectorRegistry()
        self.tally = OutcomeTally()
        self.tasks = TaskSet("shadow-sidecar")
        self._reader = FrameReader()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.spec.done():
            self.spec.set_exception(ConnectionError("the gateway closed before sending a spec"))
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, kind: Kind, payload: object) -> None:
        """Write one frame (silently nothing once the gateway is gone)."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(encode(kind, payload))

    def publish(self) -> None:
        """Send the registry's families and the outcome counts since the last publication."""
        shadows, contracts = self.tally.take()
        self.send(Kind.PUBLISH, Publication(list(self.registry.collect()), shadows, contracts))

    def data_received(self, data: bytes) -> None:
        for kind, payload in self._reader.feed(data):
            if kind is Kind.SPEC and not self.spec.done():
                self.spec.set_result(payload)
            elif kind is Kind.EXCHANGES and self.service is not None:
                for item in payload:
                    self.service.on_response(Exchange(*item))
            elif kind is Kind.CALL:
                self.tasks.spawn(self._answer(*payload), name=f"call-{payload[1]}")

    async def _answer(self, call_id: int, name: str, args: Sequence[Any]) -> None:
        reply = await self._call(name, args)
        self.send(Kind.REPLY, (call_id, reply.status, reply.body))

    async def _call(self, name: str, args: Sequence[Any]) -> AdminReply:
        if self.service is None or self.admin is None:
            return AdminReply(
                503, {"error": "starting", "detail": "the shadow sidecar is starting"}
            )
        if name == "summary":
            return self.admin.summary()
        if name == "detail":
            return self.admin.detail(*args)
        if name == "set_rate":
            return self.admin.set_rate(*args)
        if name == "drain":
            await self.service.drain()
            self.publish()  # the caller sees the drained outcomes once its reply arrives
            return AdminReply(200, {})
        return AdminReply(400, {"error": "unknown_call", "detail": name})


async def serve(sock: socket.socket, priority: str = "normal") -> int:
    """Run the sidecar on ``sock`` until the gateway closes it; 2 when the spec cannot be built."""
    loop = asyncio.get_running_loop()
    end = SidecarEnd()
    await loop.create_unix_connection(lambda: end, sock=sock)
    try:
        spec = await end.spec
    except ConnectionError:  # the gateway went away during start-up: nothing to do
        return 0
    try:
        cpus = pin_cpus(spec.settings.process_cpus)
        end.service = build_service(spec, end.registry, end.tally)
    except Exception as exc:  # a bad contract file or config: the gateway's start-up reports it
        end.send(Kind.READY, f"shadow sidecar: {exc}")
        await asyncio.sleep(0.1)
        return 2
    end.admin = ShadowAdmin(end.service)
    end.service.start()
    end.send(Kind.READY, None)
    log.info("shadow_sidecar_ready", pid=os.getpid(), priority=priority, cpus=cpus)
    try:
        while not end.closed.done():
            await asyncio.wait([end.closed], timeout=spec.settings.publish_interval_s)
            end.publish()
    finally:
        await end.tasks.close()
        await end.service.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m gateway.shadow.sidecar FD PRIORITY LOG_FORMAT``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or not args[0].isdigit():
        print("usage: python -m gateway.shadow.sidecar FD PRIORITY LOG_FORMAT", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    applied = lower_priority(args[1])
    from gateway.commands import configure_logging

    configure_logging(args[2])  # the gateway's choice: the two share stderr
    import gc

    import uvloop

    # Every module, class and function is loaded by now and lives as long as the process: freeze
    # them out of the cyclic GC, whose full collections would otherwise walk them all again while
    # shadows churn short-lived tuples (callgrind, 2500 shadows: 244k → 236k instructions per
    # shadow, the full collection of ~18M instructions gone; a higher gen-0 threshold on top
    # measured no further gain, so the thresholds stay the default).
    gc.freeze()
    return uvloop.run(serve(socket.socket(fileno=int(args[0])), applied))


if __name__ == "__main__":
    sys.exit(main())
