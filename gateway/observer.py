"""Narrow seams for code that watches the gateway without touching its data path.

* :class:`RequestObserver` — called once per upstream *attempt* (so the failed candidate attempt of
  a fallback is seen as well as the baseline retry). The migration metrics windows implement it.
* :class:`ResponseTap` — called after a primary response has been sent to the client, with the
  exchange (bodies only when small and buffered). Shadowing implements it.
* :class:`ShadowObserver` and :class:`ContractObserver` — the shadow comparer's reports of each
  comparison and each contract check (the migration metrics implement both). Declared here, once;
  :mod:`migration.seams` re-exports them.

Both are called synchronously on the event loop in the request's path, so implementations must be
cheap and must not block: record a number, or put the exchange on a bounded queue and return. An
exception from an observer or tap is logged and swallowed; it never reaches the client.
"""

from __future__ import annotations

from typing import Any, Final, Protocol


class RequestObserver(Protocol):
    """Sees every upstream attempt: route name, backend, status (502/504 for transport errors),
    duration in seconds, an error kind (``connect``, ``timeout``, ``reset``, ``protocol``,
    ``fault_abort``) or None when the upstream answered, and the request's operation (its name
    from the gateway's classifier, the same for every attempt of one request; ``""`` when the
    gateway classifies nothing)."""

    def observe(
        self,
        route: str,
        backend: str,
        status: int,
        duration_s: float,
        error_kind: str | None,
        operation: str,
    ) -> None: ...


class ShadowObserver(Protocol):
    """Told of each cross-backend shadow comparison (``MigrationMetrics.observe_shadow``)."""

    def observe_shadow(self, route: str, mismatched: bool) -> None: ...


class ContractObserver(Protocol):
    """Told of each response checked against the contract
    (``MigrationMetrics.observe_contract``)."""

    def observe_contract(self, route: str, backend: str, violated: bool) -> None: ...


class NoopObserver:
    """An observer that ignores everything (the default)."""

    def observe(
        self,
        route: str,
        backend: str,
        status: int,
        duration_s: float,
        error_kind: str | None,
        operation: str,
    ) -> None:
        """Do nothing."""


class Exchange:
    """One completed primary exchange, as a response tap receives it (read-only: ``Final``).

    Header names are lower-case; ``target`` is path plus query as the client sent it;
    ``request_body`` is the buffered (replayable) body or None when it was streamed;
    ``response_body`` is the full body when it was at most ``limits.tap_body_limit_bytes`` and
    the tap asked for it, else None.

    A plain class, not a frozen dataclass: one is built per tapped request on the gateway's hot
    path, and a frozen dataclass's ``__init__`` (interpreted, one ``object.__setattr__`` per
    field) cost ~7k instructions there even compiled; this compiles to a native constructor.
    """

    __slots__ = (
        "backend",
        "method",
        "request_body",
        "request_headers",
        "response_body",
        "response_headers",
        "route",
        "status",
        "target",
    )

    def __init__(
        self,
        route: str,
        backend: str,
        method: str,
        target: str,
        request_headers: tuple[tuple[bytes, bytes], ...],
        request_body: bytes | None,
        status: int,
        response_headers: tuple[tuple[bytes, bytes], ...],
        response_body: bytes | None,
    ) -> None:
        self.route: Final = route
        self.backend: Final = backend
        self.method: Final = method
        self.target: Final = target
        self.request_headers: Final = request_headers
        self.request_body: Final = request_body
        self.status: Final = status
        self.response_headers: Final = response_headers
        self.response_body: Final = response_body

    def as_tuple(self) -> tuple[Any, ...]:
        """The fields in constructor order (``Exchange(*x.as_tuple())`` is an equal copy)."""
        return (
            self.route, self.backend, self.method, self.target, self.request_headers,
            self.request_body, self.status, self.response_headers, self.response_body,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Exchange) and self.as_tuple() == other.as_tuple()

    def __hash__(self) -> int:
        return hash(self.as_tuple())

    def __repr__(self) -> str:
        return (
            f"Exchange({self.route!r}, {self.backend!r}, {self.method} {self.target}, "
            f"{self.status})"
        )


class BodyCopy:
    """A response body copied for the taps as it streams to the client, up to ``limit`` bytes.

    Past the limit the copy is dropped at once (bounded memory) and :meth:`body` is None: the taps
    then get the exchange without its body, as they do for a body announced larger than the limit.
    """

    __slots__ = ("limit", "parts", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] | None = []

    def add(self, data: bytes) -> None:
        """Copy one chunk (or give up on the copy once it is over the limit)."""
        parts = self.parts
        if parts is not None:
            self.size += len(data)
            if self.size > self.limit:
                self.parts = None
            else:
                parts.append(data)

    def body(self) -> bytes | None:
        """The whole copy, or None when it outgrew the limit."""
        return None if self.parts is None else b"".join(self.parts)


class ResponseTap(Protocol):
    """Receives completed exchanges; ``wants`` is asked first so copies are made only on demand."""

    def wants(self, route: str, method: str) -> bool: ...

    def on_response(self, exchange: Exchange) -> None: ...


class NoopTap:
    """A tap that wants nothing (the default)."""

    def wants(self, route: str, method: str) -> bool:
        """Never."""
        return False

    def on_response(self, exchange: Exchange) -> None:
        """Do nothing."""
