"""A raw-socket recording upstream and a raw client, for the framing and slow-client suites.

The upstream records every byte it receives (per connection) and the targets of the requests it
parsed, then answers each with a small JSON 200 naming the target; nothing in it shares code with
the gateway. The client writes raw bytes and splits what comes back into responses.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class Recorder:
    """An HTTP/1.1 upstream on 127.0.0.1 that records what reaches it."""

    port: int = 0
    raw: list[bytearray] = field(default_factory=list)
    targets: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    heads: list[bytes] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def received(self) -> bytes:
        """Every byte received, all connections."""
        return b"".join(bytes(r) for r in self.raw)

    async def start(self) -> None:
        """Bind a free port."""
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener."""
        if self._server is not None:
            self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = bytearray()
        self.raw.append(raw)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                raw += head
                self.heads.append(head)
                lines = head.split(b"\r\n")
                target = lines[0].split(b" ")[1]
                fields = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(b":") for line in lines[1:] if line)
                }
                body = b""
                if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
                    while True:
                        size_line = await reader.readuntil(b"\r\n")
                        raw += size_line
                        size = int(size_line.split(b";")[0], 16)
                        if size == 0:
                            while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                                raw += line
                            raw += b"\r\n"
                            break
                        chunk = await reader.readexactly(size + 2)
                        raw += chunk
                        body += chunk[:-2]
                elif b"content-length" in fields:
                    body = await reader.readexactly(int(fields[b"content-length"]))
                    raw += body
                self.targets.append(target)
                self.bodies.append(body)
                answer = b'{"target":"%s","body":%d}' % (target, len(body))
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(answer), answer)
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


@dataclass
class Response:
    """One response read from a raw byte stream."""

    status: int
    headers: dict[bytes, bytes]
    body: bytes


def split_responses(data: bytes) -> list[Response]:
    """Split a stream of HTTP/1.1 responses framed by Content-Length (the gateway's own answers)."""
    out: list[Response] = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])
        }
        if status < 200:  # interim (100 Continue)
            data = rest
            continue
        length = int(headers.get(b"content-length", b"0"))
        out.append(Response(status, headers, rest[:length]))
        data = rest[length:]
    return out


async def exchange(port: int, data: bytes, limit_s: float = 5.0) -> bytes:
    """Write ``data`` to ``port`` in one go, then read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return await asyncio.wait_for(_read_to_eof(reader), limit_s)
    finally:
        writer.close()


async def _read_to_eof(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            out += chunk
    return bytes(out)
