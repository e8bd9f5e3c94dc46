"""Memory scraping from a real /metrics endpoint on loopback, and the failure cases."""

from __future__ import annotations

from collections.abc import Iterator
from threading import Thread
from wsgiref.simple_server import WSGIServer

import httpx
import pytest
from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server

from migration.memory import HttpMemoryScraper, parse_resident_memory
from tests.support.servers import free_port


@pytest.fixture
def metrics_url() -> Iterator[str]:
    """A real prometheus_client exporter with the process collector, on 127.0.0.1."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    assert isinstance(server, WSGIServer)
    assert isinstance(thread, Thread)
    yield f"http://127.0.0.1:{port}/metrics"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


async def test_scrapes_resident_memory(metrics_url: str) -> None:
    """A live exporter yields this process's resident memory; a dead port yields None."""
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    async with httpx.AsyncClient() as client:
        scraper = HttpMemoryScraper(client, {"baseline": metrics_url, "candidate": dead})
        values = await scraper.resident_memory()
    baseline = values["baseline"]
    assert baseline is not None
    assert baseline > 1_000_000
    assert values["candidate"] is None


def test_parse_handles_missing_and_garbage() -> None:
    """Text without the metric, or not an exposition at all, gives None."""
    assert parse_resident_memory("# HELP x y\n# TYPE x gauge\nx 1\n") is None
    assert parse_resident_memory("process_resident_memory_bytes 2.5e7\n") == 2.5e7
    assert parse_resident_memory("{{{ not prometheus") is None


async def test_http_error_status_is_none() -> None:
    """A 500 from /metrics is a failed scrape (edge case a real exporter will not produce)."""
    transport = httpx.MockTransport(lambda request: httpx.Response(500, text="boom"))
    async with httpx.AsyncClient(transport=transport) as client:
        scraper = HttpMemoryScraper(client, {"candidate": "http://candidate/metrics"})
        assert await scraper.resident_memory() == {"candidate": None}
