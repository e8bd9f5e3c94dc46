"""``cutover status --watch`` rides out a gateway restart: it says so, retries and resumes."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from gateway.admin_client import AdminClient
from migration.cli import operator
from tests.migration.test_admin_api import Rig, _clean_env, running_rig
from tests.support.servers import free_port

__all__ = ["_clean_env"]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A running gateway with the migration endpoints."""
    async with running_rig(tmp_path) as started:
        yield started


@contextmanager
def admin_relay(port: int, target: str) -> Iterator[None]:
    """A real admin address on ``port`` that relays GETs to ``target``; leaving the block closes it.

    Stopping and starting it on the same port is what a gateway restart looks like to the CLI,
    while the answers stay the real admin API's.
    """

    class Relay(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = httpx.get(target + self.path, timeout=5.0)
            self.send_response(answer.status_code)
            self.send_header("content-type", answer.headers["content-type"])
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args: object) -> None:
            pass

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Relay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_watch_says_the_gateway_is_unreachable_and_resumes(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """Up, down for two refreshes, up again: the watch keeps going and exits 0 after its count."""
    port = free_port()
    with ExitStack() as relay:
        relay.enter_context(admin_relay(port, rig.admin_url))
        # Between refreshes: the gateway goes away, stays away, comes back on the same port.
        actions: Iterator[Callable[[], object]] = iter(
            [
                relay.close,
                lambda: None,
                lambda: relay.enter_context(admin_relay(port, rig.admin_url)),
            ]
        )
        clock = iter(range(36_000, 36_100, 7))  # seconds since the epoch, local time on the frame

        def sleep(_s: float) -> None:
            next(actions)()

        with AdminClient(f"http://127.0.0.1:{port}") as client:
            code = await asyncio.to_thread(
                operator._watch,
                client,
                0.5,
                4,
                sleep=sleep,
                now=lambda: float(next(clock)),
            )
    assert code == 0
    frames = capsys.readouterr().out.split("\n\n")
    assert len(frames) == 4
    assert "tasks" in frames[0]
    assert "unreachable" not in frames[0]
    assert "gateway unreachable since" in frames[1]
    assert ", retrying every 0.5 s" in frames[1]
    assert "tasks" in frames[1]  # the last table stays on screen
    first_failure = frames[1].splitlines()[-1][:8]  # the frame's own time
    assert f"gateway unreachable since {first_failure}, retrying" in frames[1]
    assert f"gateway unreachable since {first_failure}, retrying" in frames[2]
    assert "unreachable" not in frames[3]
    assert "tasks" in frames[3]
