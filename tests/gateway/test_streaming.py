"""Bodies stream in bounded memory: 64 MiB each way through a gateway process (uvloop)."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.upstreams import Upstream
from tests.support.servers import free_port, run_process

pytestmark = pytest.mark.integration
SIZE = 64 << 20
GROWTH_LIMIT = 24 << 20  # far below SIZE: nothing is buffered whole


def rss(pid: int, field: str) -> int:
    """``VmRSS`` or ``VmHWM`` (peak) of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} not found")


@pytest.fixture
def gateway_process(
    upstreams: tuple[Upstream, Upstream], tmp_path: Path
) -> Iterator[tuple[str, int]]:
    """``python -m gateway`` in front of the two upstreams; yields its base URL and pid."""
    port, admin = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"upstreams:\n  baseline: {{url: '{upstreams[0].url}'}}\n"
        f"  candidate: {{url: '{upstreams[1].url}'}}\n"
        f"listeners:\n  public: {{port: {port}}}\n  admin: {{port: {admin}}}\n"
    )
    argv = [sys.executable, "-m", "gateway", "--config", str(config), "--log-format", "json"]
    with run_process(argv, f"http://127.0.0.1:{admin}/healthz") as proc:
        yield f"http://127.0.0.1:{port}", proc.pid


async def test_large_download_in_bounded_memory(gateway_process: tuple[str, int]) -> None:
    """A 64 MiB response passes through while the gateway's peak RSS grows far less."""
    url, pid = gateway_process
    before = rss(pid, "VmRSS")
    received = 0
    async with httpx.AsyncClient(timeout=30) as c, c.stream("GET", f"{url}/big/{SIZE}") as r:
        assert r.status_code == 200
        async for chunk in r.aiter_raw():
            received += len(chunk)
    assert received == SIZE
    assert rss(pid, "VmHWM") - before < GROWTH_LIMIT


async def test_large_upload_in_bounded_memory(gateway_process: tuple[str, int]) -> None:
    """A 64 MiB chunked upload reaches the upstream intact while the gateway's RSS stays flat."""
    url, pid = gateway_process
    before = rss(pid, "VmRSS")
    block = bytes(range(256)) * 4096
    digest = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        for _ in range(SIZE // len(block)):
            digest.update(block)
            yield block

    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(f"{url}/upload", content=body())
    assert r.json() == {"size": SIZE, "sha256": digest.hexdigest()}
    assert rss(pid, "VmHWM") - before < GROWTH_LIMIT
