"""One ``/metrics`` for a host of workers: the supervisor's families plus every worker's, labelled.

``cutover gateway --workers N`` runs the data plane in N processes (:mod:`migration.workers`); each
counts its own requests in its own registry and exposes them on a loopback admin port. Prometheus
scrapes one target per host, the supervisor's admin port, whose ``GET /metrics`` is answered here:

* the supervisor's own families as they are, **without** a ``worker`` label — the controller's
  gauges (phase, step, analysis inputs) and the host's gauges look exactly as a single process's;
* every worker's samples with ``worker="0".."N-1"`` added, merged into the same families (one
  HELP/TYPE per family). The label is the worker's index, not its pid, so a restarted worker
  continues its series and Prometheus sees an ordinary counter reset;
* a worker that does not answer within ``timeout_s`` is left out of that scrape and
  ``cutover_worker_up{worker}`` is 0.

Every recording rule and alert aggregates counters with ``sum by (...)``, which drops the extra
label; per-process gauges (``cutover_candidate_weight``) appear once per process with equal values.

Both sides are parsed back from the text format (:func:`text_string_to_metric_families`), the
supervisor's included, so counters' ``_created`` samples are separate gauge families on both sides
and are merged by name like any other family.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping

import httpx
import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gateway.admin import AdminRequest, AdminResponse, AdminRouter

__all__ = ["WORKER_LABEL", "WorkerMetrics", "merge_families", "render"]

log = structlog.get_logger("cutover.workers")

WORKER_LABEL = "worker"


def merge_families(own: str, workers: Mapping[str, str]) -> list[Metric]:
    """``own`` (exposition text) with each worker's text merged in under ``worker=<key>``.

    Families keep ``own``'s order, then new names in the order the workers show them. A worker
    family whose type differs from the one already merged (two versions of the code during a
    rolling restart, say) is dropped rather than emitted under the wrong TYPE.
    """
    merged: dict[str, Metric] = {}
    for family in text_string_to_metric_families(own):
        merged[family.name] = family
    for worker, text in workers.items():
        for family in text_string_to_metric_families(text):
            target = merged.get(family.name)
            if target is None:
                target = Metric(family.name, family.documentation, family.type, family.unit)
                merged[family.name] = target
            elif target.type != family.type:
                log.warning(
                    "worker_metric_type_differs",
                    family=family.name,
                    worker=worker,
                    expected=target.type,
                    got=family.type,
                )
                continue
            target.samples.extend(_labelled(family.samples, worker))
    return list(merged.values())


def _labelled(samples: Iterable[Sample], worker: str) -> Iterator[Sample]:
    for sample in samples:
        yield sample._replace(labels={**sample.labels, WORKER_LABEL: worker})


class _Families:
    """A collector over a fixed list of families, for :func:`generate_latest`."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def render(families: list[Metric]) -> bytes:
    """The text exposition of ``families`` (prometheus_client's own writer)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return generate_latest(registry)


class WorkerMetrics:
    """The supervisor's view of its workers' metrics: ports, up/restart counts, the merged text.

    ``set_port(i, port)`` when worker ``i`` reports ready (``None`` when it exits);
    :meth:`exposition` fetches every worker concurrently and renders the merged families.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        count: int,
        http: httpx.AsyncClient,
        *,
        timeout_s: float = 1.0,
    ) -> None:
        self._registry = registry
        self._http = http
        self._timeout_s = timeout_s
        self._ports: dict[int, int | None] = dict.fromkeys(range(count))
        self._workers = Gauge(
            "cutover_workers", "Data-plane worker processes this host runs.", registry=registry
        )
        self._workers.set(count)
        self._up = Gauge(
            "cutover_worker_up",
            "1 when the worker answered the last metrics scrape (or reported ready since).",
            (WORKER_LABEL,),
            registry=registry,
        )
        self.restarts = Counter(
            "cutover_worker_restarts_total",
            "Times a worker exited unexpectedly and was started again.",
            (WORKER_LABEL,),
            registry=registry,
        )
        for index in self._ports:
            self._up.labels(str(index)).set(0)
            self.restarts.labels(str(index))

    def set_port(self, index: int, port: int | None) -> None:
        """Worker ``index`` serves its metrics on ``port`` (None: it is not running)."""
        self._ports[index] = port
        self._up.labels(str(index)).set(0 if port is None else 1)

    async def exposition(self) -> bytes:
        """The supervisor's families and every answering worker's, labelled by worker."""
        texts = await asyncio.gather(*(self._fetch(i, p) for i, p in self._ports.items()))
        workers = {str(i): text for i, text in zip(self._ports, texts, strict=True) if text}
        own = generate_latest(self._registry).decode()
        return render(merge_families(own, workers))

    async def _fetch(self, index: int, port: int | None) -> str | None:
        up = self._up.labels(str(index))
        if port is None:
            up.set(0)
            return None
        try:
            response = await self._http.get(
                f"http://127.0.0.1:{port}/metrics", timeout=self._timeout_s
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("worker_metrics_unavailable", worker=index, port=port, error=str(exc))
            up.set(0)
            return None
        up.set(1)
        return response.text

    def install(self, router: AdminRouter) -> None:
        """Answer the admin router's ``GET /metrics`` with :meth:`exposition`."""

        async def prometheus(_: AdminRequest) -> AdminResponse:
            return AdminResponse(200, await self.exposition(), CONTENT_TYPE_LATEST.encode())

        router.replace("GET", "/metrics", prometheus)
