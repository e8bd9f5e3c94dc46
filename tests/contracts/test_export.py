"""The checked-in contracts/openapi.json is exactly what the FastAPI app exports."""

from __future__ import annotations

import json
from pathlib import Path

from contracts.export import (
    OPENAPI_PATH,
    drift,
    drift_diff,
    load_openapi,
    openapi_document,
    render,
    write_openapi,
)


def test_checked_in_document_matches_the_app() -> None:
    """No drift: regenerate with `cutover contracts export` when this fails."""
    assert drift_diff() == [], "".join(drift_diff()[:60])


def test_document_is_the_llmstruct_api() -> None:
    """Title, version, every path of API.md, and no /metrics."""
    document = load_openapi()
    assert (document["info"]["title"], document["info"]["version"]) == ("LLMStruct API", "0.1.0")
    assert document["openapi"].startswith("3.1")
    assert sorted(document["paths"]) == [
        "/api/v1/project/context/{mode}",
        "/api/v1/project/info",
        "/api/v1/project/scan",
        "/api/v1/system/health",
        "/api/v1/system/status",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
    ]


def test_every_operation_documents_its_errors() -> None:
    """Authenticated operations document 401, bridge errors 502/504; bodies document 413."""
    document = openapi_document()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            if path == "/api/v1/system/health":
                assert statuses == {"200"}
                continue
            assert {"401", "502", "504"} <= statuses, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= statuses, (method, path)
            if "{task_id}" in path:
                assert "404" in statuses, (method, path)


def test_render_is_deterministic_and_sorted() -> None:
    """Two renders are identical; keys are sorted; the text ends with a newline."""
    first, second = render(openapi_document()), render(openapi_document())
    assert first == second
    assert first.endswith("}\n")
    assert list(json.loads(first)) == sorted(json.loads(first))


def test_drift_detects_a_changed_copy(tmp_path: Path) -> None:
    """A freshly written copy has no drift; an edited one has."""
    copy = write_openapi(tmp_path / "openapi.json")
    assert not drift(copy)
    copy.write_text(copy.read_text().replace('"LLMStruct API"', '"Other API"'))
    assert drift(copy)
    assert any(line.startswith("-") and "Other API" in line for line in drift_diff(copy))


def test_missing_copy_is_drift(tmp_path: Path) -> None:
    """No checked-in file at all counts as drift."""
    assert drift(tmp_path / "absent.json")
    assert OPENAPI_PATH.name == "openapi.json"
