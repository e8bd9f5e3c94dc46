"""What the fuzz run (``tests/fuzz``) found, pinned: both backends give the same 4xx, never a 5xx.

In-process first (every case, both apps over one store), then the same hostile values through real
servers where it matters: the legacy stack under uvicorn (uvloop) with its default CLI bridge, where
a NUL in an argument was cut off (``--paths=\\x00`` became ``--paths=``: a scan of the whole root).
Each case states the exact answer, so a case both stacks got wrong in the same way still fails. The
two documented legacy differences (a 422 whose echoed input FastAPI cannot encode) close the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

from tests.parity.conftest import API_KEY, Backends, make_project
from tests.support.servers import free_port, python_argv, run_process

KEY: Final = {"x-api-key": API_KEY}
JSON: Final = {**KEY, "content-type": "application/json"}
TASKS: Final = "/api/v1/tasks"
SCAN: Final = "/api/v1/project/scan"
BIG: Final = 2**63


def too_big(name: str, raw: str) -> dict[str, Any]:
    """The 422 for an integer query parameter beyond SQLite's INTEGER."""
    return {
        "detail": [
            {
                "type": "less_than_equal",
                "loc": ["query", name],
                "msg": f"Input should be less than or equal to {BIG - 1}",
                "input": raw,
                "ctx": {"le": BIG - 1},
            }
        ]
    }


def unparsable(name: str, raw: str, kind: str) -> dict[str, Any]:
    """pydantic's 422 for an integer string it cannot parse
    (``int_parsing`` / ``int_parsing_size``)."""
    msg = {
        "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
        "int_parsing_size": "Unable to parse input string as an integer, exceeded maximum size",
    }[kind]
    return {"detail": [{"type": kind, "loc": ["query", name], "msg": msg, "input": raw}]}


@dataclass(frozen=True)
class Hostile:
    """One request and the exact answer both backends must give (``body`` None: status only)."""

    id: str
    method: str
    path: str
    status: int
    body: Any = None
    params: dict[str, str] | None = None
    json: Any = None
    content: bytes | None = None
    allow: str | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))

    def kwargs(self) -> dict[str, Any]:
        """httpx keyword arguments."""
        found: dict[str, Any] = {"params": self.params, "headers": self.headers}
        if self.json is not None:  # ASCII escapes, so a lone surrogate can be sent at all
            found["content"] = json.dumps(self.json).encode()
        if self.content is not None:
            found["content"] = self.content
        return found


PARSE_ERROR: Final = {"detail": "There was an error parsing the body"}
METHOD_NOT_ALLOWED: Final = {"detail": "Method Not Allowed"}
CASES: Final = [
    # offset beyond SQLite's signed 64-bit INTEGER: was a 502 (baseline CLI) and a plain 500
    # (candidate)
    *(
        Hostile(f"offset-{raw[:6]}", "GET", TASKS, 422, too_big("offset", raw), {"offset": raw})
        for raw in (str(BIG), str(2**64), str(10**30))
    ),
    Hostile("offset-largest", "GET", TASKS, 200, params={"offset": str(BIG - 1)}),
    # more digits than Python's int parses: a plain 500 on the candidate
    Hostile(
        "limit-4301-digits",
        "GET",
        TASKS,
        422,
        unparsable("limit", "9" * 4301, "int_parsing_size"),
        {"limit": "9" * 4301},
    ),
    Hostile(
        "limit-plus-4301-digits",
        "GET",
        TASKS,
        422,
        unparsable("limit", "+" + "9" * 4301, "int_parsing"),
        {"limit": "+" + "9" * 4301},
    ),
    # Allow lists every method of the resource (it listed the first route's only)
    Hostile("options-tasks", "OPTIONS", TASKS, 405, METHOD_NOT_ALLOWED, allow="GET, POST"),
    Hostile("put-tasks", "PUT", TASKS, 405, METHOD_NOT_ALLOWED, allow="GET, POST"),
    Hostile(
        "options-task",
        "OPTIONS",
        f"{TASKS}/abc",
        405,
        METHOD_NOT_ALLOWED,
        allow="DELETE, GET, PATCH",
    ),
    Hostile(
        "options-health", "OPTIONS", "/api/v1/system/health", 405, METHOD_NOT_ALLOWED, allow="GET"
    ),
    Hostile("post-metrics", "POST", "/metrics", 405, METHOD_NOT_ALLOWED, allow="GET, HEAD"),
    # bytes that are not text: a 400 the contract now documents for task bodies
    Hostile("create-not-text", "POST", TASKS, 400, PARSE_ERROR, content=b'{"title": "\xff\xfe"}'),
    Hostile("update-not-text", "PATCH", f"{TASKS}/abc", 400, PARSE_ERROR, content=b"\xff;"),
    # NUL: the engine's 400 for a path, a plain search otherwise
    Hostile(
        "scan-nul-path",
        "POST",
        SCAN,
        400,
        {"detail": "Invalid path: '\\x00'"},
        json={"paths": ["\x00"]},
    ),
    Hostile(
        "scan-nul-inside-path",
        "POST",
        SCAN,
        400,
        {"detail": "Invalid path: 'pkg\\x00'"},
        json={"paths": ["pkg\x00"]},
    ),
    Hostile(
        "context-nul-file",
        "GET",
        "/api/v1/project/context/MINIMAL",
        400,
        {"detail": "Invalid path: '\\x00'"},
        {"include_files": "\x00"},
    ),
    Hostile("scan-nul-exclude", "POST", SCAN, 200, json={"exclude_patterns": ["\x00"]}),
    Hostile("search-nul", "GET", TASKS, 200, params={"q": "\x00", "tag": "a\x00"}),
    Hostile("get-nul-id", "GET", f"{TASKS}/%00", 404, {"detail": "Task not found"}),
    # lone surrogates where pydantic lets them through: the engine refuses them (they were 500s)
    Hostile(
        "tags-surrogate",
        "POST",
        TASKS,
        400,
        {"detail": "tags: must be valid Unicode text (no lone surrogates)"},
        json={"title": "t", "tags": ["\udfff"]},
    ),
    Hostile(
        "scan-surrogate-path",
        "POST",
        SCAN,
        400,
        {"detail": "Invalid path: '\\ud800'"},
        json={"paths": ["\ud800"]},
    ),
]  # fmt: skip


def _check(case: Hostile, response: httpx.Response, name: str) -> None:
    assert response.status_code == case.status, (name, response.text[:300])
    if case.body is not None:
        assert response.json() == case.body, name
    if case.allow is not None:
        assert response.headers["allow"] == case.allow, name


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_same_answer_in_process(backends: Backends, case: Hostile) -> None:
    """Both apps give the stated answer (the baseline over its in-process bridge)."""
    for name, client in backends.pair():
        _check(case, await client.request(case.method, case.path, **case.kwargs()), name)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Both stacks as served: uvicorn + the CLI bridge for the baseline,
    over one project and store."""
    base = tmp_path_factory.mktemp("hostile")
    root = make_project(base / "project")
    env = {
        "LLMSTRUCT_API_KEY": API_KEY,
        "LLMSTRUCT_PROJECT_ROOT": str(root),
        "LLMSTRUCT_DATABASE": str(Path(base) / "shared.db"),
        "LLMSTRUCT_LOG_LEVEL": "WARNING",
    }
    ports = {"fastapi": free_port(), "custom": free_port()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    health = "/api/v1/system/health"
    with (
        run_process(
            python_argv("-m", "fastapi_backend", "--port", str(ports["fastapi"])),
            urls["fastapi"] + health,
            env={**env, "LLMSTRUCT_BRIDGE_MODE": "subprocess"},
        ),
        run_process(
            python_argv("-m", "custom_backend", "--port", str(ports["custom"])),
            urls["custom"] + health,
            env=env,
        ),
    ):
        yield urls


# Larger than the in-process suite's 4 KiB body limit, so only served (default limit: 1 MiB).
LONG_BODY: Final = Hostile(
    "body-5000-digits", "POST", TASKS, 400, PARSE_ERROR, content=b'{"title": 9%s}' % (b"9" * 4999)
)
SERVED: Final = [
    LONG_BODY,
    *(case for case in CASES if any(word in case.id for word in ("nul", "surrogate", "offset"))),
]


@pytest.mark.integration
@pytest.mark.parametrize("case", SERVED, ids=[case.id for case in SERVED])
def test_same_answer_served(servers: dict[str, str], case: Hostile) -> None:
    """Through real servers the legacy CLI gets NUL and surrogates whole: the same answers."""
    for name, url in servers.items():
        _check(case, httpx.request(case.method, url + case.path, timeout=30, **case.kwargs()), name)


LEGACY: Final = [
    ("nan", b'{"title": NaN}', {"type": "string_type", "input": None}),
    ("infinity", b'{"title": 1e999}', {"type": "string_type", "input": None}),
    ("surrogate", b'{"title": "\\ud800"}', {"type": "string_unicode", "input": "\ud800"}),
]


@pytest.mark.parametrize(
    ("body", "issue"), [(b, i) for _, b, i in LEGACY], ids=[n for n, _, _ in LEGACY]
)
async def test_documented_legacy_difference(
    backends: Backends, body: bytes, issue: dict[str, Any]
) -> None:
    """FastAPI cannot encode the 422 echoing these inputs and answers 500; the candidate its 422."""
    transport = httpx.ASGITransport(app=backends.fastapi_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fastapi:
        baseline = await fastapi.post(TASKS, content=body, headers=JSON)
    assert (baseline.status_code, baseline.text) == (500, "Internal Server Error")
    candidate = await backends.custom.post(TASKS, content=body, headers=JSON)
    assert candidate.status_code == 422
    found = candidate.json()["detail"][0]
    assert ({"type": found["type"], "input": found["input"]}, found["loc"]) == (
        issue,
        ["body", "title"],
    )
