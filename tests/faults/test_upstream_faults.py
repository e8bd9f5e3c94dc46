"""The proxy's fault matrix: each backend killed, hung, slow, failing or cut off, as real processes.

For candidate and baseline x {killed (``kill -9``), hung (``SIGSTOP``), slow, 5xx, reset
mid-body}, the client outcome of concurrent idempotent GETs and of a POST through an in-process
gateway in front of two real upstream processes (:mod:`tests.faults.upstream_support`): the
status seen, the backend that answered and the longest wait. Timeouts are small so the matrix
runs in seconds: connect and read 1 s, the candidate's fallback deadline 0.3 s, slow = 600 ms.
Killed and hung are applied after a warm-up, so pooled keep-alive connections exist (the callback
fast path) as well as new ones.

Run with ``-s`` to see one line per case (the figures in the README's matrix).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
import pytest

from gateway.server import Gateway
from tests.faults.upstream_support import upstream_process
from tests.gateway.conftest import config_for

pytestmark = pytest.mark.integration

FALLBACK_AFTER_S = 0.3
READ_TIMEOUT_S = 1.0
SLOW = "slow:600"
CUT = "cut"  # the client's connection was aborted mid-body
GETS = 8  # concurrent GETs per case, beside one POST


@dataclass(frozen=True)
class Case:
    """One row: which backend breaks, how, and what the client must see."""

    broken: str
    fault: str  # killed | hung | slow:MS | 5xx | cut
    get: tuple[int | str, str | None]  # (status or CUT, backend that answered)
    post: tuple[int | str, str | None]
    get_wait: tuple[float, float]  # bounds of the longest GET wait, seconds
    post_wait: tuple[float, float]

    @property
    def id(self) -> str:
        return f"{self.broken}-{self.fault.split(':')[0]}"


ANY = (0.0, 0.9)  # no timeout waited (the shortest is 1 s); generous for a loaded machine
CASES = [
    # The candidate takes all traffic: idempotent requests fall back to the baseline.
    Case("candidate", "killed", (200, "baseline"), (502, "candidate"), ANY, ANY),
    Case("candidate", "hung", (200, "baseline"), (504, "candidate"), (0.3, 0.95), (1.0, 1.6)),
    Case("candidate", SLOW, (200, "baseline"), (200, "candidate"), (0.3, 0.95), (0.6, 1.2)),
    Case("candidate", "5xx", (200, "baseline"), (503, "candidate"), ANY, ANY),
    Case("candidate", CUT, (CUT, None), (CUT, None), ANY, ANY),
    # The baseline takes all traffic: a dead or silent baseline falls back to the candidate.
    Case("baseline", "killed", (200, "candidate"), (502, "baseline"), ANY, ANY),
    Case("baseline", "hung", (200, "candidate"), (504, "baseline"), (1.0, 1.6), (1.0, 1.6)),
    Case("baseline", SLOW, (200, "baseline"), (200, "baseline"), (0.6, 1.2), (0.6, 1.2)),
    Case("baseline", "5xx", (503, "baseline"), (503, "baseline"), ANY, ANY),
    Case("baseline", CUT, (CUT, None), (CUT, None), ANY, ANY),
]


Seen = tuple[int | str, str | None, float]  # status or CUT, answering backend, wait in seconds


async def _one(base: str, method: str) -> Seen:
    """One request on its own connection (an independent client) and how long it took."""
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as c:
        try:
            body = b"{}" if method == "POST" else None
            r = await c.request(method, "/api/v1/tasks", content=body)
            seen: tuple[int | str, str | None] = (r.status_code, r.headers.get("x-cutover-backend"))
        except httpx.RemoteProtocolError:
            seen = (CUT, None)
    return (*seen, time.perf_counter() - start)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_client_outcome(case: Case) -> None:
    """The client sees the documented status, from the documented backend, within the bounds."""
    healthy = "baseline" if case.broken == "candidate" else "candidate"
    start_mode = case.fault if case.fault in (SLOW, "5xx", CUT) else "ok"
    with (
        upstream_process(case.broken, start_mode) as broken,
        upstream_process(healthy) as other,
    ):
        urls = {broken.name: broken.url, other.name: other.url}
        route = {
            "name": "api",
            "paths": ["/*"],
            "weight_bps": 10_000 if case.broken == "candidate" else 0,
            "fallback_after_s": FALLBACK_AFTER_S,
        }
        timeouts = {"connect_timeout_s": 1.0, "read_timeout_s": READ_TIMEOUT_S}
        config = config_for(
            urls["baseline"],
            urls["candidate"],
            routes=[route],
            upstreams={
                "baseline": {"url": urls["baseline"], **timeouts},
                "candidate": {"url": urls["candidate"], **timeouts},
            },
        )
        gateway = Gateway(config)
        await gateway.start()
        try:
            base = f"http://127.0.0.1:{gateway.public_port}"
            if start_mode == "ok":
                async with httpx.AsyncClient(base_url=base, timeout=10.0) as c:
                    for _ in range(3):  # warm: pooled connections to the soon-broken backend
                        r = await c.get("/api/v1/tasks")
                        assert r.headers["x-cutover-backend"] == case.broken
                if case.fault == "killed":
                    broken.kill()
                else:
                    broken.stop()
            *gets, post = await asyncio.gather(
                *(_one(base, "GET") for _ in range(GETS)), _one(base, "POST")
            )
        finally:
            await gateway.stop()
    longest = max(wait for *_, wait in gets)
    print(
        f"\n{case.id}: GETs {sorted({g[:2] for g in gets}, key=str)} longest {longest:.3f} s;"
        f" POST {post[:2]} {post[2]:.3f} s"
    )
    assert {g[:2] for g in gets} == {case.get}
    assert post[:2] == case.post
    assert case.get_wait[0] <= longest < case.get_wait[1]
    assert case.post_wait[0] <= post[2] < case.post_wait[1]
