"""What a listener tolerates from its clients, where it reports them, and the answer that refuses.

The vocabulary the server layer's modules share (:mod:`gateway.listener` holds the limits and
the events; :mod:`gateway.request_cycle` answers with :func:`error_response`), kept below both so
neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol

from gateway.client_timeouts import tick_s

IDLE_TIMEOUT_S = 75.0


@dataclass(frozen=True, slots=True)
class ClientLimits:
    """What a listener tolerates from its clients (``limits.*`` in the config)."""

    header_timeout_s: float = 10.0
    body_idle_timeout_s: float = 10.0
    body_min_rate_bytes_s: float = 500.0
    body_grace_s: float = 10.0
    idle_timeout_s: float = IDLE_TIMEOUT_S
    max_connections: int | None = None
    #: Chunked bodies up to this size are read before dispatch and forwarded with a length.
    buffer_chunked_bytes: int = 0

    @property
    def tick_s(self) -> float:
        """Sweep period: a quarter of the shortest timeout, at most a second."""
        return tick_s(self.header_timeout_s, self.body_idle_timeout_s)


class ClientEvents(Protocol):
    """Where a listener reports what its clients did wrong
    (:class:`gateway.metrics.GatewayMetrics`)."""

    def client_timeout(self, listener: str, phase: str) -> None: ...

    def request_rejected(self, listener: str, reason: str) -> None: ...

    def connection_refused(self, listener: str) -> None: ...


_ERRORS = {400: "bad_request", 431: "header_too_large", 501: "not_implemented"}


def error_response(status: int, error: str, extra: bytes = b"", reason: str = "") -> bytes:
    """A complete JSON error answer that closes the connection (``reason``: why, when refused)."""
    body = b'{"error":"%s"}' % error.encode()
    if reason:
        body = b'{"error":"%s","reason":"%s"}' % (error.encode(), reason.encode())
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"x-cutover-backend: gateway\r\n%sconnection: close\r\n\r\n%s"
        % (status, HTTPStatus(status).phrase.encode(), len(body), extra, body)
    )


def refusal_response(status: int, reason: str) -> bytes:
    """The answer to a request refused for its framing or head (400, 431, 501), naming why."""
    return error_response(status, _ERRORS.get(status, "bad_request"), reason=reason)
