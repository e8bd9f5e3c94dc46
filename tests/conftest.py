"""Suite-wide guard: never test a compiled gateway module built from an older source."""

from __future__ import annotations

import pytest

from gateway import build_hotpath


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop before collecting when a compiled hot-path module is older than its ``.py``."""
    old = build_hotpath.stale()
    if old:
        raise pytest.UsageError(
            f"compiled gateway modules are older than their source: {', '.join(old)}; "
            "run `make compile` (or `python -m gateway.build_hotpath`, `--clean` for plain Python)"
        )
