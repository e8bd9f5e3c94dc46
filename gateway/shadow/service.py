"""The shadow component as the gateway plugs it in: a response tap,
two bounded queues, the evidence.

The gateway calls :meth:`ShadowService.wants` and :meth:`ShadowService.on_response` after the
primary response has gone to the client (``gateway.observer.ResponseTap``). ``on_response`` does
only O(1) work — one policy decision and at most one ``put_nowait`` — and never awaits, so a shadow
can neither delay nor fail the response it copies. (Its CPU still shares the event loop with the
data path; ``bench/shadow.py`` measures what that costs.) Everything else runs on worker tasks:

- the shadow queue (``workers`` tasks): check the primary response against the contract, send the
  request to the target backend with ``X-Cutover-Shadow: 1`` under a strict timeout, compare, take
  out the differences the route's ``expected_differences`` documents, record the outcome, and check
  the shadow response (a byte-identical one reuses the primary's result);
- the check queue (one task): check the primary responses of exchanges that are not shadowed.

A full queue drops and counts. A failing shadow is recorded as ``errored`` and goes no further.
Results are also pushed to ``observers`` — objects with ``observe_shadow(route, mismatched)``
and/or ``observe_contract(route, backend, violated)``, i.e. ``migration.metrics.MigrationMetrics``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import structlog
from prometheus_client import CollectorRegistry

from contracts.compare import Comparison, ComparisonRules, ResponseSnapshot, compare_responses
from contracts.validators import ContractValidator, Violation
from gateway.observer import ContractObserver, Exchange, ShadowObserver
from gateway.shadow.config import RouteShadowConfig, ShadowSettings
from gateway.shadow.contract_check import (
    CheckJob,
    ContractChecker,
    ContractEvidence,
)
from gateway.shadow.evidence import ShadowEvidence
from gateway.shadow.exchanges import (
    NOT_REPLAYED,
    SHADOW_HEADER,
    content_type,
    failure_reason,
    has_body,
    text_pairs,
)
from gateway.shadow.metrics import ShadowMetrics
from gateway.shadow.policy import (
    BackendPair,
    Draw,
    ShadowDecision,
    body_replayable,
    decide,
    wants_bodies,
)
from gateway.shadow.samples import HeaderPairs, Sample, SampleBuilder
from gateway.shadow.sender import ShadowResponse, ShadowSender
from gateway.shadow.windows import Clock
from gateway.shadow.workers import WorkQueue

log = structlog.get_logger("gateway.shadow")


class ShadowRates(NamedTuple):
    """What the rollout analysis reads: ``samples`` cross-backend comparisons in the window."""

    samples: int
    mismatch_rate: float | None
    violation_rate: float | None


class ShadowStats(Protocol):
    """The pull seam the rollout analysis reads (implemented by :class:`ShadowService`)."""

    def rates(self, route: str, window_s: float, backend: str | None = None) -> ShadowRates: ...


@dataclass(frozen=True, slots=True)
class ShadowJob:
    """One sampled exchange waiting for its shadow."""

    exchange: Exchange
    config: RouteShadowConfig
    decision: ShadowDecision
    enqueued: float


class ShadowService:
    """Shadowing and live contract validation behind the gateway's ``ResponseTap`` seam."""

    def __init__(
        self,
        settings: ShadowSettings,
        sender: ShadowSender,
        registry: CollectorRegistry,
        *,
        routes: Mapping[str, RouteShadowConfig] | None = None,
        validator: ContractValidator | None = None,
        observers: Sequence[Any] = (),
        backends: BackendPair = BackendPair(),
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        draw: Draw | None = None,
    ) -> None:
        self.settings = settings
        self._sender = sender
        self._backends = backends
        self._clock = clock
        self._monotonic = monotonic
        self._draw = draw or random.Random().random
        self._routes: dict[str, RouteShadowConfig] = dict(settings.routes)
        self._routes.update(routes or {})
        self._rules: dict[tuple[tuple[str, ...], ...], ComparisonRules] = {}
        self.metrics = ShadowMetrics(registry, settings.metric_fields_per_route)
        self.evidence = ShadowEvidence(settings, self.metrics, clock)
        self.contracts = ContractEvidence(settings, self.metrics, clock)
        self._shadow_observers: tuple[ShadowObserver, ...] = tuple(
            o for o in observers if hasattr(o, "observe_shadow")
        )
        contract_observers: tuple[ContractObserver, ...] = tuple(
            o for o in observers if hasattr(o, "observe_contract")
        )
        self._samples = SampleBuilder(
            frozenset(settings.redact_headers),
            settings.sample_body_bytes,
            frozenset(settings.redact_query_params),
        )
        self._checker = (
            None
            if validator is None
            else ContractChecker(validator, self.contracts, self._check_sample, contract_observers)
        )
        self.shadow_queue: WorkQueue[ShadowJob] = WorkQueue(
            "shadow",
            settings.queue_size,
            settings.workers,
            self._run_shadow,
            weigh=lambda job: _exchange_bytes(job.exchange),
            max_weight=settings.queue_max_bytes,
        )
        self.check_queue: WorkQueue[Exchange] = WorkQueue(
            "contract-check",
            settings.validation_queue_size,
            1,
            self._run_check,
            weigh=_exchange_bytes,
            max_weight=settings.queue_max_bytes,
        )
        self._running = False
        self._check_all = self._checker is not None and settings.check_primaries
        self.metrics.track_queue(lambda: self.shadow_queue.depth, lambda: self.check_queue.depth)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers on the running loop (also done by the first ``on_response``)."""
        self._running = True
        self.shadow_queue.start()
        self.check_queue.start()

    async def open(self) -> None:
        """The same as :meth:`start`, awaitable like the sidecar client's ``open``."""
        self.start()

    async def drain(self) -> None:
        """Wait until everything queued so far is done (tests, benchmarks, graceful shutdown)."""
        await self.shadow_queue.join()
        await self.check_queue.join()

    async def close(self) -> None:
        """Stop the workers; queued shadows are discarded."""
        self._running = False
        await self.shadow_queue.close()
        await self.check_queue.close()

    # -- the ResponseTap seam (hot path: O(1), never awaits) -----------------------------------

    def wants(self, route: str, method: str) -> bool:
        """Ask the gateway to buffer bodies only where a shadow or a contract check may follow."""
        return wants_bodies(self._routes, self._check_all, route, method)

    def on_response(self, exchange: Exchange) -> None:
        """Queue the contract check and, if sampled, the shadow of a completed exchange."""
        if not self._running:
            self.start()  # first exchange: we are on the loop now
        checked = self._check_all and exchange.response_body is not None
        config = self._routes.get(exchange.route)
        if config is None or config.percent <= 0 or exchange.response_body is None:
            if checked and not self.check_queue.offer(exchange):
                self.contracts.record_drop(exchange.route)
            return
        announced = exchange.request_body is not None or has_body(exchange.request_headers)
        replayable = body_replayable(config, exchange.request_body, announced)
        sticky_key = None
        if config.sticky_header is not None:
            wanted = config.sticky_header.encode("latin-1")
            for name, value in exchange.request_headers:
                if name == wanted:
                    sticky_key = value.decode("latin-1")
                    break
        decision = decide(
            config,
            exchange.route,
            exchange.backend,
            exchange.method,
            sticky_key,
            replayable,
            self._draw,
            self._backends,
        )
        job = None if decision is None else ShadowJob(exchange, config, decision, self._monotonic())
        if job is not None and self.shadow_queue.offer(job):
            return  # the shadow worker checks the primary too, with one queue hop less
        if decision is not None:
            self.evidence.record_drop(exchange.route, decision.same_backend)
        if checked and not self.check_queue.offer(exchange):
            self.contracts.record_drop(exchange.route)

    # -- workers ------------------------------------------------------------------------------

    def _rules_for(self, config: RouteShadowConfig) -> ComparisonRules:
        # Keyed by the rule fields only: rate changes must not grow the cache.
        key = (config.ignore, config.unordered, config.headers)
        rules = self._rules.get(key)
        if rules is None:
            rules = self._rules[key] = ComparisonRules(
                ignore_paths=config.ignore, unordered_paths=config.unordered, headers=config.headers
            )
        return rules

    async def _run_shadow(self, job: ShadowJob) -> None:
        exchange, decision = job.exchange, job.decision
        if self._monotonic() - job.enqueued > self.settings.max_queue_age_s:
            self.evidence.record_drop(exchange.route, decision.same_backend)
            await self._run_check(exchange)  # the primary still gets its contract check
            return
        request_headers = text_pairs(exchange.request_headers)
        primary_headers = text_pairs(exchange.response_headers)
        primary_checked = self._check_primary(exchange, request_headers, primary_headers)
        forward = [(n, v) for n, v in request_headers if n not in NOT_REPLAYED]
        forward.append((SHADOW_HEADER, "1"))
        try:
            response = await self._sender.send(
                decision.target,
                exchange.method,
                exchange.target,
                forward,
                exchange.request_body or None,
                job.config.timeout_s,
            )
        except Exception as exc:  # a shadow's failure is recorded, never raised
            self.evidence.record_error(exchange.route, decision.same_backend, failure_reason(exc))
            return
        primary_body = exchange.response_body or b""
        rules = self._rules_for(job.config)
        if primary_body == response.body and _same_head(
            exchange.status, primary_headers, response, rules.headers
        ):
            comparison = _MATCHED  # the common case, without building snapshots and header maps
        else:
            # Identical bytes cannot differ structurally: then only status and headers are
            # compared, skipping the JSON walk that dominates the cost of a shadow.
            same = primary_body == response.body
            primary = ResponseSnapshot(
                exchange.status, primary_headers, b"" if same else primary_body
            )
            shadow = ResponseSnapshot(
                response.status, response.headers, b"" if same else response.body
            )
            comparison = compare_responses(primary, shadow, rules)

        def sample(differences: tuple[Any, ...]) -> Sample:
            b = self._samples
            return b.sample(
                self._clock(),
                exchange.method,
                exchange.target,
                request_headers,
                exchange.request_body,
                b.response(
                    exchange.backend, exchange.status, primary_headers, exchange.response_body
                ),
                b.response(decision.target, response.status, response.headers, response.body),
                [d.describe() for d in differences[:10]],
                decision.same_backend,
            )

        expected = 0
        if job.config.expected_differences and not decision.same_backend:
            comparison, expected = job.config.expected_differences.split(
                comparison, exchange.method, exchange.target, exchange.status
            )
        outcome = self.evidence.record_comparison(
            exchange.route, decision.same_backend, comparison, sample, expected
        )
        if not decision.same_backend:
            for observer in self._shadow_observers:
                observer.observe_shadow(exchange.route, outcome == "mismatched")
        if self._checker is not None:
            identical = (
                primary_body == response.body
                and exchange.status == response.status
                and content_type(primary_headers) == content_type(response.headers)
            )
            self._checker.check(
                CheckJob(
                    exchange.route,
                    decision.target,
                    exchange.method,
                    exchange.target,
                    request_headers,
                    response.status,
                    response.headers,
                    response.body,
                ),
                known=primary_checked if identical else None,
            )

    async def _run_check(self, exchange: Exchange) -> None:
        """The check worker's handler: check a primary response that is not shadowed."""
        request_headers = text_pairs(exchange.request_headers)
        self._check_primary(exchange, request_headers, text_pairs(exchange.response_headers))

    def _check_primary(
        self, exchange: Exchange, request_headers: HeaderPairs, response_headers: HeaderPairs
    ) -> list[Violation] | None:
        if self._checker is None or exchange.response_body is None:
            return None
        return self._checker.check(
            CheckJob(
                exchange.route,
                exchange.backend,
                exchange.method,
                exchange.target,
                request_headers,
                exchange.status,
                response_headers,
                exchange.response_body,
            )
        )

    def _check_sample(self, job: CheckJob, details: tuple[str, ...]) -> Sample:
        b = self._samples
        return b.sample(
            self._clock(),
            job.method,
            job.target,
            job.request_headers,
            None,
            b.response(job.backend, job.status, job.headers, job.body),
            None,
            details,
        )

    # -- reading and control -------------------------------------------------------------------

    def route_config(self, route: str) -> RouteShadowConfig:
        """The live shadow config of ``route``; KeyError when the route is unknown."""
        return self._routes[route]

    def route_names(self) -> list[str]:
        """Every route the service knows, sorted."""
        return sorted(self._routes)

    def set_rate(self, route: str, percent: Any) -> RouteShadowConfig:
        """Change a route's sampling rate now (KeyError: unknown route;
        ShadowConfigError: bad value).

        ``percent`` is the admin body's raw JSON value: ``with_percent`` validates it (a compiled
        ``float`` parameter would refuse a string with a TypeError before that).
        """
        config = self._routes[route].with_percent(percent)
        self._routes[route] = config
        log.info("shadow_rate_set", route=route, percent=config.percent)
        return config

    def rates(self, route: str, window_s: float, backend: str | None = None) -> ShadowRates:
        """Cross-backend comparisons, mismatch rate and contract-violation rate in the window.

        ``backend`` restricts the violation rate to one backend's responses (the rollout analysis
        asks for the candidate's); rates are None when there was nothing to count.
        """
        compared, mismatched = self.evidence.window(route, window_s)
        checked, violated = self.contracts.window(route, window_s, backend)
        return ShadowRates(
            compared,
            mismatched / compared if compared else None,
            violated / checked if checked else None,
        )


def _exchange_bytes(exchange: Exchange) -> int:
    """What a queued exchange holds in memory, roughly: its two bodies."""
    return len(exchange.request_body or b"") + len(exchange.response_body or b"")


_MATCHED = Comparison(())


def _same_head(
    status: int, headers: HeaderPairs, response: ShadowResponse, compared: tuple[str, ...]
) -> bool:
    """Same status and the same value for every compared header (names are lower-case)."""
    if status != response.status:
        return False
    for name in compared:
        mine = [v for n, v in headers if n == name]
        theirs = [v for n, v in response.headers if n == name]
        if mine != theirs:
            return False
    return True
