"""Schemathesis against the baseline, the candidate and the gateway in front of both (issue #12).

Every operation of ``contracts/openapi.json`` gets the seeded, bounded run of ``plan.py``; each
answer must pass schemathesis' checks: no 5xx, a documented status, content type, headers and
body, invalid input refused with a 4xx, a complete ``Allow`` on 405. The one exception is
allow-listed in ``legacy.py``: the baseline's 500 on a ``NaN`` in a JSON body (documented in
the README's parity paragraph).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from tests.fuzz.conftest import Backends
from tests.fuzz.legacy import validate
from tests.fuzz.plan import fuzz, schema

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]


@schema.parametrize()
@fuzz
def test_baseline(case: schemathesis.Case[Any], backends: Backends) -> None:
    """The legacy stack answers every generated request without a server error or contract break."""
    validate(case, backends.baseline, legacy=True)


@schema.parametrize()
@fuzz
def test_candidate(case: schemathesis.Case[Any], backends: Backends) -> None:
    """The new stack answers every generated request without a server error or a contract break."""
    validate(case, backends.candidate, legacy=False)


@schema.parametrize()
@fuzz
def test_gateway(case: schemathesis.Case[Any], gateway: str) -> None:
    """Through the gateway (50/50 between both), no generated request gets a server error."""
    validate(case, gateway, legacy=True)
