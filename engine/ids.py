"""Random ids: uuid4 as 32 lowercase hex characters.

Built from ``os.urandom`` with the RFC 4122 version and variant bits set, which is exactly what
``uuid.uuid4().hex`` returns, without importing ``uuid`` (it pulls in ``platform``) on every CLI
call.
"""

from __future__ import annotations

import os


def uuid4_hex() -> str:
    """A random version-4 UUID in hex (RFC 4122 section 4.4)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()
