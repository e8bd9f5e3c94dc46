"""Every test leaves the log configuration (``custom_backend.logs``) as it was at import."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from custom_backend import logs


@pytest.fixture(autouse=True)
def _log_config() -> Iterator[None]:
    yield
    logs.reset_defaults()
