"""Request framing decisions (RFC 9112), sans-io: facts about a request head in, a verdict out.

The server layer (:mod:`gateway.http`) gathers the framing fields while it walks the head once and
asks :func:`decide` at headers-complete, *before* the request is dispatched, so an ambiguous request
never reaches an upstream. llhttp (under httptools) already refuses the grossest framing errors
while parsing — a Content-Length with a Transfer-Encoding, duplicate or non-numeric Content-Length,
a Transfer-Encoding listing ``chunked`` twice or not last — and :func:`reason_for_parse_error` maps
its messages onto the same bounded reasons; :func:`decide` covers what llhttp lets through and is
the single statement of the policy either way:

* Transfer-Encoding (§6.1, §6.3 ¶4): accepted only as exactly one final ``chunked`` (tokens compared
  case-insensitively, so ``xchunked`` is not chunked). A last coding other than ``chunked`` leaves
  the body length undeterminable: 400 and close. ``chunked`` after other codings (``gzip, chunked``)
  is well framed but the gateway implements no other coding and would otherwise forward gzip bytes
  as plain content: 501 Not Implemented (§6.1: "a server that receives a request message with a
  transfer coding it does not understand SHOULD respond with 501"). Transfer-Encoding in an HTTP/1.0
  request: the framing is faulty (§6.1), 400.
* Content-Length with Transfer-Encoding (§6.1 lets a server reject; §6.3 ¶3 calls it a smuggling
  vector): 400, as HAProxy and nginx do. A Content-Length that is not one decimal number, or appears
  more than once (even with equal values, which llhttp refuses too): 400 (§6.3 ¶5, RFC 9110 §8.6).
* Host (§3.2): an HTTP/1.1 request without one, any request with more than one, or one whose value
  is not a ``uri-host [":" port]``: 400.

Every rejection is answered by the server layer with a small JSON body and ``Connection: close``
(§9.6: after a framing error the rest of the byte stream cannot be trusted). ``reason`` is the
bounded label of ``cutover_requests_rejected_total``.

The other direction, relaying an upstream's response to the client, is decided here too, once for
both the callback fast path and the task path: :func:`response_framing` (chunked or not, keep the
connection or not) and :func:`chunk` / :data:`LAST_CHUNK` (the chunked coding's bytes, §7.1), which
the request body streamed upstream uses as well.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CHUNKED",
    "EMPTY",
    "LAST_CHUNK",
    "NO_BODY",
    "REASONS",
    "Framing",
    "Rejection",
    "chunk",
    "decide",
    "reason_for_parse_error",
    "response_framing",
]


class Framing:
    """An accepted request: how its body is delimited (``content_length``
    None and not chunked: none)."""

    __slots__ = ("chunked", "content_length")

    def __init__(self, content_length: int | None, chunked: bool) -> None:
        self.content_length = content_length
        self.chunked = chunked

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Framing)
            and other.content_length == self.content_length
            and other.chunked == self.chunked
        )

    def __hash__(self) -> int:
        return hash((self.content_length, self.chunked))

    def __repr__(self) -> str:
        return f"Framing(content_length={self.content_length!r}, chunked={self.chunked!r})"


class Rejection:
    """A request answered by the gateway and never forwarded: status, metric label, explanation."""

    __slots__ = ("detail", "reason", "status")

    def __init__(self, status: int, reason: str, detail: str) -> None:
        self.status = status
        self.reason = reason
        self.detail = detail

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Rejection)
            and other.status == self.status
            and other.reason == self.reason
        )

    def __hash__(self) -> int:
        return hash((self.status, self.reason))

    def __repr__(self) -> str:
        return f"Rejection({self.status}, {self.reason!r}, {self.detail!r})"


#: Shared verdicts for the common cases: no allocation per request.
NO_BODY: Final = Framing(None, False)
EMPTY: Final = Framing(0, False)  # ``Content-Length: 0``, forwarded as such (a POST may need it)
CHUNKED: Final = Framing(None, True)

#: Every ``reason`` this module or the server layer can report (the metric's label values).
REASONS: Final = (
    "bad_request",
    "bad_transfer_encoding",
    "unsupported_transfer_encoding",
    "content_length_with_transfer_encoding",
    "bad_content_length",
    "duplicate_content_length",
    "missing_host",
    "duplicate_host",
    "bad_host",
    "bad_chunk",
    "chunk_extension_too_large",
    "header_too_large",
)

_BAD_TE_HTTP10 = Rejection(
    400, "bad_transfer_encoding", "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)"
)
_TE_NOT_CHUNKED = Rejection(
    400,
    "bad_transfer_encoding",
    "chunked is not the final transfer coding: body length unknown (RFC 9112 §6.3)",
)
_TE_CHUNKED_TWICE = Rejection(
    400, "bad_transfer_encoding", "chunked applied more than once (RFC 9112 §6.1)"
)
_TE_UNSUPPORTED = Rejection(
    501,
    "unsupported_transfer_encoding",
    "transfer codings other than chunked are not implemented (RFC 9112 §6.1)",
)
_CL_WITH_TE = Rejection(
    400,
    "content_length_with_transfer_encoding",
    "Content-Length together with Transfer-Encoding (RFC 9112 §6.1, §6.3)",
)
_CL_BAD = Rejection(400, "bad_content_length", "invalid Content-Length (RFC 9112 §6.3)")
_CL_DUP = Rejection(400, "duplicate_content_length", "more than one Content-Length (RFC 9112 §6.3)")
_HOST_MISSING = Rejection(400, "missing_host", "HTTP/1.1 request without Host (RFC 9112 §3.2)")
_HOST_DUP = Rejection(400, "duplicate_host", "more than one Host field (RFC 9112 §3.2)")
_HOST_BAD = Rejection(400, "bad_host", "invalid Host value (RFC 9112 §3.2, RFC 3986 §3.2.2)")

_DIGITS: Final = b"0123456789"
#: RFC 3986 ``reg-name`` / IP-literal / ``:port`` characters: unreserved, sub-delims, ``%``, ``:``,
#: ``[``, ``]``. Deleting them from a value leaves nothing for a valid Host.
_HOST_CHARS: Final = (
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:[]"
)
#: Content-Length above this is refused rather than parsed into a huge int (19 digits fit int64).
_MAX_LENGTH_DIGITS: Final = 18


def decide(
    http11: bool,
    transfer_encoding: bytes | None,
    content_length: bytes | None,
    content_lengths: int,
    host: bytes | None,
    hosts: int,
) -> Framing | Rejection:
    """How to frame a request's body, or why to refuse it.

    ``transfer_encoding`` is the combined value of every Transfer-Encoding field line (joined with
    ``,`` as RFC 9110 §5.3 allows), ``content_length`` the first Content-Length value and
    ``content_lengths`` how many there were; ``host``/``hosts`` likewise for Host.
    """
    if hosts != 1:
        if hosts > 1:
            return _HOST_DUP
        if http11:
            return _HOST_MISSING
    elif host and host.translate(None, _HOST_CHARS):
        return _HOST_BAD
    if transfer_encoding is not None:
        if content_lengths:
            return _CL_WITH_TE
        if not http11:
            return _BAD_TE_HTTP10
        return _transfer_coding(transfer_encoding)
    if content_length is None:
        return NO_BODY
    if content_lengths > 1:
        return _CL_DUP
    if (
        not content_length
        or len(content_length) > _MAX_LENGTH_DIGITS
        or content_length.translate(None, _DIGITS)
    ):
        return _CL_BAD
    length = int(content_length)
    return EMPTY if length == 0 else Framing(length, False)


def _transfer_coding(value: bytes) -> Framing | Rejection:
    """§6.1/§6.3: only a single, final ``chunked`` is forwarded; see the module docstring."""
    if value.lower() == b"chunked":  # the only common case: one token, nothing around it
        return CHUNKED
    codings = [t.strip(b" \t").lower() for t in value.split(b",")]
    codings = [c for c in codings if c]  # RFC 9110 §5.6.1: empty list elements are ignored
    if not codings or codings[-1] != b"chunked":
        return _TE_NOT_CHUNKED
    if b"chunked" in codings[:-1]:
        return _TE_CHUNKED_TWICE
    if len(codings) > 1:
        return _TE_UNSUPPORTED
    return CHUNKED


def reason_for_parse_error(message: str) -> str:
    """The bounded reason for an llhttp parse error message (``HttpParserError`` text).

    llhttp's messages name the field at fault ("Duplicate Content-Length", "Invalid character in
    chunk size", "Transfer-Encoding can't be present with Content-Length", ...); anything else in
    the request line or header syntax is ``bad_request``.
    """
    text = message.lower()
    if "content-length" in text and "transfer-encoding" in text:
        return "content_length_with_transfer_encoding"
    if "duplicate content-length" in text:
        return "duplicate_content_length"
    if "content-length" in text:
        return "bad_content_length"
    if "transfer-encoding" in text:
        return "bad_transfer_encoding"
    if "chunk" in text:
        return "bad_chunk"
    return "bad_request"


# --------------------------------------------------------------------------- responses, chunks

#: The last chunk of a chunked message, with no trailer section (RFC 9112 §7.1).
LAST_CHUNK: Final = b"0\r\n\r\n"


def chunk(data: bytes) -> list[bytes]:
    """``data`` as one chunk (RFC 9112 §7.1): size line, data, CRLF —
    three parts for ``writelines``.

    Not joined into one bytes object: the data is never copied, and a socket write gathers the
    parts. ``data`` must not be empty (an empty chunk is the last one).
    """
    return [b"%x\r\n" % len(data), data, b"\r\n"]


def response_framing(
    length: int | None, complete: bool, http11: bool, keep_alive: bool
) -> tuple[bool, bool]:
    """``(chunked, keep_alive)`` for relaying an upstream response to the client.

    ``length`` is the Content-Length the client will be sent (None: unknown), ``complete`` whether
    the whole body is already here, ``http11`` the client's version and ``keep_alive`` whether the
    client's connection may otherwise stay open (it asked for it and nothing has decided to close).
    A body of known length is sent as is. One of unknown length still arriving is re-framed chunked
    for an HTTP/1.1 client (§7), and delimited by closing the connection for an HTTP/1.0 one (§6.3
    ¶8): then the connection cannot be kept.
    """
    if length is not None or complete:
        return False, keep_alive
    return http11, keep_alive and http11
