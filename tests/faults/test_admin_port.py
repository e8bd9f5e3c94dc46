"""The admin port under hostile bodies: a real gateway process must not buffer what it is sent.

Issue #12 item 7: 400 MiB chunked to ``GET /healthz`` grew the gateway by 400-800 MiB. Each test
pushes a chunked body far over the 1 MiB admin limit and reads the process's peak RSS (``VmHWM``)
for the push. ``FAULTS_ADMIN_PUSH_MIB`` sets the size (64 by default, to stay fast; the README's
figure is for 400).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.faults.admin_support import (
    MIB,
    TOKEN,
    GatewayProcess,
    admin_get,
    gateway_process,
    push_chunked,
)

pytestmark = pytest.mark.integration

PUSH_MIB = int(os.environ.get("FAULTS_ADMIN_PUSH_MIB", "64"))
MAX_GROWTH_KIB = 32 * 1024


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayProcess]:
    """One gateway process for the module (start-up is the slow part)."""
    with gateway_process() as gw:
        yield gw


def _peak_growth_kib(
    gw: GatewayProcess, method: str, path: str, headers: str = ""
) -> tuple[int, int | None]:
    before = gw.memory_kib("VmRSS")
    if not gw.reset_peak():
        before = max(before, gw.memory_kib("VmHWM"))
    push = push_chunked(gw.admin_port, method, path, PUSH_MIB * MIB, headers=headers)
    return gw.memory_kib("VmHWM") - before, push.status


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/healthz", "", 413),
        ("PUT", "/routes/default/weight", "", 401),
        ("PUT", "/routes/default/weight", f"Authorization: Bearer {TOKEN}\r\n", 413),
    ],
    ids=["healthz-no-token", "mutating-no-token", "mutating-with-token"],
)
def test_a_huge_chunked_body_is_refused_without_buffering(
    gateway: GatewayProcess, method: str, path: str, headers: str, status: int
) -> None:
    """A chunked body far past the limit gets 401 (no token) or 413 and RSS stays < 32 MiB up."""
    growth_kib, answered = _peak_growth_kib(gateway, method, path, headers)
    assert answered in (status, None), answered  # None: reset by the lingering close first
    assert growth_kib < MAX_GROWTH_KIB, f"peak RSS grew {growth_kib / 1024:.1f} MiB"
    assert admin_get(gateway, "/healthz").status_code == 200


def test_the_answer_comes_before_the_body_ends(gateway: GatewayProcess) -> None:
    """The 413 goes at the limit while the chunked body is still open: nothing waits for its end."""
    push = push_chunked(gateway.admin_port, "GET", "/healthz", 2 * MIB, finish=False, timeout=5)
    assert push.status == 413


def test_a_mutating_call_without_the_token_is_refused_from_the_head(
    gateway: GatewayProcess,
) -> None:
    """401 comes before any body byte is read (the body is still open when it arrives)."""
    push = push_chunked(
        gateway.admin_port, "PUT", "/routes/default/weight", 2 * MIB, finish=False, timeout=5
    )
    assert push.status == 401
