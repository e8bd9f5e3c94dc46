"""CORS answers of Starlette's middleware as the baseline configures it (all methods, headers)."""

from __future__ import annotations

from custom_backend.cors import CorsPolicy


def test_any_origin() -> None:
    """With ``*`` every origin gets ``*``; every response varies on Origin."""
    policy = CorsPolicy(["*"])
    assert dict(policy.response_headers("http://a.test"))[b"access-control-allow-origin"] == b"*"
    assert policy.response_headers(None) == ((b"vary", b"Origin"),)


def test_listed_origins_are_mirrored() -> None:
    """With a list, only a listed origin is mirrored back."""
    policy = CorsPolicy(["http://a.test"])
    assert (
        dict(policy.response_headers("http://a.test"))[b"access-control-allow-origin"]
        == b"http://a.test"
    )
    assert b"access-control-allow-origin" not in dict(policy.response_headers("http://b.test"))


def test_preflight() -> None:
    """A preflight is 200 OK mirroring the requested headers, 400 naming what is disallowed."""
    policy = CorsPolicy(["http://a.test"])
    ok = policy.preflight("http://a.test", "PATCH", "x-api-key")
    assert (ok.status, ok.body) == (200, b"OK")
    assert dict(ok.headers)[b"access-control-allow-headers"] == b"x-api-key"
    bad = policy.preflight("http://b.test", "BREW", None)
    assert (bad.status, bad.body) == (400, b"Disallowed CORS origin, method")
