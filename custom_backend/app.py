"""The custom backend's ASGI application (seed 001): no framework, the engine called in-process.

``create_app`` builds everything once (routes, prepared error responses, the key checker, the
metrics) so a request costs a dict lookup, the handler and one orjson encode. What the client sees
reproduces the FastAPI baseline exactly, in the baseline's order of checks:

1. body larger than ``max_body_bytes`` (declared or received) → 413, before
   routing (its middleware);
2. routing → 404 / 405 / 307 trailing-slash redirect (Starlette's router);
3. the API key → 401 (``AuthenticatedRoute``: after routing, before any validation);
4. path, query, then body validation → 422 / 400 (FastAPI's dependency solving);
5. the engine: ``InvalidInput`` → 400, ``NotFound`` → 404, any other ``EngineError`` → 502
   (``InProcessBridge``'s mapping); an unexpected exception → 500 ``Internal Server Error`` as plain
   text.

CORS preflights are answered before all of that and every response carries the CORS headers, as the
baseline's ``CORSMiddleware`` (outside its body limit) does.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from custom_backend.asgi import Receive, Scope, Send
from custom_backend.auth import KeyChecker
from custom_backend.body import BodyParseError
from custom_backend.cors import CorsPolicy
from custom_backend.handlers import Handlers
from custom_backend.logs import Logger
from custom_backend.metrics import AppMetrics
from custom_backend.request import BodyTooLarge, ClientDisconnected, Request
from custom_backend.responses import Response, detail, json_response, send_response
from custom_backend.routing import Endpoint, Matched, MethodNotAllowed, Redirect, Router
from custom_backend.validation import RequestInvalid
from custom_backend.websocket import WebSocketSession
from engine.errors import EngineError, InvalidInput, NotFound

if TYPE_CHECKING:
    from custom_backend.settings import BackendSettings
    from engine.facade import Engine

WS_PATH: Final = "/api/v1/ws"
# Engine calls run in the loop's default executor (``asyncio.to_thread``); asyncio sizes it min(32,
# CPUs + 4), 6 threads here. The engine serialises on its database lock and the hot reads are cached
# on the loop, so more threads only add memory: measured after the bench's load
# (``bench/backends.py`` endpoints), 6 threads left 35.7-37.0 MiB resident, 2 threads 35.5-35.7 (a
# thread per concurrent cache miss each growing its own malloc arena). Set at lifespan startup, so
# only a server running the app is affected.
ENGINE_THREADS: Final = 2
_NOT_FOUND: Final = detail(404, "Not Found")
_TOO_LARGE: Final = detail(413, "Request body too large", ((b"connection", b"close"),))
_SERVER_ERROR: Final = Response(
    500, b"Internal Server Error", ((b"content-type", b"text/plain; charset=utf-8"),)
)


def build_router(handlers: Handlers, metrics: AppMetrics) -> Router:
    """The route table, in one place; every route but health and ``/metrics`` needs the key."""

    async def metrics_endpoint(request: Request) -> Response:
        return metrics.exposition()

    router = Router()
    router.add("GET", "/api/v1/system/health", Endpoint("health", handlers.health, auth=False))
    router.add("GET", "/api/v1/system/status", Endpoint("status", handlers.status))
    router.add("GET", "/api/v1/project/info", Endpoint("project_info", handlers.project_info))
    router.add("POST", "/api/v1/project/scan", Endpoint("scan_project", handlers.scan))
    router.add("GET", "/api/v1/project/context/{mode}", Endpoint("get_context", handlers.context))
    router.add("POST", "/api/v1/tasks", Endpoint("create_task", handlers.create_task))
    router.add("GET", "/api/v1/tasks", Endpoint("list_tasks", handlers.list_tasks))
    router.add("GET", "/api/v1/tasks/{task_id}", Endpoint("get_task", handlers.get_task))
    router.add("PATCH", "/api/v1/tasks/{task_id}", Endpoint("update_task", handlers.update_task))
    router.add("DELETE", "/api/v1/tasks/{task_id}", Endpoint("delete_task", handlers.delete_task))
    # A plain Starlette ``Route`` in the baseline, which adds HEAD to GET.
    router.add(("GET", "HEAD"), "/metrics", Endpoint("metrics", metrics_endpoint, auth=False))
    return router


def redirect_location(scope: Scope, path: str) -> bytes:
    """The absolute URL Starlette's ``RedirectResponse`` sets as ``location`` (``URL(scope)``)."""
    scheme = scope.get("scheme", "http")
    host = None
    for name, value in scope["headers"]:
        if name == b"host":
            host = value.decode("latin-1")
            break
    if host is not None:
        url = f"{scheme}://{host}{path}"
    elif scope.get("server") is None:
        url = path
    else:
        server_host, port = scope["server"]
        default_port = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme)
        url = (
            f"{scheme}://{server_host}{path}"
            if port == default_port
            else f"{scheme}://{server_host}:{port}{path}"
        )
    query = scope.get("query_string", b"")
    if query:
        url += "?" + query.decode("latin-1")
    return quote(url, safe=":/%#?=@[]!$&'()*+,;").encode("latin-1")


class CustomBackendApp:
    """The ASGI callable: lifespan, HTTP and the one WebSocket route."""

    def __init__(
        self,
        settings: BackendSettings,
        engine: Engine,
        *,
        owns_engine: bool,
        metrics: AppMetrics | None = None,
        cache: bool = True,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self._owns_engine = owns_engine
        self.metrics = metrics if metrics is not None else AppMetrics()
        self.keys = KeyChecker(settings.api_key)
        self.cors = CorsPolicy(list(settings.cors_origins))
        self.handlers = Handlers(engine, cache=cache)
        self.router = build_router(self.handlers, self.metrics)
        self._max_body = settings.max_body_bytes
        self._logger = Logger()
        # A request line costs ~30 µs (JSON renderer; measured), a quarter of a cached request:
        # lines are written only at DEBUG. Engine errors and crashes are always logged.
        self._log_requests = settings.log_level == "DEBUG"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter() if self._log_requests else 0.0
        request = Request(scope, receive)
        method = scope["method"]
        origin = request.origin
        if origin is not None and method == "OPTIONS":
            requested_method = request.header(b"access-control-request-method")
            if requested_method is not None:
                preflight = self.cors.preflight(
                    origin, requested_method, request.header(b"access-control-request-headers")
                )
                await send_response(send, preflight)
                self.metrics.observe(method, preflight.status)
                return
        try:
            request.body_bytes = await request.body(self._max_body)
        except BodyTooLarge:
            response = _TOO_LARGE
        except ClientDisconnected:
            return
        else:
            response = await self._dispatch(scope, request)
        await send_response(send, response, self.cors.response_headers(origin))
        self.metrics.observe(method, response.status)
        if self._log_requests:
            self._logger.debug(
                "request",
                method=method,
                path=scope["path"],
                status=response.status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    async def _dispatch(self, scope: Scope, request: Request) -> Response:
        match = self.router.match(scope["method"], scope["path"])
        if type(match) is not Matched:
            return self._unmatched(scope, match)
        endpoint = match.endpoint
        if endpoint.auth:
            failure = self.keys.failure(request.api_key, request.authorization)
            if failure is not None:
                return failure
        request.param = match.param
        return await self._call(endpoint, request)

    def _unmatched(self, scope: Scope, match: Any) -> Response:
        if type(match) is MethodNotAllowed:
            allow = ", ".join(match.allow).encode("latin-1")
            return detail(405, "Method Not Allowed", ((b"allow", allow),))
        if type(match) is Redirect:
            return Response(307, b"", ((b"location", redirect_location(scope, match.path)),))
        return _NOT_FOUND

    async def _call(self, endpoint: Endpoint, request: Request) -> Response:
        try:
            return await endpoint.handler(request)
        except RequestInvalid as exc:
            return json_response(422, {"detail": exc.issues})
        except BodyParseError as exc:
            return detail(400, exc.detail)
        except InvalidInput as exc:
            return detail(400, exc.message)
        except NotFound:
            return detail(404, "Task not found")
        except EngineError as exc:
            self._logger.warning("engine_error", endpoint=endpoint.name, error=exc.message)
            return detail(502, exc.message)
        except Exception:
            self._logger.exception("unhandled_error", endpoint=endpoint.name)
            return _SERVER_ERROR

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != WS_PATH:
            # Starlette's router: an unknown WebSocket path is closed before
            # the handshake (HTTP 403).
            await receive()
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        await WebSocketSession(scope, receive, send, self.engine, self.keys, self._logger).run()

    def close(self) -> None:
        """Release the caches' connection and, when the app created it, the engine."""
        self.handlers.close()
        if self._owns_engine:
            self.engine.close()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                asyncio.get_running_loop().set_default_executor(
                    ThreadPoolExecutor(ENGINE_THREADS, thread_name_prefix="custom-backend-engine")
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(
    settings: BackendSettings | None = None,
    engine: Engine | None = None,
    *,
    metrics: AppMetrics | None = None,
    cache: bool = True,
) -> CustomBackendApp:
    """Build the app; settings default to the ``LLMSTRUCT_*`` env, the engine to one over them.

    ``cache=False`` turns the exact read caches off (``custom_backend.cache``), to measure the
    engine raw. Each app counts into its own ``AppMetrics`` unless one is passed in (tests read it
    back).
    """
    from custom_backend.settings import load_settings
    from engine.facade import Engine

    if settings is None:
        settings = load_settings()
    owns_engine = engine is None
    if engine is None:
        engine = Engine(settings)
    return CustomBackendApp(settings, engine, owns_engine=owns_engine, metrics=metrics, cache=cache)
