"""What may legitimately differ between two answers to the same request, and how to compare the
rest.

Only generated values are blanked: ids, timestamps, durations, the scan id and ``files_cached`` (the
second scan of the same files hits the cache the first one filled). Everything else — status,
content-type, the headers a client acts on, every other byte of the JSON — must match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import httpx

VOLATILE_KEYS: Final = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "scan_id",
        "started_at",
        "finished_at",
        "duration_ms",
        "files_cached",
        "last_scan",
    }
)
# Headers whose values a client acts on; content-length follows from the body, the rest is
# transport.
COMPARED_HEADERS: Final = (
    "content-type",
    "www-authenticate",
    "allow",
    "location",
    "vary",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "connection",
)
BLANK: Final = "<volatile>"


def normalise(value: Any, *, keep_last_scan_shape: bool = True) -> Any:
    """``value`` with every volatile key's value blanked, recursively.

    ``last_scan`` is a timestamp in ProjectInfo but an object in Status: an object keeps its
    shape (its own volatile keys are blanked), a scalar is blanked, ``null`` stays ``null``
    (no scan vs a scan must match).
    """
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if key in VOLATILE_KEYS and item is not None:
                if key == "last_scan" and isinstance(item, dict) and keep_last_scan_shape:
                    result[key] = normalise(item)
                else:
                    result[key] = BLANK
            else:
                result[key] = normalise(item)
        return result
    if isinstance(value, list):
        return [normalise(item) for item in value]
    return value


@dataclass(frozen=True)
class Answer:
    """The comparable part of one response."""

    status: int
    headers: dict[str, str]
    body: Any

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        """Status, compared headers and the body (normalised JSON, else text)."""
        headers = {
            name: response.headers[name] for name in COMPARED_HEADERS if name in response.headers
        }
        if "allow" in headers:  # Starlette joins a set: the order follows the hash seed
            headers["allow"] = ", ".join(sorted(headers["allow"].split(", ")))
        content_type = response.headers.get("content-type", "")
        body: Any = response.text
        if content_type.startswith("application/json") and response.content:
            body = normalise(json.loads(response.content))
        return cls(response.status_code, headers, body)
