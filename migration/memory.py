"""Each backend's resident memory, read from its own Prometheus ``/metrics``.

Seed 001's MigrationReport compares memory usage of the two stacks; each backend exposes
``process_resident_memory_bytes`` (prometheus_client's process collector on Linux). The scraper is
behind the :class:`MemorySource` protocol so the report builder and tests do not need sockets; its
HTTP implementation uses an ``httpx.AsyncClient`` owned by the caller (the gateway's lifespan).
A backend that is down or does not export the metric yields ``None``, never an exception: the report
then says "n/a" for memory rather than failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

import httpx
import structlog
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["MEMORY_METRIC", "HttpMemoryScraper", "MemorySource", "parse_resident_memory"]

log = structlog.get_logger("cutover.migration")

MEMORY_METRIC = "process_resident_memory_bytes"


class MemorySource(Protocol):
    """Resident memory in bytes per backend name (``None`` when unknown)."""

    async def resident_memory(self) -> dict[str, float | None]: ...


def parse_resident_memory(text: str) -> float | None:
    """The (summed) ``process_resident_memory_bytes`` in a text exposition, or ``None``."""
    total: float | None = None
    try:
        for family in text_string_to_metric_families(text):
            if family.name != MEMORY_METRIC:
                continue
            for sample in family.samples:
                if sample.name == MEMORY_METRIC:
                    total = (total or 0.0) + float(sample.value)
    except ValueError:
        return None
    return total


class HttpMemoryScraper:
    """Scrapes ``/metrics`` of each backend concurrently with a short timeout."""

    def __init__(
        self, client: httpx.AsyncClient, urls: Mapping[str, str], *, timeout_s: float = 2.0
    ) -> None:
        self._client = client
        self._urls = dict(urls)
        self._timeout = timeout_s

    async def _one(self, backend: str, url: str) -> float | None:
        try:
            response = await self._client.get(url, timeout=self._timeout)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("memory scrape failed", backend=backend, url=url, error=str(exc))
            return None
        return parse_resident_memory(response.text)

    async def resident_memory(self) -> dict[str, float | None]:
        """Scrape every backend; failures become ``None``."""
        names = list(self._urls)
        values = await asyncio.gather(*(self._one(n, self._urls[n]) for n in names))
        return dict(zip(names, values, strict=True))
