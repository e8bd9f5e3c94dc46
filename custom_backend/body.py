"""Turn request body bytes into a Python value exactly the way FastAPI does before validating it.

FastAPI (with its default ``strict_content_type=True``) only parses JSON when the ``content-type``
is ``application/json`` or ``application/*+json``; any other body reaches the model as raw bytes
(and fails as "not an object"). Parsing uses the ``json`` module, so a malformed body gets
``json_invalid`` with that module's message and character offset, and bytes that are not text at all
get FastAPI's 400. orjson parses the common case (it is several times faster); anything it refuses,
or any body with a 20-digit run (orjson would turn a wider-than-64-bit integer into a float), is
parsed by ``json`` so that both the accepted documents (``NaN``, huge integers, UTF-16) and the
error messages stay the baseline's.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import orjson

from custom_backend.validation import Issue, RequestInvalid


class _Missing:
    """Marker for "no body at all" (pydantic's ``missing``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
# orjson reads integers wider than 64 bits as floats; ``json`` keeps them exact (20+
# digits can be that wide).
_LONG_NUMBER: Final = re.compile(rb"[0-9]{20}")


class BodyParseError(Exception):
    """Bytes that cannot even be decoded: FastAPI answers 400 with this detail."""

    detail = "There was an error parsing the body"


def is_json_content_type(value: str | None) -> bool:
    """``email.message.Message``'s reading of a content-type: ``application/json`` or ``+json``."""
    if not value:
        return False
    ctype = value.split(";", 1)[0].strip().lower()
    if ctype.count("/") != 1:
        return False
    maintype, subtype = ctype.split("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def decode_body(body: bytes, content_type: str | None) -> Any:
    """Return the parsed JSON, the raw bytes (non-JSON content type) or ``MISSING`` (empty body)."""
    if not body:
        return MISSING
    if not is_json_content_type(content_type):
        return body
    if _LONG_NUMBER.search(body) is None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        issue: Issue = {
            "type": "json_invalid",
            "loc": ["body", exc.pos],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise RequestInvalid([issue]) from exc
    except (ValueError, RecursionError) as exc:
        # Bytes that are not text, nesting deeper than the recursion limit, an integer of more
        # digits than ``sys.get_int_max_str_digits()``: FastAPI answers every such failure with its
        # 400.
        raise BodyParseError from exc


def required_body_missing() -> RequestInvalid:
    """The error for a required body that was not sent."""
    return RequestInvalid(
        [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
    )
