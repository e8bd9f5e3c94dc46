"""Admin API on its own listener: health, readiness, metrics, status, weights and faults.

It runs on the same small HTTP server layer as the data path (``gateway.http``), so the
gateway needs no second framework and both listeners share one event loop with whatever runs
beside them. :class:`AdminRouter` is deliberately tiny and open: other packages (shadowing,
migration) register their endpoints on ``Gateway.admin.router`` (or pass
``admin_extensions``) before the gateway starts::

    def add_migration_endpoints(router: AdminRouter) -> None:
        router.add("GET", "/migration/status", handler)                 # read-only, no token
        router.add("POST", "/migration/promote", promote, mutating=True)  # needs the admin token

Handlers take an :class:`AdminRequest` and return an :class:`AdminResponse` (or raise
:class:`AdminError`). ``mutating=True`` routes require the admin token (``Authorization: Bearer`` or
``X-Admin-Token``, compared with ``hmac.compare_digest``); when no token is configured they are
refused with 403 rather than left open. Every call to a mutating route is an audit log event.

Order of work for each call, so a hostile client cannot make the gateway buffer (issue #12): the
route and the token are checked from the head alone — a mutating call without the token is a
401/403 before any body byte is read — and the body is then read against :data:`MAX_ADMIN_BODY`
while it arrives (:func:`read_bounded`; 413 the moment it is passed, chunked bodies included).
The listener belongs on loopback; :func:`warn_if_exposed` logs ``admin_listener_exposed`` at
start-up when it binds anything else (as Envoy's docs warn for its admin interface).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from hmac import compare_digest
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
import structlog
from pydantic import BaseModel, ValidationError

from gateway.http import BodyStream, ClientGone, Request

log = structlog.get_logger("gateway.audit")

MAX_ADMIN_BODY = 1 << 20
M = TypeVar("M", bound=BaseModel)


class AdminError(Exception):
    """An admin call that cannot be served; becomes a JSON error response."""

    def __init__(self, status: int, error: str, detail: Any = None) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.detail = detail


@dataclass(frozen=True, slots=True)
class AdminRequest:
    """One admin call: path parameters filled in, body fully read (at most 1 MiB)."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[bytes, bytes]
    body: bytes
    client_host: str

    def json(self) -> Any:
        """The body as JSON; a malformed body is a 400."""
        try:
            return orjson.loads(self.body or b"null")
        except orjson.JSONDecodeError as exc:
            raise AdminError(400, "invalid_json", str(exc)) from None

    def parse(self, model: type[M]) -> M:
        """The JSON body validated strictly by ``model``; problems are a 422 naming each field.

        Strict: JSON already carries types, so nothing is coerced — ``{"percent": true}`` is not
        1 % and ``{"percent": "50"}`` is not 50 % (issue #12); an integer is accepted for a float.
        """
        data = self.json()
        try:
            return model.model_validate(data, strict=True)
        except ValidationError as exc:
            raise AdminError(422, "validation_error", validation_details(exc)) from None


def validation_details(exc: ValidationError) -> list[dict[str, str]]:
    """``[{"field": "percent", "message": ...}]`` from a pydantic error."""
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "(body)",
            "message": str(err["msg"]).removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]


@dataclass(frozen=True, slots=True)
class AdminResponse:
    """Status, body bytes and content type of an admin answer."""

    status: int
    body: bytes
    content_type: bytes = b"application/json"

    @classmethod
    def json(cls, data: Any, status: int = 200) -> AdminResponse:
        """A JSON response."""
        return cls(status, orjson.dumps(data))


AdminHandler = Callable[[AdminRequest], Awaitable[AdminResponse]]


@dataclass(frozen=True, slots=True)
class AdminRoute:
    """A method and path template (``/routes/{name}/weight``) bound to a handler."""

    method: str
    template: str
    handler: AdminHandler
    mutating: bool
    pattern: re.Pattern[str] = field(compare=False)


class AdminRouter:
    """Method + path-template routing for the admin listener."""

    def __init__(self) -> None:
        self.routes: list[AdminRoute] = []

    def add(
        self, method: str, template: str, handler: AdminHandler, *, mutating: bool = False
    ) -> None:
        """Register ``handler`` for ``method`` on ``template`` (``{name}`` matches one segment)."""
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        route = AdminRoute(method.upper(), template, handler, mutating, re.compile(rf"\A{regex}\Z"))
        for existing in self.routes:
            if existing.method == route.method and existing.template == template:
                raise ValueError(f"admin route {method} {template} is already registered")
        self.routes.append(route)

    def replace(self, method: str, template: str, handler: AdminHandler) -> None:
        """Serve an already registered ``method`` + ``template`` with ``handler`` instead.

        For a process that answers a core route differently (the workers' supervisor merges its
        workers' ``/metrics``); the route keeps its place and its ``mutating`` flag. A route that
        is not registered raises ``ValueError``, as a second :meth:`add` does.
        """
        for i, existing in enumerate(self.routes):
            if existing.method == method.upper() and existing.template == template:
                self.routes[i] = dataclasses.replace(existing, handler=handler)
                return
        raise ValueError(f"admin route {method} {template} is not registered")

    def resolve(self, method: str, path: str) -> tuple[AdminRoute, dict[str, str]]:
        """The route for a call, or :class:`AdminError` 404 / 405."""
        allowed = []
        for route in self.routes:
            found = route.pattern.match(path)
            if found is not None:
                if route.method == method:
                    return route, found.groupdict()
                allowed.append(route.method)
        if allowed:
            raise AdminError(405, "method_not_allowed", {"allowed": sorted(allowed)})
        raise AdminError(404, "not_found", {"path": path})


class AdminServer:
    """The admin listener's request handler: read, authenticate, dispatch, answer."""

    def __init__(
        self, router: AdminRouter, token: str | None, max_body: int = MAX_ADMIN_BODY
    ) -> None:
        self.router = router
        self._token = token.encode() if token else None
        self.max_body = max_body

    def authorized(self, headers: dict[bytes, bytes]) -> bool:
        """Whether the call carries the configured admin token."""
        if self._token is None:
            return False
        given = headers.get(b"x-admin-token")
        if given is None:
            auth = headers.get(b"authorization", b"")
            scheme, _, value = auth.partition(b" ")
            if scheme.lower() != b"bearer":
                return False
            given = value.strip()
        return compare_digest(given, self._token)

    async def handle(self, req: Request) -> None:
        """Serve one admin call."""
        method = req.method.decode("ascii", "replace")
        raw_path, _, raw_query = req.target.decode("latin-1").partition("?")
        headers = dict(req.headers)
        route: AdminRoute | None = None
        try:
            route, params = self.router.resolve(method, raw_path)
            if route.mutating and not self.authorized(headers):
                if self._token is None:
                    raise AdminError(403, "admin_token_not_configured")
                raise AdminError(
                    401, "unauthorized", "send the admin token as 'Authorization: Bearer <token>'"
                )
            body = b""
            if req.body is not None:
                body = await read_bounded(req.body, req.content_length, self.max_body)
            call = AdminRequest(
                method, raw_path, params, dict(parse_qsl(raw_query)), headers, body, req.client_host
            )
            response = await route.handler(call)
        except ClientGone:
            return
        except AdminError as exc:
            payload: dict[str, Any] = {"error": exc.error}
            if exc.detail is not None:
                payload["detail"] = exc.detail
            response = AdminResponse.json(payload, exc.status)
        if route is not None and route.mutating:
            log.info(
                "admin_call",
                method=method,
                path=raw_path,
                status=response.status,
                client=req.client_host,
                authorized=response.status not in (401, 403),
            )
        extra = (
            b'www-authenticate: Bearer realm="cutover-admin"\r\n' if response.status == 401 else b""
        )
        keep_alive = req.keep_alive and (req.body is None or req.body.done)
        if not keep_alive:
            req.conn.close_after = True
        req.conn.writelines(
            [
                b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n%s%s\r\n"
                % (
                    response.status,
                    _reason(response.status),
                    response.content_type,
                    len(response.body),
                    extra,
                    b"" if keep_alive else b"connection: close\r\n",
                ),
                response.body,
            ]
        )


async def read_bounded(stream: BodyStream, declared: int | None, limit: int) -> bytes:
    """The body, or a 413 as soon as it is known to exceed ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked body
    (or a lying length) is counted chunk by chunk as it arrives and refused the moment the count
    passes the limit, so at most ``limit`` plus one socket read (and the stream's high-water mark)
    is ever held — what nginx's ``client_max_body_size`` does. The unread rest is drained and
    dropped by the connection's lingering close, never buffered.
    """
    if declared is not None and declared > limit:
        raise AdminError(413, "request_body_too_large", {"limit_bytes": limit})
    parts: list[bytes] = []
    size = 0
    while chunk := await stream.read():
        size += len(chunk)
        if size > limit:
            raise AdminError(413, "request_body_too_large", {"limit_bytes": limit})
        parts.append(chunk)
    return b"".join(parts)


def is_loopback(host: str) -> bool:
    """Whether a listener bound to ``host`` is reachable from this machine only.

    ``""``, ``0.0.0.0`` and ``::`` are every interface; a host name other than ``localhost`` is
    treated as exposed (resolving it here would make start-up depend on DNS).
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_exposed(host: str, port: int, token_configured: bool) -> bool:
    """Log a structured start-up warning when the admin listener binds beyond loopback."""
    if is_loopback(host):
        return False
    structlog.get_logger("gateway.admin").warning(
        "admin_listener_exposed",
        host=host or "*",
        port=port,
        token_configured=token_configured,
        hint="the admin API changes weights and faults; bind listeners.admin.host to 127.0.0.1, "
        "or keep the port off public networks (NetworkPolicy, no published port)",
    )
    return True


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Unknown"
