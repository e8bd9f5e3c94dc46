"""Run the gateway in-process: both listeners, the upstream pools, the admin API, in one event loop.

``cutover up`` runs the gateway beside the migration controller::

    gateway = Gateway(
        config, registry, observers=[windows], taps=[shadow], classify=classifier.classify
    )
    gateway.admin.router.add("GET", "/migration/status", handler)   # before start()
    await gateway.start()          # binds both listeners; returns at once
    ...                            # other coroutines run in the same loop
    await gateway.stop()

or simply ``await serve(config, registry, ...)``, which runs until cancelled. ``cutover gateway``
uses :func:`run` (uvloop, SIGINT/SIGTERM stop it gracefully).

Several processes on one host (``cutover gateway --workers N``, :mod:`migration.workers`) bind the
listeners differently: a worker binds the public port with ``reuse_port=True`` (``SO_REUSEPORT``:
the kernel spreads new connections over every process bound to it) and its admin listener on
``admin_bind=("127.0.0.1", 0)`` (metrics only, read by the supervisor); the supervisor binds no
public listener (``public=False``) and no upstream pools, only the admin API.

``classify(route, method, target)`` names each observed request's operation for the observers
(:class:`migration.operations.OperationClassifier`; without it the operation is ``""``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import resource
import signal
from collections.abc import Callable, Sequence

import structlog
from prometheus_client import CollectorRegistry

from gateway.admin import AdminRouter, AdminServer, warn_if_exposed
from gateway.admin_routes import install_core_routes
from gateway.client_limits import ClientLimits
from gateway.config import BACKENDS, GatewayConfig
from gateway.fault_metrics import FaultCollector
from gateway.listener import Listener
from gateway.metrics import GatewayMetrics
from gateway.observer import RequestObserver, ResponseTap
from gateway.proxy import Proxy
from gateway.state import GatewayState
from gateway.sticky_metrics import StickyKeysCollector
from gateway.upstream import UpstreamPool

log = structlog.get_logger("gateway")

AdminExtension = Callable[[AdminRouter], None]
#: ``classify(route, method, target) -> operation`` (:mod:`migration.operations`).
Classify = Callable[[str, str, str], str]
BACKLOG = 2048


class Gateway:
    """The gateway's lifetime: build state and admin routes now, bind sockets on :meth:`start`."""

    def __init__(
        self,
        config: GatewayConfig,
        registry: CollectorRegistry | None = None,
        *,
        observers: Sequence[RequestObserver] = (),
        taps: Sequence[ResponseTap] = (),
        admin_extensions: Sequence[AdminExtension] = (),
        rng: random.Random | None = None,
        classify: Classify | None = None,
        public: bool = True,
        reuse_port: bool = False,
        admin_bind: tuple[str, int] | None = None,
    ) -> None:
        """``public=False``: no public listener and no upstream pools (``public_port`` then stays
        the configured port, the one this host's workers serve on); ``reuse_port``: bind the public
        port with ``SO_REUSEPORT``; ``admin_bind``: the admin address instead of the configured one.
        """
        self.config = config
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = GatewayMetrics(self.registry)
        self.state = GatewayState(config, self.metrics)
        FaultCollector(self.state.faults, self.registry)
        self.registry.register(StickyKeysCollector(self.state))
        self.observers = list(observers)
        self.taps = list(taps)
        self.rng = rng
        self.classify = classify
        self.router = AdminRouter()
        install_core_routes(self.router, self.state, self.metrics, self.registry)
        for extend in admin_extensions:
            extend(self.router)
        self.admin = AdminServer(self.router, config.admin_token)
        self.pools: dict[str, UpstreamPool] = {}
        self.proxy: Proxy | None = None
        self._servers: list[asyncio.Server] = []
        self.listeners: list[Listener] = []
        self.public = public
        self.reuse_port = reuse_port
        self.admin_host, self.admin_port = admin_bind or (config.admin.host, config.admin.port)
        self.public_port = config.public.port

    async def start(self) -> None:
        """Create the pools and bind the listeners (a bind failure raises ``OSError``)."""
        loop = asyncio.get_running_loop()
        admin_limits = client_limits(self.config, public=False)
        admin_listener = Listener("admin", self.admin.handle, admin_limits, self.metrics)
        self.listeners = [admin_listener]
        public_listener: Listener | None = None
        if self.public:
            self.pools = {b: UpstreamPool(self.config.upstream(b), loop) for b in BACKENDS}
            self.proxy = Proxy(
                self.config, self.state, self.metrics, self.pools, self.observers, self.taps,
                self.rng, self.classify,
            )  # fmt: skip
            limits = client_limits(self.config, public=True)
            public_listener = Listener("public", self.proxy.dispatch, limits, self.metrics)
            self.listeners.insert(0, public_listener)
        for listener in self.listeners:
            self.metrics.watch_connections(listener.name, listener.connections.__len__)
        try:
            if public_listener is not None:
                public = await loop.create_server(
                    public_listener.protocol,
                    self.config.public.host,
                    self.config.public.port,
                    backlog=BACKLOG,
                    reuse_address=True,
                    reuse_port=self.reuse_port,
                )
                self._servers.append(public)
                self.public_port = public.sockets[0].getsockname()[1]
            admin = await loop.create_server(
                admin_listener.protocol, self.admin_host, self.admin_port, backlog=128,
                reuse_address=True,
            )  # fmt: skip
            self._servers.append(admin)
        except OSError:
            await self.stop()
            raise
        self.admin_port = admin.sockets[0].getsockname()[1]
        self.state.ready = True
        log.info(
            "gateway_started",
            public=f"{self.config.public.host}:{self.public_port}" if self.public else None,
            admin=f"{self.admin_host}:{self.admin_port}",
            reuse_port=self.reuse_port,
            baseline=self.config.baseline.url,
            candidate=self.config.candidate.url,
            weights=self.state.get_weights(),
        )
        warn_if_exposed(self.admin_host, self.admin_port, self.config.admin_token is not None)

    async def stop(self) -> None:
        """Stop listening, close client connections and upstream pools."""
        self.state.ready = False
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for listener in self.listeners:
            listener.close()
        for pool in self.pools.values():
            pool.close()
        for server in servers:
            await server.wait_closed()
        if servers:
            log.info("gateway_stopped")

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def client_limits(config: GatewayConfig, *, public: bool) -> ClientLimits:
    """A listener's client limits; ``max_connections`` unset: half the open-file limit.

    Every client connection costs a descriptor and so may its upstream attempt; a cap at half the
    soft ``RLIMIT_NOFILE`` leaves the other half for upstream sockets, so the gateway answers 503
    itself instead of failing ``accept`` with EMFILE. The admin listener keeps the timeouts but
    not the cap (an operator must always get in) nor the buffering of small chunked bodies (it
    checks the token before it reads any body).
    """
    limits = config.limits
    cap = limits.max_connections
    if not public:
        cap = None
    elif cap is None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        cap = max(64, soft // 2) if soft != resource.RLIM_INFINITY else None
    return ClientLimits(
        header_timeout_s=limits.header_timeout_s,
        body_idle_timeout_s=limits.body_idle_timeout_s,
        body_min_rate_bytes_s=limits.body_min_rate_bytes_s,
        body_grace_s=limits.body_grace_s,
        max_connections=cap,
        buffer_chunked_bytes=limits.replay_buffer_bytes if public else 0,
    )


async def serve(
    config: GatewayConfig,
    registry: CollectorRegistry | None = None,
    *,
    observers: Sequence[RequestObserver] = (),
    taps: Sequence[ResponseTap] = (),
    admin_extensions: Sequence[AdminExtension] = (),
    classify: Classify | None = None,
) -> None:
    """Run a gateway until this coroutine is cancelled."""
    gateway = Gateway(
        config, registry, observers=observers, taps=taps, admin_extensions=admin_extensions,
        classify=classify,
    )  # fmt: skip
    await gateway.start()
    try:
        await asyncio.Event().wait()
    finally:
        await gateway.stop()


def run(config: GatewayConfig, registry: CollectorRegistry | None = None) -> None:
    """Blocking entry point for ``cutover gateway``: uvloop, stop on SIGINT/SIGTERM."""
    import uvloop

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(config, registry)

    uvloop.run(main())
