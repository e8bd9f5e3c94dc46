"""Body decoding the way FastAPI does it before validation."""

from __future__ import annotations

import json

import pytest

from custom_backend.body import MISSING, BodyParseError, decode_body, is_json_content_type
from custom_backend.validation import RequestInvalid


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/vnd.api+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("json", False),
        ("application/json/x", False),
        (None, False),
        ("", False),
    ],
)
def test_json_content_types(value: str | None, expected: bool) -> None:
    """Only application/json and application/*+json bodies are parsed (FastAPI's rule)."""
    assert is_json_content_type(value) is expected


def test_empty_and_non_json_bodies() -> None:
    """No bytes is MISSING; a non-JSON content type hands the raw bytes on."""
    assert decode_body(b"", "application/json") is MISSING
    assert decode_body(b"{}", None) == b"{}"
    assert decode_body(b'{"a": 1}', "application/json") == {"a": 1}


@pytest.mark.parametrize("raw", [b"{", b'{"a": }', b"{} x", b"[1,]", b"'a'", b"\xef\xbb\xbf{"])
def test_malformed_json_reports_the_json_module_error(raw: bytes) -> None:
    """json_invalid carries the json module's message and character offset."""
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(raw)
    with pytest.raises(RequestInvalid) as found:
        decode_body(raw, "application/json")
    assert found.value.issues == [
        {
            "type": "json_invalid",
            "loc": ["body", expected.value.pos],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": expected.value.msg},
        }
    ]


def test_values_orjson_would_change_are_kept_exact() -> None:
    """Huge integers stay integers, NaN and UTF-16 parse as the json module parses them."""
    assert decode_body(b'{"n": 100000000000000000000000}', "application/json") == {"n": 10**23}
    assert decode_body('{"t": "x"}'.encode("utf-16"), "application/json") == {"t": "x"}
    nan = decode_body(b'{"n": NaN}', "application/json")
    assert nan["n"] != nan["n"]


def test_undecodable_bytes_are_a_parse_error() -> None:
    """Bytes that are not text at all are FastAPI's 400, not a 422."""
    with pytest.raises(BodyParseError):
        decode_body(b'{"a": "\xff\xfe\xfd"}', "application/json")


@pytest.mark.parametrize(
    "raw", [b'{"title": ' + b"9" * 5000 + b"}", b'{"tags": [-' + b"1" * 4301 + b"]}"]
)
def test_integer_beyond_the_digit_limit_is_a_parse_error(raw: bytes) -> None:
    """Past ``int_max_str_digits`` digits ``json`` raises ValueError: FastAPI's 400."""
    with pytest.raises(BodyParseError):
        decode_body(raw, "application/json")


def test_awkward_values_still_encode() -> None:
    """Wide integers stay exact and lone surrogates are escaped when a 422 echoes them back."""
    from custom_backend.responses import dumps

    assert dumps({"n": 10**30}) == b'{"n":1000000000000000000000000000000}'
    assert dumps({"s": "\ud800"}) == b'{"s":"\\ud800"}'
    assert dumps({"f": float("nan")}) == b'{"f":null}'
