"""Measure the slow-client figures of the README (issue #12 item 6) against a real gateway.

``python -m tests.faults.slow_clients_support`` runs, with the default limits, a body trickled at
one byte every 2 s (with a length and chunked), a head trickled the same way and a connection that
sends nothing, and prints how long each lived and what it was answered.
``python -m tests.faults.slow_clients_support --cap 4`` holds four connections and prints what curl
sees beyond ``max_connections``, then what curl and httpx see from a listener that leaves a
connection in the kernel backlog instead (the alternative, HAProxy's ``maxconn`` way).
``python -m tests.faults.slow_clients_support --many 300`` opens 300 slow-body connections at once
(the issue's reproduction) and prints how many are still open every 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import time

import httpx
from prometheus_client import CollectorRegistry

from gateway.server import Gateway
from tests.gateway.conftest import config_for
from tests.gateway.framing_support import Recorder


async def trickle(port: int, head: bytes, drip: bytes, every_s: float) -> tuple[float, bytes]:
    """Send ``head``, then a byte of ``drip`` every ``every_s``; (lifetime, status line)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.monotonic()
    writer.write(head)

    async def drip_bytes() -> None:
        for i in range(len(drip)):
            await asyncio.sleep(every_s)
            if writer.is_closing():
                return
            writer.write(drip[i : i + 1])

    task = asyncio.create_task(drip_bytes())
    out = b""
    try:
        while chunk := await reader.read(65536):
            out += chunk
    except ConnectionError:
        pass
    task.cancel()
    writer.close()
    return time.monotonic() - t0, out.split(b"\r\n")[0]


async def curl(url: str) -> str:
    """``curl -m 5``'s status and total time."""
    proc = await asyncio.create_subprocess_exec(
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{time_total}s",
        "-m",
        "5",
        url,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return out.decode()


async def trickles(port: int) -> None:
    """Print the lifetimes of slow heads, bodies and silent connections."""
    post = b"POST /in HTTP/1.1\r\nHost: gw\r\n"
    cases = {
        "body Content-Length, 1 B / 2 s": (post + b"Content-Length: 1000\r\n\r\n", b"a" * 1000),
        "body chunked, 1 B / 2 s": (
            post + b"Transfer-Encoding: chunked\r\n\r\n",
            b"3e8\r\n" + b"a" * 1000,
        ),
        "head, 1 B / 2 s": (b"GET /a HTTP/1.1\r\n", b"Host: gw\r\nX: " + b"a" * 100),
        "silent connection": (b"", b""),
    }
    results = await asyncio.gather(
        *(trickle(port, head, drip, 2.0) for head, drip in cases.values())
    )
    for name, (lived, status) in zip(cases, results, strict=True):
        print(f"{name}: lived {lived:.2f} s, answer {status.decode() or '(none)'}")


async def beyond_cap(port: int, cap: int) -> None:
    """Print what a client beyond ``cap`` connections sees, and from a backlogged listener."""
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(cap)]
    await asyncio.sleep(0.2)  # let the gateway accept them
    print(f"curl beyond max_connections={cap}: {await curl(f'http://127.0.0.1:{port}/a')}")
    for sock in held:
        sock.close()
    backlog = socket.socket()
    backlog.bind(("127.0.0.1", 0))
    backlog.listen(16)  # never accepted: what "stop accepting at the cap" looks like to a client
    url = f"http://127.0.0.1:{backlog.getsockname()[1]}/a"
    print(f"curl -m 5 against a listener that leaves it in the backlog: {await curl(url)}")
    t0 = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            await client.get(url)
    except httpx.HTTPError as exc:
        print(
            f"httpx (timeout=5) against it: {type(exc).__name__} after "
            f"{time.monotonic() - t0:.2f} s"
        )
    backlog.close()


async def many(port: int, count: int) -> None:
    """Print how many of ``count`` one-byte-every-2-s uploads are still open, every 5 s."""
    head = b"POST /in HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\n"
    t0 = time.monotonic()
    tasks = [asyncio.create_task(trickle(port, head, b"a" * 1000, 2.0)) for _ in range(count)]
    while True:
        done, _ = await asyncio.wait(tasks, timeout=5.0)
        open_now = count - len(done)
        print(f"after {time.monotonic() - t0:5.1f} s: {open_now} of {count} still open")
        if not open_now:
            statuses = {status for _, status in (t.result() for t in tasks)}
            print(f"answers: {sorted(s.decode() for s in statuses)}")
            return


async def main(cap: int | None, count: int | None) -> None:
    upstream = Recorder()
    await upstream.start()
    limits = {} if cap is None else {"max_connections": cap}
    config = config_for(upstream.url, upstream.url, limits=limits)
    gateway = Gateway(config, CollectorRegistry(), rng=random.Random(1))
    await gateway.start()
    try:
        if count is not None:
            await many(gateway.public_port, count)
        elif cap is None:
            await trickles(gateway.public_port)
        else:
            await beyond_cap(gateway.public_port, cap)
    finally:
        await gateway.stop()
        await upstream.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cap", type=int, default=None, help="max_connections to measure")
    parser.add_argument("--many", type=int, default=None, help="slow uploads to open at once")
    args = parser.parse_args()
    asyncio.run(main(args.cap, args.many))
