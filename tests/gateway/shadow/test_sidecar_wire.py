"""Frames between the gateway and its shadow sidecar survive any split and reject garbage."""

from __future__ import annotations

import pickle

import pytest

from contracts.export import OPENAPI_PATH
from gateway.config import build_config
from gateway.observer import Exchange
from gateway.shadow.config import RouteShadowConfig, ShadowSettings
from gateway.shadow.sidecar_wire import (
    HEADER,
    FrameReader,
    Kind,
    SidecarSpec,
    WireError,
    encode,
    load_contract,
)

EXCHANGE = Exchange(
    "items", "baseline", "GET", "/items?x=1", ((b"host", b"h"),), None, 200,
    ((b"content-type", b"application/json"),), b'{"a": 1}',
)  # fmt: skip


def test_frames_reassemble_across_every_split() -> None:
    """A stream cut at any byte yields the same frames in order."""
    stream = encode(Kind.EXCHANGES, [EXCHANGE.as_tuple()]) + encode(Kind.CALL, (1, "x", ()))
    for cut in range(len(stream) + 1):
        reader = FrameReader()
        frames = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
        assert [kind for kind, _ in frames] == [Kind.EXCHANGES, Kind.CALL]
        assert Exchange(*frames[0][1][0]) == EXCHANGE


def test_oversized_unknown_or_corrupt_frames_are_refused() -> None:
    """A frame over the limit, of an unknown kind or with a bad payload raises WireError."""
    with pytest.raises(WireError, match="exceeds"):
        FrameReader(max_frame_bytes=10).feed(HEADER.pack(11, Kind.CALL) + b"x" * 11)
    payload = pickle.dumps(None)
    with pytest.raises(WireError, match="kind 99"):
        FrameReader().feed(HEADER.pack(len(payload), 99) + payload)
    with pytest.raises(WireError, match="bad frame"):
        FrameReader().feed(HEADER.pack(3, Kind.CALL) + b"\x80\x05N")


def test_spec_survives_the_wire() -> None:
    """The start-up spec (settings, routes, upstreams) pickles to an equal value."""
    config = build_config(
        {
            "upstreams": {
                "baseline": {"url": "http://127.0.0.1:1"},
                "candidate": {"url": "http://127.0.0.1:2"},
            },
            "routes": [{"name": "default", "paths": ["/*"]}],
        }
    )
    spec = SidecarSpec(
        ShadowSettings(workers=3, routes={"default": RouteShadowConfig(percent=5)}),
        {"default": RouteShadowConfig(percent=5, ignore=("$.id",))},
        {"baseline": config.baseline, "candidate": config.candidate},
        str(OPENAPI_PATH),
    )
    ((kind, decoded),) = FrameReader().feed(encode(Kind.SPEC, spec))
    assert kind is Kind.SPEC
    assert decoded == spec


def test_contract_sources() -> None:
    """None means no validation; a path is compiled; the gateway knows no API by name."""
    assert load_contract(None) is None
    with pytest.raises(FileNotFoundError):
        load_contract("llmstruct")
    validator = load_contract(str(OPENAPI_PATH))
    assert validator is not None
    assert validator.operation_ids
