"""Raw request bytes against a real gateway and a recording upstream (RFC 9112, issue #12 item 5).

Each case checks both sides: what the client got (statuses in order, ``Connection: close``, the
JSON reason) and what reached the upstream (nothing at all for a refused request).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry

from gateway.server import Gateway
from tests.gateway.conftest import config_for
from tests.gateway.framing_support import Recorder, exchange, split_responses


@dataclass
class Rig:
    """A gateway in front of one recording upstream (both backends point at it)."""

    gateway: Gateway
    upstream: Recorder
    registry: CollectorRegistry

    def rejected(self, reason: str) -> float:
        value = self.registry.get_sample_value(
            "cutover_requests_rejected_total", {"listener": "public", "reason": reason}
        )
        return value or 0.0


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    """A started gateway and recorder, stopped after the test."""
    upstream = Recorder()
    await upstream.start()
    registry = CollectorRegistry()
    gateway = Gateway(config_for(upstream.url, upstream.url), registry, rng=random.Random(1))
    await gateway.start()
    yield Rig(gateway, upstream, registry)
    await gateway.stop()
    await upstream.stop()


POST = b"POST /in HTTP/1.1\r\nHost: gw\r\n"

#: A chunked body of one 5-byte chunk ("hello") and the last chunk.
HELLO_CHUNKED = b"5\r\nhello\r\n0\r\n\r\n"

#: (id, raw bytes, status, reason) — every one refused, nothing forwarded.
REFUSED = [
    (
        "te-xchunked",
        POST + b"Transfer-Encoding: xchunked\r\n\r\n" + HELLO_CHUNKED,
        400,
        "bad_transfer_encoding",
    ),
    (
        "te-gzip-chunked",
        POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + HELLO_CHUNKED,
        501,
        "unsupported_transfer_encoding",
    ),
    (
        "te-two-fields",
        POST + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + HELLO_CHUNKED,
        501,
        "unsupported_transfer_encoding",
    ),
    (
        "te-chunked-gzip",
        POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n" + HELLO_CHUNKED,
        400,
        "bad_transfer_encoding",
    ),
    (
        "te-http10",
        b"POST /in HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + HELLO_CHUNKED,
        400,
        "bad_transfer_encoding",
    ),
    (
        "cl-and-te",
        POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + HELLO_CHUNKED,
        400,
        "content_length_with_transfer_encoding",
    ),
    (
        "te-and-cl",
        POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + HELLO_CHUNKED,
        400,
        "content_length_with_transfer_encoding",
    ),
    (
        "cl-twice-differ",
        POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        400,
        "duplicate_content_length",
    ),
    (
        "cl-twice-same",
        POST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        400,
        "duplicate_content_length",
    ),
    ("cl-list", POST + b"Content-Length: 5, 5\r\n\r\nhello", 400, "bad_content_length"),
    ("cl-plus", POST + b"Content-Length: +5\r\n\r\nhello", 400, "bad_content_length"),
    (
        "cl-overflow",
        POST + b"Content-Length: 99999999999999999999999\r\n\r\nhello",
        400,
        "bad_content_length",
    ),
    ("no-host", b"GET /a HTTP/1.1\r\n\r\n", 400, "missing_host"),
    ("two-hosts", b"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate_host"),
    ("bad-host", b"GET /a HTTP/1.1\r\nHost: a/b@c\r\n\r\n", 400, "bad_host"),
    (
        "bad-chunk-size",
        POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        400,
        "bad_chunk",
    ),
    (
        "chunk-size-overflow",
        POST + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nx\r\n0\r\n\r\n",
        400,
        "bad_chunk",
    ),
    (
        "chunk-lf-only",
        POST + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
        400,
        "bad_chunk",
    ),
    (
        "chunk-data-too-long",
        POST + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
        400,
        "bad_chunk",
    ),
    ("obs-fold", b"GET /a HTTP/1.1\r\nHost: gw\r\nX: a\r\n b\r\n\r\n", 400, "bad_request"),
    ("space-before-colon", b"GET /a HTTP/1.1\r\nHost : gw\r\n\r\n", 400, "bad_request"),
    ("bare-lf", b"GET /a HTTP/1.1\nHost: gw\n\n", 400, "bad_request"),
    ("not-http", b"HELLO\r\n\r\n", 400, "bad_request"),
]


@pytest.mark.parametrize(
    ("data", "status", "reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
async def test_ambiguous_requests_are_refused_and_never_forwarded(
    rig: Rig, data: bytes, status: int, reason: str
) -> None:
    """Each ambiguous request gets its 400/501 JSON, Connection: close; no byte goes upstream."""
    out = split_responses(await exchange(rig.gateway.public_port, data))
    assert [r.status for r in out] == [status]
    assert out[0].headers[b"connection"] == b"close"
    assert json.loads(out[0].body)["reason"] == reason
    assert rig.upstream.received == b""
    assert rig.rejected(reason) == 1


async def test_oversize_chunk_extension_is_refused(rig: Rig) -> None:
    """Chunk extensions over 16 KiB in a request are refused 400 before the body reaches anyone."""
    head = POST + b"Transfer-Encoding: chunked\r\n\r\n"
    # Longer than one socket read (256 KiB), so it is counted even if it arrives with the head.
    body = b"5;" + b"x" * 400_000 + b"\r\nhello\r\n0\r\n\r\n"
    out = split_responses(await exchange(rig.gateway.public_port, head + body))
    assert [r.status for r in out] == [400]
    assert json.loads(out[0].body)["reason"] == "chunk_extension_too_large"
    assert rig.upstream.received == b""


async def test_small_chunked_body_is_forwarded_with_a_length_and_no_extensions(rig: Rig) -> None:
    """A small chunked body is read first, forwarded with Content-Length; extensions never pass."""
    data = (
        POST + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    out = split_responses(await exchange(rig.gateway.public_port, data))
    assert [r.status for r in out] == [200]
    assert rig.upstream.bodies == [b"hello world"]
    assert b"content-length: 11\r\n" in rig.upstream.heads[0].lower()
    assert b"name=value" not in rig.upstream.received


async def test_bad_chunk_after_the_buffered_part_aborts_the_upstream_exchange(rig: Rig) -> None:
    """A bad chunk beyond the buffer: 400 to the client; the upstream never gets a last chunk."""
    big = b"%x\r\n%s\r\n" % (100_000, b"a" * 100_000)
    data = POST + b"Transfer-Encoding: chunked\r\n\r\n" + big + b"zz\r\n"
    out = split_responses(await exchange(rig.gateway.public_port, data))
    assert [r.status for r in out] == [400]
    assert json.loads(out[0].body)["reason"] == "bad_chunk"
    assert rig.upstream.targets == []  # no complete request reached it
    assert not rig.upstream.received.endswith(b"0\r\n\r\n")
    errors = [
        sample
        for family in rig.registry.collect()
        if family.name == "cutover_upstream_errors"
        for sample in family.samples
        if sample.value
    ]
    assert errors == []  # the client's fault is not booked against the upstream


PIPELINED = [
    (
        "close-then-more",
        b"GET /a HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
        b"GET /b HTTP/1.1\r\nHost: gw\r\n\r\n",
        [200],
        [b"/a"],
    ),
    ("http10-then-more", b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n", [200], [b"/a"]),
    (
        "three-in-order",
        b"GET /a HTTP/1.1\r\nHost: gw\r\n\r\nGET /b HTTP/1.1\r\nHost: gw\r\n\r\n"
        b"GET /c HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
        [200, 200, 200],
        [b"/a", b"/b", b"/c"],
    ),
    (
        "good-then-garbage",
        b"GET /a HTTP/1.1\r\nHost: gw\r\n\r\nNOT HTTP\r\n\r\n",
        [200, 400],
        [b"/a"],
    ),
    (
        "good-then-xchunked",
        b"GET /a HTTP/1.1\r\nHost: gw\r\n\r\n"
        + POST
        + b"Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        [200, 400],
        [b"/a"],
    ),
    (
        "good-post-then-no-host",
        POST + b"Content-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\n",
        [200, 400],
        [b"/in"],
    ),
]


@pytest.mark.parametrize(
    ("data", "statuses", "targets"), [c[1:] for c in PIPELINED], ids=[c[0] for c in PIPELINED]
)
async def test_pipelined_requests_are_answered_in_order(
    rig: Rig, data: bytes, statuses: list[int], targets: list[bytes]
) -> None:
    """Pipelined requests are answered in order; nothing after a closing or refused one goes on."""
    out = split_responses(await exchange(rig.gateway.public_port, data))
    assert [r.status for r in out] == statuses
    for response, target in zip(out, targets, strict=False):
        assert json.loads(response.body)["target"] == target.decode()
    assert out[-1].headers.get(b"connection") == b"close"
    assert rig.upstream.targets == targets


async def test_held_chunked_body_gets_its_100_continue_from_the_gateway(rig: Rig) -> None:
    """A small chunked request with Expect: 100-continue is told to go on before its dispatch."""
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.gateway.public_port)
    try:
        writer.write(
            POST
            + b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        assert rig.upstream.received == b""  # held: nothing forwarded yet
        writer.write(b"5\r\nhello\r\n0\r\n\r\n")
        out = split_responses(await asyncio.wait_for(reader.read(-1), 5))
    finally:
        writer.close()
    assert [r.status for r in out] == [200]
    assert rig.upstream.bodies == [b"hello"]
    assert b"expect" not in rig.upstream.heads[0].lower()
