"""The same generated request to both backends: the same status, and the same body for an error.

Schemathesis' checks look at one answer at a time; a parity break where both answers are plausible
(the legacy stack truncated a NUL-bearing argument at the NUL and scanned the whole root, a 200,
while the candidate refused the path, a 400) shows only side by side. Both backends share one task
store, so the two requests of a pair see the same data. Status and JSON body must match once the
parity suite's volatile values are blanked (``tests/parity/normalize.py``: ids, timestamps,
durations, scan ids), and a 405's ``Allow`` too.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from tests.fuzz.conftest import Backends
from tests.fuzz.legacy import call, is_legacy_nan_500
from tests.fuzz.plan import fuzz, schema
from tests.parity.normalize import normalise

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]


def _json(response: schemathesis.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


@schema.parametrize()
@fuzz
def test_same_answer(case: schemathesis.Case[Any], backends: Backends) -> None:
    """Baseline and candidate answer each generated request alike (the legacy NaN 500 aside)."""
    baseline = call(case, backends.baseline)
    candidate = call(case, backends.candidate)
    if is_legacy_nan_500(case, baseline):
        assert candidate.status_code == 422, candidate.text
        return
    request = f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"[:600]
    assert candidate.status_code == baseline.status_code, (
        request,
        baseline.text[:300],
        candidate.text[:300],
    )
    assert normalise(_json(candidate)) == normalise(_json(baseline)), request
    if baseline.status_code == 405:
        assert candidate.headers.get("allow") == baseline.headers.get("allow"), request
