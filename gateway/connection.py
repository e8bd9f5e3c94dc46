"""One client connection's parsing: httptools (llhttp) callbacks into requests, framing refused at
headers-complete, chunk-framing bytes bounded.

:class:`HttpConnection` is what a :class:`gateway.listener.Listener` makes per accepted socket. It
turns bytes into :class:`gateway.request.Request` objects and hands each to its request cycle
(:class:`gateway.request_cycle.RequestCycle`, its base), which dispatches, orders and answers them.
What is decided here (the full list is in :mod:`gateway.http`):

* Framing is decided completely at headers-complete, before dispatch, by
  :func:`gateway.framing.decide`; llhttp refuses the grossest cases while parsing, mapped to the
  same reasons. A head over :data:`MAX_HEAD_BYTES` is refused 431.
* Chunk extensions: llhttp does not buffer them and httptools exposes no callback for them, and the
  gateway re-chunks what it forwards (extensions never pass). Their bytes are bounded all the same
  (Node.js: CVE-2024-22019): framing bytes that are not chunk data, beyond a 20-byte allowance per
  chunk, may total :data:`MAX_CHUNK_OVERHEAD` per request (counted from the read after the head).
* After an upgrade the parser stops; later bytes go to the tunnel (or wait for it).
"""

from __future__ import annotations

import httptools

from gateway.framing import Rejection, decide, reason_for_parse_error
from gateway.request import BodyStream, Request
from gateway.request_cycle import ConnectionOwner, RequestCycle

MAX_HEAD_BYTES = 64 * 1024
#: Chunk-size lines, extensions and trailers of one request beyond the per-chunk allowance.
MAX_CHUNK_OVERHEAD = 16 * 1024
CHUNK_FRAME_ALLOWANCE = 20  # 16 hex digits + two CRLFs
_FRAMING = frozenset(
    {b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"connection", b"host"}
)


class HeadTooLarge(Exception):
    """The request line plus headers exceed :data:`MAX_HEAD_BYTES`."""


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a refused request (see ``_refusal``)."""


class HttpConnection(RequestCycle):
    """One client connection: parse its bytes into requests for the request cycle.

    Slotted, like :class:`gateway.upstream.UpstreamConnection`: attribute reads on the
    hot path are slot loads rather than instance-dict lookups (callgrind: a few
    thousand instructions per request).
    """

    __slots__ = (
        "_chunk_bytes", "_chunk_state", "_chunks", "_head_bytes", "_headers", "_parser",
        "_refusal", "_url",
    )  # fmt: skip

    def __init__(self, listener: ConnectionOwner) -> None:
        super().__init__(listener)
        self._parser = httptools.HttpRequestParser(self)
        self._refusal: Rejection | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        # Chunk framing bytes of a chunked body in flight: 0 not counting, 1 the read carrying the
        # head (its split is unknown: not counted), 2 counting, 3 the body ended in this read
        # (counted, then 0).
        self._chunk_state = 0
        self._chunk_bytes = 0
        self._chunks = 0

    def data_received(self, data: bytes) -> None:
        if self._upgraded:
            if self.tunnel is not None:
                self.tunnel(data)
            else:
                self._pending.append(data)
            return
        if self._lingering or self._stopped:
            return  # after a close: ignored (§9.6), drained so the answer is not reset away
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._release_ready()
            self._upgraded = True
            tail = data[exc.args[0] :]
            if self._parsing is not None:
                self._parsing.upgrade_tail = tail
        except httptools.HttpParserCallbackError:
            # Refused in a callback (framing, HeadTooLarge); read from our own state, not from the
            # error's __context__, which compiled callbacks do not set.
            self._release_ready()  # a complete request before the refused one goes first
            if not self._stopped:
                refusal, self._refusal = self._refusal, None
                if refusal is None:
                    refusal = Rejection(400, "bad_request", "callback failed")
                self._refuse(refusal.status, refusal.reason)
        except httptools.HttpParserError as exc:
            self._release_ready()
            if not self._stopped:  # not the bytes after a request that closes the connection
                self._refuse(400, reason_for_parse_error(str(exc)))
        else:
            if self._chunk_state:
                self._count_chunk_framing(len(data))
            self._release_ready()

    def _release_ready(self) -> None:
        """Dispatch a held chunked request whose body ended in the read just parsed.

        Held until the read is parsed so that its chunk framing is counted first.
        """
        if self._ready:
            self._ready = False
            if self._deferred is not None:
                self._release(self._deferred)

    # ----------------------------------------------------------------- parser callbacks

    def on_message_begin(self) -> None:
        self._in_head = True
        self._begun = True

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refusal = Rejection(431, "header_too_large", "head over the limit")
            raise HeadTooLarge()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refusal = Rejection(431, "header_too_large", "head over the limit")
            raise HeadTooLarge()

    def on_headers_complete(self) -> None:
        parser = self._parser
        self._in_head = False
        self._head_epoch += 1
        req = Request(self, parser.get_method(), self._url, self._headers)
        self._url, self._headers, self._head_bytes = b"", [], 0  # ready for the next message
        req.keep_alive = keep_alive = bool(parser.should_keep_alive())
        expect = connection = False
        te: bytes | None = None
        cl: bytes | None = None
        host: bytes | None = None
        cls = hosts = 0
        for name, value in req.headers:
            if name not in _FRAMING:  # one set probe for the common header instead of six ==
                continue
            if name == b"host":
                host = value
                hosts += 1
            elif name == b"connection":
                connection = True
            elif name == b"content-length":
                cl = value if cl is None else cl
                cls += 1
            elif name == b"transfer-encoding":
                te = value if te is None else te + b"," + value
            elif name == b"expect":
                expect = value.lower() == b"100-continue"
            elif name == b"upgrade" and parser.should_upgrade():
                req.upgrade = value
        # Without a Connection header llhttp keeps a request alive exactly when its version is
        # 1.1 (1.0 needs "keep-alive"); get_http_version() formats a string, ~2k instructions.
        req.http11 = keep_alive if not connection else parser.get_http_version() == "1.1"
        framing = decide(req.http11, te, cl, cls, host, hosts)
        if isinstance(framing, Rejection):
            self._refusal = framing
            raise _Refused()
        req.content_length = framing.content_length
        req.chunked = framing.chunked
        if framing.chunked or framing.content_length:
            req.body = BodyStream(self, expect and req.http11)
            if framing.chunked:
                self._chunk_state = 1
        self._parsing = req
        if not self._busy:
            self._start(req)
        else:
            self._pipeline.append(req)

    def on_body(self, body: bytes) -> None:
        req = self._parsing
        if req is not None and req.body is not None:
            req.body.feed(body)
            if self._chunk_state:
                self._chunk_bytes -= len(body)
                if (
                    req is self._deferred
                    and req.body.received > self.listener.limits.buffer_chunked_bytes
                ):
                    self._release(req)

    def on_chunk_header(self) -> None:
        self._chunks += 1

    def on_message_complete(self) -> None:
        req = self._parsing
        if req is not None:
            if req.body is not None:
                req.body.finish()
                self._chunk_state = 3 if self._chunk_state == 2 else 0  # count this read, then stop
                if req is self._deferred:
                    req.chunked, req.content_length = False, req.body.received
                    self._ready = True
            if not req.keep_alive and req.upgrade is None:
                self._stopped = True  # §9.6: anything after a closing request is not read

    def _count_chunk_framing(self, size: int) -> None:
        """Bound chunk-size lines, extensions and trailers (see :data:`MAX_CHUNK_OVERHEAD`)."""
        if self._chunk_state == 1:  # the read that carried the head: start counting afresh
            self._chunk_state, self._chunk_bytes, self._chunks = 2, 0, 0
            return
        self._chunk_bytes += size
        self._chunk_state = 2 if self._chunk_state == 2 else 0
        if self._chunk_bytes - self._chunks * CHUNK_FRAME_ALLOWANCE > MAX_CHUNK_OVERHEAD:
            self._chunk_state = 0
            if self._ready:  # the held request ended in this read: refused, never dispatched
                self._ready = False
                self._deferred = self._active = None
                self._busy = False
            self._refuse(400, "chunk_extension_too_large")
