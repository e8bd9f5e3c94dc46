"""The contract diff tied to shadowing: documented changes are ``expected``, the rest mismatches.

End to end: two specs → ``cutover contracts diff --expect-file`` → a route's
``shadow.expected_differences`` → the real shadow service comparing the two real loopback upstreams
(the candidate renames ``name`` to ``title``, turns ``count`` into a string, reorders ``tags``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from contracts.expected import ExpectedDifferences
from gateway.shadow.admin import ShadowAdmin
from gateway.shadow.config import (
    RouteShadowConfig,
    ShadowConfigError,
    ShadowSettings,
    parse_route_shadow,
)
from gateway.shadow.sender import PoolSender
from gateway.shadow.sidecar_wire import FrameReader, Kind, SidecarSpec, encode
from migration.cli.main import main
from tests.gateway.shadow.conftest import Upstreams, make_service, primary_exchange, scripted_draw

ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["id", "generated_at", "count", "tags", "name"],
    "properties": {
        "id": {"type": "string"},
        "generated_at": {"type": "string"},
        "count": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "name": {"type": "string"},
    },
}


def spec(item: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI document with GET /items answering ``item``."""
    body = {"application/json": {"schema": item}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "items", "version": "1"},
        "paths": {
            "/items": {"get": {"responses": {"200": {"description": "ok", "content": body}}}}
        },
    }


def candidate_item(document_count: bool) -> dict[str, Any]:
    """The candidate's schema: ``name`` renamed to ``title``; ``count`` a string if documented."""
    item = copy.deepcopy(ITEM)
    item["properties"]["title"] = item["properties"].pop("name")
    item["required"] = ["id", "generated_at", "count", "tags", "title"]
    if document_count:
        item["properties"]["count"] = {"type": "string"}
    return item


def expect_file(tmp_path: Path, name: str, document_count: bool) -> str:
    """Run the real diff CLI with --expect-file and return the file it wrote."""
    base, revision, out = (tmp_path / f"{name}-{part}.json" for part in ("b", "r", "exp"))
    base.write_text(json.dumps(spec(ITEM)))
    revision.write_text(json.dumps(spec(candidate_item(document_count))))
    assert main(["contracts", "diff", str(base), str(revision), "--expect-file", str(out)]) == 1
    return str(out)


def route(expected: str | None) -> RouteShadowConfig:
    """A 100 % route with the upstreams' noise ignored and tags compared unordered."""
    block: dict[str, Any] = {
        "percent": 100,
        "same_backend_percent": 0,
        "ignore": ["$.id", "$.generated_at"],
        "unordered": ["$.tags"],
    }
    if expected is not None:
        block["expected_differences"] = expected
    return parse_route_shadow(block, "routes.items.shadow")


@pytest.mark.integration
async def test_documented_changes_are_expected_and_undocumented_ones_mismatch(
    upstreams: Upstreams, sender: PoolSender, tmp_path: Path
) -> None:
    """All changes documented: expected; count's type change undocumented: mismatched on $.count."""
    routes = {
        "documented": route(expect_file(tmp_path, "all", document_count=True)),
        "partial": route(expect_file(tmp_path, "rename", document_count=False)),
        "plain": route(None),
    }
    service, registry = make_service(sender, routes, scripted_draw([]))
    service.start()
    try:
        for _ in range(4):
            for name in routes:
                service.on_response(await primary_exchange(sender, name, "/items"))
        await service.drain()
    finally:
        await service.close()
    outcomes = {name: service.evidence.summary(name)["outcomes"] for name in routes}
    assert (outcomes["documented"]["expected"], outcomes["documented"]["mismatched"]) == (4, 0)
    assert (outcomes["partial"]["expected"], outcomes["partial"]["mismatched"]) == (0, 4)
    assert (outcomes["plain"]["expected"], outcomes["plain"]["mismatched"]) == (0, 4)
    assert service.evidence.summary("partial")["real_fields"] == ["$.count"]
    assert set(service.evidence.summary("plain")["real_fields"]) == {"$.count", "$.name", "$.title"}
    assert service.rates("documented", 3600).mismatch_rate == 0.0
    assert service.rates("partial", 3600).mismatch_rate == 1.0
    value = registry.get_sample_value
    assert value("cutover_shadow_total", {"route": "documented", "outcome": "expected"}) == 4
    reply = ShadowAdmin(service).summary()
    documented = next(r for r in reply.body["routes"] if r["route"] == "documented")
    assert documented["config"]["expected_differences"]["entries"] == 3
    assert documented["shadow"]["outcomes"]["expected"] == 4
    reply.json()  # the admin body stays serialisable


def test_route_config_reads_the_file(tmp_path: Path) -> None:
    """expected_differences is loaded at parse time; null means none."""
    out = expect_file(tmp_path, "all", document_count=True)
    config = route(out)
    assert config.expected_differences.source == out
    paths = {e.path for e in config.expected_differences.entries}
    assert paths == {"$.name", "$.title", "$.count"}
    assert parse_route_shadow({"expected_differences": None}).expected_differences == (
        ExpectedDifferences()
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "cannot read"),
        ('{"format": "something-else"}', "not an expected-differences file"),
    ],
)
def test_bad_expected_file_names_the_field(
    tmp_path: Path, content: str | None, message: str
) -> None:
    """A missing or foreign file stops start-up with the field's dotted name."""
    path = tmp_path / "exp.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ShadowConfigError) as err:
        parse_route_shadow({"expected_differences": str(path)}, "routes.items.shadow")
    assert str(err.value).startswith("routes.items.shadow.expected_differences: ")
    assert message in str(err.value)


def test_expectations_survive_the_trip_to_the_sidecar(tmp_path: Path) -> None:
    """The route config is pickled to the sidecar process; its expectations still match there."""
    config = route(expect_file(tmp_path, "all", document_count=True))
    spec_frame = SidecarSpec(ShadowSettings(), {"items": config}, {}, None)
    [(kind, copied)] = FrameReader().feed(encode(Kind.SPEC, spec_frame))
    expected = copied.routes["items"].expected_differences
    assert kind is Kind.SPEC
    assert expected == config.expected_differences
    assert len(expected.for_request("GET", "/items?x=1", 200)) == 3
