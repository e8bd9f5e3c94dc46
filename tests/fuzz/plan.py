"""The fuzz run's plan, shared by every fuzz test: the contract, the seed, the bound, the
dictionaries.

Schemathesis reads ``contracts/openapi.json`` (the baseline's own export) and generates, per
operation, the schema's examples, its coverage cases (boundaries, wrong types, unsupported methods)
and ``EXAMPLES`` random ones, positive and negative, from the fixed ``SEED``. No example database is
kept, so two runs send the same requests. The bound keeps the whole ``tests/fuzz`` package within
about a minute on two cores (the README's figure).
"""

from __future__ import annotations

import os
from typing import Any, Final

import schemathesis
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st

from contracts.export import OPENAPI_PATH
from tests.fuzz.conftest import API_KEY

# Fixed in CI; a deeper local run: FUZZ_EXAMPLES=300 FUZZ_SEED=7 make fuzz (quote both with a
# finding).
SEED: Final = int(os.environ.get("FUZZ_SEED", "20261206"))
EXAMPLES: Final = int(os.environ.get("FUZZ_EXAMPLES", "25"))
#: Values that broke a backend once, mixed into generated strings and integers (a fuzzing
#: dictionary, as AFL's): NUL, which argv cannot carry (the legacy stack's CLI), path tricks the
#: root confinement must refuse, and integers at and past SQLite's signed 64-bit INTEGER.
HOSTILE_STRINGS: Final = (
    "\x00",
    "a\x00b",
    "..",
    "../..",
    "/etc/passwd",
    "~",
    "%00",
    "\\",
    "*",
    "**/../*",
)
HOSTILE_INTEGERS: Final = (2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1)

#: Every security scheme of the contract carries the key, so schemathesis knows requests are
#: authenticated: a mutated Authorization header next to a valid X-API-Key is not counted as invalid
#: input, and its ignored_auth check sends requests without credentials (each must be a 401).
AUTH_SCHEMES: Final = {"APIKeyHeader": {"api_key": API_KEY}, "HTTPBearer": {"bearer": API_KEY}}
CONFIG: Final = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "auth": {"openapi": AUTH_SCHEMES},
        "dictionaries": {
            "hostile-strings": {"values": list(HOSTILE_STRINGS)},
            "hostile-integers": {"values": list(HOSTILE_INTEGERS)},
        },
        "generation": {
            "dictionaries": {
                "string": {"dictionary": "hostile-strings", "probability": 0.2},
                "integer": {"dictionary": "hostile-integers", "probability": 0.3},
            }
        },
        # A schema-valid request may still name a path the project does not have: the scan and the
        # context answer it with their documented 400 ("Path not found: ..."), not a rejected
        # request.
        "operations": [
            {
                "include-operation-id": ["scan_project", "get_context"],
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "404"]}
                },
            }
        ],
    }
)
schema: Final = schemathesis.openapi.from_path(OPENAPI_PATH, config=CONFIG)


@schema.hook("flatmap_body")
def hostile_list_items(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Each item of a JSON body's string lists (paths, patterns, tags) may become a dictionary
    value.

    Schemathesis' dictionaries reach parameters only; the scan's ``paths`` (where NUL broke the
    legacy stack) live in the body. A hostile item is still a string, so a valid body stays valid.
    """
    if not isinstance(body, dict):
        return st.just(body)
    lists = {
        key: st.tuples(
            *(st.one_of(st.just(item), st.sampled_from(HOSTILE_STRINGS)) for item in value)
        )
        for key, value in body.items()
        if isinstance(value, list) and value and all(isinstance(item, str) for item in value)
    }
    if not lists:
        return st.just(body)
    return st.fixed_dictionaries(lists).map(
        lambda drawn: {**body, **{key: list(items) for key, items in drawn.items()}}
    )


def fuzz(test: Any) -> Any:
    """Seeded and bounded: ``EXAMPLES`` random cases per operation, no example database.

    No per-example deadline and no health checks: on a shared two-core machine a CLI call or a slow
    draw would fail them at random. The bound is the example count; each request has its own timeout
    (``legacy.TIMEOUT_S``) and each test pytest-timeout's 120 s.
    """
    bounded = settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )(test)
    return seed(SEED)(bounded)
