"""Credentials out of logs: query parameters that carry secrets, masked in a request target.

Clients put API keys and tokens in query strings (``?api_key=…``, OAuth's ``access_token``; the
llmstruct WebSocket accepts ``?api_key=``), and a request target written to the access log as is
hands them to whoever reads the logs. Headers were already masked in recordings and shadow samples
(``Authorization``, ``X-API-Key``, ``Cookie``); this masks the query the same way, from one list
that ``redact.query_params`` in the gateway config sets (:data:`DEFAULT_QUERY_PARAMS` by default)
and that the access log and the traffic recorder both use. RFC 6750 §2.3 (bearer tokens in the
URI query) itself says such a URI must not be logged unprotected.

:func:`redact_target` is pure and cheap: a target without ``?`` is returned as is, and the access
log calls it only for the lines its sampling keeps. Only the *values* are masked; names, order and
the rest of the bytes are kept, so the line still says which parameters a client sent. Names are
compared percent-decoded and case-insensitively (``API%5FKey`` is ``api_key``).
"""

from __future__ import annotations

from urllib.parse import unquote_plus

__all__ = ["DEFAULT_HEADERS", "DEFAULT_QUERY_PARAMS", "MASK", "redact_target"]

MASK = "[REDACTED]"
#: Query parameters whose values are credentials (RFC 6750 ``access_token``, OAuth 2.0's
#: ``refresh_token``/``id_token``/``client_secret``, and the common API-key spellings).
DEFAULT_QUERY_PARAMS: frozenset[str] = frozenset(
    {
        "api_key",
        "apikey",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "password",
    }
)
#: Headers whose values are credentials (as :mod:`contracts.recording` masks them).
DEFAULT_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"}
)


def redact_target(target: str, names: frozenset[str] = DEFAULT_QUERY_PARAMS) -> str:
    """``target`` (``/path?query``) with the values of the ``names`` parameters masked.

    ``names`` must be lower-case. A parameter without ``=`` has no value to hide and is kept.
    """
    path, sep, query = target.partition("?")
    if not sep or not names:
        return target
    parts = query.split("&")
    changed = False
    for i, item in enumerate(parts):
        name, eq, value = item.partition("=")
        if eq and value and unquote_plus(name).strip().lower() in names:
            parts[i] = f"{name}={MASK}"
            changed = True
    return f"{path}?{'&'.join(parts)}" if changed else target
