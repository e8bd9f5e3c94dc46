"""Small upstream servers for the gateway tests, on asyncio streams (independent of gateway code).

One :class:`Upstream` serves a set of behaviours chosen by path, so a test can exercise a normal
JSON answer and every way an upstream misbehaves:

``/json``            316-byte JSON (``backend`` field says which upstream answered)
``/echo``            JSON with method, target, headers and body size/sha256 of the request
``/status/{n}``      an empty JSON body with status n
``/slow/{ms}``       wait, then answer JSON
``/reset``           close the connection without answering
``/hang``            never answer; sets ``hang_cancelled`` when the gateway gives up on it
``/big/{bytes}``     stream that many bytes with a Content-Length, 64 KiB at a time
``/chunked``         a chunked JSON answer in three chunks
``/eof``             an answer without Content-Length, ended by closing the connection
``/upload``          read the whole (possibly huge) body, answer its size and sha256
``/cut``             a head announcing 1000 bytes, 100 of them, then a reset (fails mid-body)

Setting :attr:`Upstream.frozen` makes every later request hang as ``/hang`` does, on connections
old and new — what a process stopped with SIGSTOP looks like from outside, its kernel still
accepting connections and buffering requests.

A target containing ``close-next`` is answered normally, but the *next* request on the same
connection is met with a reset, like a server whose keep-alive timeout fires as the request arrives.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field


@dataclass
class Seen:
    """What an upstream received, for assertions."""

    requests: list[dict[str, object]] = field(default_factory=list)


class Upstream:
    """An HTTP/1.1 server on 127.0.0.1 with scripted behaviours."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen = Seen()
        self.port = 0
        self.hang_cancelled = asyncio.Event()
        self.hang_started = asyncio.Event()
        self.connections = 0
        self.frozen = False
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Bind a free port."""
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener."""
        if self._server is not None:
            self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            drop_next = False
            while True:
                if drop_next:  # a keep-alive timeout firing just as the next request arrives
                    await reader.readuntil(b"\r\n\r\n")
                    writer.transport.abort()
                    return
                target = await self._one(reader, writer)
                if not target:
                    break
                drop_next = "close-next" in str(target)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [tuple(x.split(":", 1)) for x in lines[1:] if x]
        hmap = {k.strip().lower(): v.strip() for k, v in headers}
        size, digest = await self._read_body(reader, hmap)
        record = {
            "method": method,
            "target": target,
            "headers": [(k.strip().lower(), v.strip()) for k, v in headers],
            "body_size": size,
        }
        self.seen.requests.append(record)
        path = target.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if path == "/reset":
            writer.transport.abort()
            return None
        if path == "/cut":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + b"x" * 100)
            await writer.drain()
            writer.transport.abort()
            return None
        if path == "/hang" or self.frozen:
            self.hang_started.set()
            try:
                await reader.read()  # returns when the gateway closes its side
            finally:
                self.hang_cancelled.set()
            return None
        if parts[0] == "slow":
            await asyncio.sleep(int(parts[1]) / 1000)
        if parts[0] == "big":
            total = int(parts[1])
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
                b"content-length: %d\r\n\r\n" % total
            )
            block = b"x" * 65536
            sent = 0
            while sent < total:
                n = min(len(block), total - sent)
                writer.write(block[:n])
                sent += n
                await writer.drain()
            return target
        if path == "/chunked":
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            for piece in (b'{"parts":', b"[1,2,3]", b"}"):
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            return target
        if path == "/eof":
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n"
                b"until-the-end"
            )
            await writer.drain()
            return None
        status = 200
        if parts[0] == "status":
            status = int(parts[1])
            body = json.dumps({"backend": self.name, "status": status}).encode()
        elif path == "/echo":
            body = json.dumps({"backend": self.name, **record}).encode()
        elif path == "/upload":
            body = json.dumps({"size": size, "sha256": digest}).encode()
        else:
            body = json.dumps({"backend": self.name, "pad": "p" * (290 - len(self.name))}).encode()
        if method == "HEAD":
            writer.write(
                b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                % (status, len(body))
            )
        else:
            writer.write(
                b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"x-upstream: %s\r\nconnection: keep-alive, x-secret\r\nx-secret: hop\r\n\r\n%s"
                % (status, len(body), self.name.encode(), body)
            )
        await writer.drain()
        return target

    async def _read_body(
        self, reader: asyncio.StreamReader, hmap: dict[str, str]
    ) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        if "chunked" in hmap.get("transfer-encoding", "").lower():
            while True:
                line = await reader.readuntil(b"\r\n")
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    await reader.readuntil(b"\r\n")
                    break
                data = await reader.readexactly(n)
                digest.update(data)
                size += n
                await reader.readexactly(2)
        else:
            remaining = int(hmap.get("content-length", "0"))
            while remaining:
                data = await reader.read(min(remaining, 1 << 20))
                if not data:
                    raise asyncio.IncompleteReadError(b"", remaining)
                digest.update(data)
                size += len(data)
                remaining -= len(data)
        return size, digest.hexdigest()
