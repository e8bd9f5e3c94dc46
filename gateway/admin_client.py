"""A small synchronous httpx client for the gateway admin API, with one-line operator errors.

Every admin command (``cutover weight``, ``fault``, ``shadow``, ``status``, ``migrate``, ``events``,
``report``) goes through it. The operator CLI is a short-lived process making a handful of calls, so
a blocking ``httpx.Client`` is the simplest honest tool (the gateway's data path never uses it).
Every failure becomes an :class:`AdminCallError` whose message is one line an operator can act on;
the CLI prints it to stderr and exits with its ``exit_code``:

* the gateway is not listening → ``cannot reach the gateway admin API at URL: ...``
* 401 → ``admin token missing or wrong`` (with a hint when no token was given at all)
* any other 4xx/5xx → the method, path, status and the server's JSON error body

The address comes from ``--admin-url``, else ``CUTOVER_ADMIN_URL``, else
:data:`DEFAULT_ADMIN_URL`; the token from ``--token``, else ``CUTOVER_ADMIN_TOKEN`` (the same
variables ``cutover weight`` uses).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

__all__ = ["DEFAULT_ADMIN_URL", "AdminCallError", "AdminClient"]

DEFAULT_ADMIN_URL = "http://127.0.0.1:8081"


class AdminCallError(Exception):
    """An admin call that failed; ``str()`` is the one-line message for the operator."""

    def __init__(self, message: str, *, status: int | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = exit_code


def _error_text(response: httpx.Response) -> str:
    """The server's error body, compact: ``error: detail`` for the admin API's JSON errors."""
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(payload, dict) and "error" in payload:
        return _describe_error(payload)
    return json.dumps(payload)


def _describe_error(payload: Mapping[str, Any]) -> str:
    """One line for an admin error:
    ``unknown route 'x' (routes: default, tasks)``, ``error: detail``.

    Issue #15 item 6: a structured ``detail`` printed as a dict read as a Python traceback, not
    as a message; an ``unknown_THING`` with ``{THING: name, THINGs: [...]}`` says what exists.
    """
    error, detail = str(payload["error"]), payload.get("detail")
    thing = error.removeprefix("unknown_")
    if thing != error:
        given = detail.get(thing) if isinstance(detail, dict) else None
        known = (detail.get(f"{thing}s") if isinstance(detail, dict) else None) or payload.get(
            f"{thing}s"
        )
        head = f"unknown {thing} {given!r}" if given is not None else str(detail or error)
        return f"{head} ({thing}s: {_plain(known)})" if known else head
    if isinstance(detail, list) and all(isinstance(d, dict) and "field" in d for d in detail):
        detail = "; ".join(f"{d['field']}: {d.get('message', '')}" for d in detail)
    elif isinstance(detail, dict):
        detail = "; ".join(
            f"{key.replace('_', ' ')} {_plain(value)}" for key, value in detail.items()
        )
    elif detail is not None and not isinstance(detail, str):
        detail = json.dumps(detail)
    return f"{error}: {detail}" if detail else error


def _plain(value: Any) -> str:
    """A JSON value for a sentence: a list as ``a, b``, anything else as its text."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class AdminClient:
    """Calls to one gateway's admin API; use as a context manager so the connection is closed."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = (
            base_url or os.environ.get("CUTOVER_ADMIN_URL") or DEFAULT_ADMIN_URL
        ).rstrip("/")
        self.token = token or os.environ.get("CUTOVER_ADMIN_TOKEN") or None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport
        )

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        """One call; any failure raises :class:`AdminCallError` with a one-line message."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, json=body, params=clean)
        except httpx.TimeoutException as exc:
            raise AdminCallError(
                f"the gateway admin API at {self.base_url} did not answer in time ({exc!r})"
            ) from None
        except httpx.TransportError as exc:
            raise AdminCallError(
                f"cannot reach the gateway admin API at {self.base_url}: {exc}"
            ) from None
        if response.status_code == 401:
            hint = "" if self.token else " (pass --token or set CUTOVER_ADMIN_TOKEN)"
            raise AdminCallError(f"admin token missing or wrong{hint}", status=401)
        if response.status_code >= 400:
            raise AdminCallError(
                f"{method} {path} failed with {response.status_code}: {_error_text(response)}",
                status=response.status_code,
            )
        return response

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """``GET path`` and decode the JSON answer."""
        return self._decode(self.request("GET", path, params=params))

    def post_json(self, path: str, body: Any = None) -> Any:
        """``POST path`` with a JSON body and decode the JSON answer."""
        return self._decode(self.request("POST", path, body=body))

    def call_json(self, method: str, path: str, body: Any = None) -> Any:
        """Any method with an optional JSON body; the decoded JSON answer."""
        return self._decode(self.request(method, path, body=body))

    def get_text(self, path: str, params: Mapping[str, str | int] | None = None) -> str:
        """``GET path`` as text (rendered reports)."""
        return self.request("GET", path, params=params).text

    def _decode(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise AdminCallError(
                f"{self.base_url} answered {response.status_code} without JSON; "
                "is this the gateway admin port?"
            ) from None
