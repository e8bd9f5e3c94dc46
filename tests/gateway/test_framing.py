"""Request framing decisions (RFC 9112 §3.2, §6.1, §6.3) as a table of head facts → verdicts."""

from __future__ import annotations

import pytest

from gateway import framing
from gateway.framing import CHUNKED, EMPTY, NO_BODY, Framing, Rejection, decide

H = b"example.org"

#: (http11, transfer-encoding, content-length, count of CL fields, host, count of Host fields)
ACCEPTED: list[tuple[tuple[bool, bytes | None, bytes | None, int, bytes | None, int], Framing]] = [
    ((True, None, None, 0, H, 1), NO_BODY),
    ((True, None, b"0", 1, H, 1), EMPTY),
    ((True, None, b"12", 1, H, 1), Framing(12, False)),
    ((True, None, b"000123", 1, H, 1), Framing(123, False)),
    ((True, b"chunked", None, 0, H, 1), CHUNKED),
    ((True, b"Chunked", None, 0, H, 1), CHUNKED),
    ((True, b" chunked ", None, 0, H, 1), CHUNKED),
    ((True, b"chunked,", None, 0, H, 1), CHUNKED),
    ((False, None, None, 0, None, 0), NO_BODY),  # HTTP/1.0 may omit Host
    ((False, None, b"5", 1, None, 0), Framing(5, False)),
    ((True, None, None, 0, b"", 1), NO_BODY),  # §3.2: empty Host allowed
    ((True, None, None, 0, b"127.0.0.1:8080", 1), NO_BODY),
    ((True, None, None, 0, b"[::1]:8080", 1), NO_BODY),
]

REFUSED: list[tuple[tuple[bool, bytes | None, bytes | None, int, bytes | None, int], int, str]] = [
    ((True, b"xchunked", None, 0, H, 1), 400, "bad_transfer_encoding"),
    ((True, b"chunkedx", None, 0, H, 1), 400, "bad_transfer_encoding"),
    ((True, b"gzip", None, 0, H, 1), 400, "bad_transfer_encoding"),
    ((True, b"chunked, gzip", None, 0, H, 1), 400, "bad_transfer_encoding"),
    ((True, b"chunked;x=1", None, 0, H, 1), 400, "bad_transfer_encoding"),
    ((True, b"chunked, chunked", None, 0, H, 1), 400, "bad_transfer_encoding"),
    ((True, b"", None, 0, H, 1), 400, "bad_transfer_encoding"),
    ((True, b"gzip, chunked", None, 0, H, 1), 501, "unsupported_transfer_encoding"),
    ((True, b"gzip,chunked", None, 0, H, 1), 501, "unsupported_transfer_encoding"),
    ((True, b"identity, chunked", None, 0, H, 1), 501, "unsupported_transfer_encoding"),
    ((False, b"chunked", None, 0, H, 1), 400, "bad_transfer_encoding"),
    ((True, b"chunked", b"5", 1, H, 1), 400, "content_length_with_transfer_encoding"),
    ((True, None, b"5", 2, H, 1), 400, "duplicate_content_length"),
    ((True, None, b"-5", 1, H, 1), 400, "bad_content_length"),
    ((True, None, b"+5", 1, H, 1), 400, "bad_content_length"),
    ((True, None, b"5, 5", 1, H, 1), 400, "bad_content_length"),
    ((True, None, b"", 1, H, 1), 400, "bad_content_length"),
    ((True, None, b"1" * 19, 1, H, 1), 400, "bad_content_length"),
    ((True, None, None, 0, None, 0), 400, "missing_host"),
    ((True, None, None, 0, H, 2), 400, "duplicate_host"),
    ((False, None, None, 0, H, 2), 400, "duplicate_host"),
    ((True, None, None, 0, b"a b", 1), 400, "bad_host"),
    ((True, None, None, 0, b"evil.com/x", 1), 400, "bad_host"),
    ((True, None, None, 0, b"user@evil.com", 1), 400, "bad_host"),
]


@pytest.mark.parametrize(("facts", "expected"), ACCEPTED)
def test_well_framed_requests_are_forwarded_with_their_framing(
    facts: tuple[bool, bytes | None, bytes | None, int, bytes | None, int], expected: Framing
) -> None:
    """One final chunked, one decimal Content-Length or neither, with one valid Host: accepted."""
    assert decide(*facts) == expected


@pytest.mark.parametrize(("facts", "status", "reason"), REFUSED)
def test_ambiguous_requests_are_refused(
    facts: tuple[bool, bytes | None, bytes | None, int, bytes | None, int], status: int, reason: str
) -> None:
    """Anything ambiguous is refused with the status the RFC names and a bounded reason."""
    verdict = decide(*facts)
    assert isinstance(verdict, Rejection)
    assert (verdict.status, verdict.reason) == (status, reason)
    assert verdict.reason in framing.REASONS
    assert "RFC 9112" in verdict.detail


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            "Transfer-Encoding can't be present with Content-Length",
            "content_length_with_transfer_encoding",
        ),
        (
            "Content-Length can't be present with Transfer-Encoding",
            "content_length_with_transfer_encoding",
        ),
        ("Duplicate Content-Length", "duplicate_content_length"),
        ("Invalid character in Content-Length", "bad_content_length"),
        ("Content-Length overflow", "bad_content_length"),
        ("Invalid `Transfer-Encoding` header value", "bad_transfer_encoding"),
        ("Invalid character in chunk size", "bad_chunk"),
        ("Chunk size overflow", "bad_chunk"),
        ("Invalid method encountered", "bad_request"),
    ],
)
def test_llhttp_errors_map_to_the_same_reasons(message: str, reason: str) -> None:
    """What llhttp refuses while parsing is counted under the reason decide() would give."""
    assert framing.reason_for_parse_error(message) == reason
    assert reason in framing.REASONS


def test_common_verdicts_are_shared() -> None:
    """The body-less and plain-chunked verdicts are constants: no allocation per request."""
    assert decide(True, None, None, 0, H, 1) is NO_BODY
    assert decide(True, b"chunked", None, 0, H, 1) is CHUNKED


def test_all_is_pinned() -> None:
    """The module's public names are deliberate."""
    assert sorted(framing.__all__) == sorted(
        [
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
    )


#: (length sent, body complete, client HTTP/1.1, client connection may stay) → (chunked, keep-alive)
RESPONSES: list[tuple[tuple[int | None, bool, bool, bool], tuple[bool, bool]]] = [
    ((316, False, True, True), (False, True)),  # known length: sent as is
    ((316, False, False, True), (False, True)),  # HTTP/1.0 keep-alive with a length
    ((316, True, True, False), (False, False)),  # the client's connection closes anyway
    ((None, True, True, True), (False, True)),  # complete, no length (no body: HEAD, 204, 304)
    ((None, False, True, True), (True, True)),  # unknown length, still arriving: chunked
    ((None, False, True, False), (True, False)),  # chunked, connection closing anyway
    ((None, False, False, True), (False, False)),  # HTTP/1.0: delimited by close (§6.3 ¶8)
    ((None, False, False, False), (False, False)),
    ((0, False, True, True), (False, True)),
]


@pytest.mark.parametrize(("facts", "expected"), RESPONSES)
def test_response_framing_chooses_chunked_and_keep_alive(
    facts: tuple[int | None, bool, bool, bool], expected: tuple[bool, bool]
) -> None:
    """A response of unknown length is chunked on HTTP/1.1 and closes the connection on HTTP/1.0."""
    assert framing.response_framing(*facts) == expected


@pytest.mark.parametrize(
    ("data", "parts"),
    [
        (b"x", [b"1\r\n", b"x", b"\r\n"]),
        (b"a" * 255, [b"ff\r\n", b"a" * 255, b"\r\n"]),
        (b"b" * 4096, [b"1000\r\n", b"b" * 4096, b"\r\n"]),
    ],
)
def test_chunk_frames_data_with_its_hex_size(data: bytes, parts: list[bytes]) -> None:
    """A chunk is its size in lower-case hex, CRLF, the data, CRLF (RFC 9112 §7.1)."""
    assert framing.chunk(data) == parts
    assert framing.chunk(data)[1] is data  # never copied


def test_last_chunk_has_no_trailers() -> None:
    """The last chunk is a zero size line and the empty trailer section."""
    assert framing.LAST_CHUNK == b"0\r\n\r\n"
