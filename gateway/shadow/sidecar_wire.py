"""The wire between the gateway and its shadow sidecar: frames, message kinds, the start-up spec.

Both ends are this package's code on the two ends of a socketpair the gateway created, so payloads
are pickles (a trusted peer; nothing to keep in step by hand). A frame is a 4-byte big-endian
payload length, one kind byte and the payload.

gateway → sidecar: ``SPEC`` (first, once), ``EXCHANGES`` (a batch of exchange tuples), ``CALL``
(``(id, name, args)``: ``summary``, ``detail``, ``set_rate``, ``drain``).
sidecar → gateway: ``READY`` (``None``, or the error that stopped start-up), ``REPLY``
(``(id, status, body)``), ``PUBLISH`` (:class:`Publication`, every ``publish_interval_s``).
"""

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from contracts.validators import ContractValidator
from gateway.config import UpstreamConfig
from gateway.shadow.config import RouteShadowConfig, ShadowSettings

HEADER = struct.Struct(">IB")
MAX_FRAME_BYTES = 256 << 20
"""Larger than any batch the gateway sends (it drops past its buffer limit), so only a broken peer
trips it."""

ExchangeTuple = tuple[Any, ...]


class Kind(IntEnum):
    """What a frame carries."""

    SPEC = 1
    READY = 2
    EXCHANGES = 3
    CALL = 4
    REPLY = 5
    PUBLISH = 6


class WireError(Exception):
    """The peer sent something that is not a frame of this protocol."""


@dataclass(frozen=True, slots=True)
class SidecarSpec:
    """Everything the sidecar needs to build its :class:`~gateway.shadow.service.ShadowService`."""

    settings: ShadowSettings
    routes: dict[str, RouteShadowConfig]
    upstreams: dict[str, UpstreamConfig]
    contract: str | None
    """An OpenAPI document's file path, or None (no live validation). The generic
    gateway knows no API by name: the embedded stack resolves its default contract to a
    path (``migration.runtime``)."""


@dataclass(frozen=True, slots=True)
class Publication:
    """The sidecar's periodic report: its metric families and the outcomes since the last one."""

    families: list[Any]
    """``prometheus_client`` metric families, as the sidecar's registry collected them."""
    shadows: dict[tuple[str, bool], int] = field(default_factory=dict)
    """``(route, mismatched) → count`` of cross-backend comparisons."""
    contracts: dict[tuple[str, str, bool], int] = field(default_factory=dict)
    """``(route, backend, violated) → count`` of contract checks."""


def encode(kind: Kind, payload: object) -> bytes:
    """One frame."""
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data), kind) + data


def load_contract(contract: str | None) -> ContractValidator | None:
    """The compiled validators of a spec's ``contract`` (FileNotFoundError/ValueError when bad)."""
    if contract is None:
        return None
    return ContractValidator.from_path(Path(contract))


class FrameReader:
    """Reassembles frames from a byte stream; ``feed`` returns the frames completed so far."""

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_frame_bytes

    def feed(self, data: bytes) -> list[tuple[Kind, Any]]:
        """Append ``data``; WireError on an oversized frame, an unknown kind or a bad payload."""
        buffer = self._buffer
        buffer += data
        frames: list[tuple[Kind, Any]] = []
        position = 0
        while len(buffer) - position >= HEADER.size:
            size, kind = HEADER.unpack_from(buffer, position)
            if size > self._max:
                raise WireError(f"frame of {size} bytes exceeds {self._max}")
            end = position + HEADER.size + size
            if end > len(buffer):
                break
            try:
                frames.append((Kind(kind), pickle.loads(buffer[position + HEADER.size : end])))
            except (ValueError, pickle.UnpicklingError, EOFError) as exc:
                raise WireError(f"bad frame (kind {kind}): {exc}") from None
            position = end
        del buffer[:position]
        return frames
