"""Reading documents for the diff: meta-schema validation, OpenAPI 3.0 vs 3.1, $ref across files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.diff import SpecError, diff_documents
from contracts.diff.validate import pointer
from migration.cli.main import main

Spec = dict[str, Any]


def doc(version: str, schema: Any) -> Spec:
    """GET /things returning ``schema``."""
    return {
        "openapi": version,
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": schema}},
                        }
                    }
                }
            }
        },
    }


def test_openapi_30_and_31_spellings_compare_equal() -> None:
    """nullable/boolean exclusiveMinimum (3.0) and type lists/numeric ones (3.1) agree."""
    old = doc(
        "3.0.3",
        {
            "type": "object",
            "properties": {
                "n": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                "s": {"type": "string", "nullable": True},
            },
        },
    )
    new = doc(
        "3.1.0",
        {
            "type": "object",
            "properties": {
                "n": {"type": "number", "exclusiveMinimum": 0},
                "s": {"type": ["string", "null"]},
            },
        },
    )
    assert diff_documents(old, new) == ()
    assert diff_documents(new, old) == ()


def test_invalid_document_names_the_pointer() -> None:
    """A document that breaks the meta-schema is refused with the JSON pointer of the bad field."""
    bad = doc("3.1.0", {"type": "string"})
    bad["paths"]["/things"]["get"]["parameters"] = [{"name": "q", "in": "qery"}]
    with pytest.raises(SpecError, match=r"revision is not a valid OpenAPI 3\.1 document") as info:
        diff_documents(doc("3.1.0", {}), bad)
    assert "#/paths/~1things/get/parameters/0/in" in str(info.value)


def test_openapi_30_schema_objects_are_validated() -> None:
    """3.0's meta-schema checks Schema Objects: a 3.1 type list in a 3.0 document is refused."""
    with pytest.raises(SpecError, match=r"OpenAPI 3\.0"):
        diff_documents(doc("3.0.3", {"type": ["string", "null"]}), doc("3.0.3", {}))


def test_pointer_escapes() -> None:
    """JSON pointers escape '~' and '/' (RFC 6901)."""
    assert pointer(["paths", "/a~b", 0]) == "#/paths/~1a~0b/0"


def test_cli_reports_invalid_file_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command names the file and the pointer, and exits 2 (unusable input)."""
    good = tmp_path / "base.json"
    good.write_text(json.dumps(doc("3.1.0", {})))
    broken = doc("3.1.0", {})
    del broken["paths"]["/things"]["get"]["responses"]["200"]["description"]
    bad = tmp_path / "rev.json"
    bad.write_text(json.dumps(broken))
    assert main(["contracts", "diff", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "#/paths/~1things/get/responses/200" in err


def _write_split(root: Path, id_type: str) -> Path:
    """A document whose schema lives in another file, which refers to a third one."""
    (root / "schemas").mkdir(parents=True)
    main_doc = doc("3.1.0", {"$ref": "schemas/thing.yaml#/Thing"})
    (root / "openapi.yaml").write_text(yaml.safe_dump(main_doc))
    thing = {
        "Thing": {
            "type": "object",
            "properties": {"id": {"$ref": "#/Id"}, "owner": {"$ref": "../people.yaml#/Person"}},
        },
        "Id": {"type": id_type},
    }
    (root / "schemas" / "thing.yaml").write_text(yaml.safe_dump(thing))
    person = {"Person": {"type": "object", "properties": {"name": {"type": "string"}}}}
    (root / "people.yaml").write_text(yaml.safe_dump(person))
    return root / "openapi.yaml"


def test_refs_across_files_are_followed(tmp_path: Path) -> None:
    """$ref into other files resolves from the referring file's directory, local refs in it."""
    base = _write_split(tmp_path / "a", "string")
    revision = _write_split(tmp_path / "b", "integer")
    people = yaml.safe_load((tmp_path / "b" / "people.yaml").read_text())
    people["Person"]["required"] = ["name"]
    (tmp_path / "b" / "people.yaml").write_text(yaml.safe_dump(people))
    findings = diff_documents(
        yaml.safe_load(base.read_text()),
        yaml.safe_load(revision.read_text()),
        base_dir=base.parent,
        revision_dir=revision.parent,
    )
    assert {(f.rule, f.location) for f in findings} == {
        ("response-body-type-changed", "response 200 $.id"),
        ("response-body-property-became-required", "response 200 $.owner.name"),
    }


def test_cli_resolves_refs_from_the_files_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`contracts diff` resolves external refs relative to each document, wherever it runs."""
    base = _write_split(tmp_path / "a", "string")
    revision = _write_split(tmp_path / "b", "integer")
    assert main(["contracts", "diff", str(base), str(revision), "--format", "json"]) == 1
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert rules == {"response-body-type-changed"}


def test_external_ref_without_a_directory_is_a_spec_error(tmp_path: Path) -> None:
    """A dict with a file $ref and no directory to resolve it from is refused, not guessed."""
    spec = doc("3.1.0", {"$ref": "other.yaml#/X"})
    with pytest.raises(SpecError, match="give the document's path"):
        diff_documents(spec, copy.deepcopy(spec))


def test_missing_ref_file_is_a_spec_error(tmp_path: Path) -> None:
    """A $ref to a file that is not there names the target."""
    spec = doc("3.1.0", {"$ref": "missing.yaml#/X"})
    with pytest.raises(SpecError, match=r"missing\.yaml"):
        diff_documents(spec, copy.deepcopy(spec), base_dir=tmp_path, revision_dir=tmp_path)


def test_remote_ref_is_not_fetched(tmp_path: Path) -> None:
    """A URL $ref is refused with a hint: the diff never touches the network."""
    spec = doc("3.1.0", {"$ref": "https://example.com/s.yaml#/X"})
    with pytest.raises(SpecError, match="not fetched"):
        diff_documents(spec, copy.deepcopy(spec), base_dir=tmp_path, revision_dir=tmp_path)


def test_all_of_member_ref_inlined_is_not_a_change() -> None:
    """An allOf member moved from a $ref to inline (or back) is the same member."""
    thing = {"type": "object", "properties": {"a": {"type": "string"}}}
    extra = {"required": ["a"]}
    base = doc("3.1.0", {"allOf": [{"$ref": "#/components/schemas/Thing"}, extra]})
    base["components"] = {"schemas": {"Thing": thing}}
    revision = doc("3.1.0", {"allOf": [thing, extra]})
    assert diff_documents(base, revision) == ()
    assert diff_documents(revision, base) == ()


def test_cli_follows_path_items_in_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A path item that $refs another file is read, in the diff and the report's subjects."""
    for side, kind in (("a", "string"), ("b", "integer")):
        root = tmp_path / side
        root.mkdir()
        item = doc("3.1.0", {"type": kind})["paths"]["/things"]
        (root / "things.yaml").write_text(yaml.safe_dump(item))
        spec = doc("3.1.0", {})
        spec["paths"]["/things"] = {"$ref": "things.yaml"}
        (root / "openapi.json").write_text(json.dumps(spec))
    argv = ["contracts", "diff", str(tmp_path / "a" / "openapi.json")]
    assert main([*argv, str(tmp_path / "b" / "openapi.json"), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["subjects"] == ["GET /things"]
    assert [f["rule"] for f in report["findings"]] == ["response-body-type-changed"]


UNQUOTED_YAML = """
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /a:
    get:
      deprecated: true
      x-sunset: 2026-01-01
      responses:
        200: {description: ok}
"""


def test_yaml_int_status_keys_and_dates_are_read_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unquoted `200:` and `x-sunset: 2026-01-01` in YAML work like their JSON strings."""
    base, revision = tmp_path / "base.yaml", tmp_path / "rev.yaml"
    base.write_text(UNQUOTED_YAML)
    revision.write_text(UNQUOTED_YAML.replace("200: {description: ok}", "201: {description: ok}"))
    assert main(["contracts", "diff", str(base), str(revision), "--format", "json"]) == 1
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert rules == {"response-success-status-removed", "response-success-status-added"}
    loaded = yaml.safe_load(UNQUOTED_YAML)
    assert diff_documents(loaded, copy.deepcopy(loaded)) == ()


def test_mutually_recursive_schemas_report_on_every_operation() -> None:
    """A change in B is found through A on an operation that returns A, even after the walk first
    met A inside B (where A's way back to B was a cycle and so left unwalked)."""

    def spec(y_type: str) -> Spec:
        ref = "#/components/schemas/"
        document = doc("3.1.0", {"$ref": f"{ref}A"})
        document["paths"]["/b"] = {
            "get": {
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": f"{ref}B"}}},
                    }
                }
            }
        }
        document["components"] = {
            "schemas": {
                "A": {
                    "type": "object",
                    "properties": {"b": {"$ref": f"{ref}B"}, "x": {"type": "string"}},
                },
                "B": {
                    "type": "object",
                    "properties": {"a": {"$ref": f"{ref}A"}, "y": {"type": y_type}},
                },
            }
        }
        return document

    findings = diff_documents(spec("string"), spec("integer"))
    assert {(f.subject, f.location) for f in findings} == {
        ("GET /b", "response 200 $.y"),
        ("GET /things", "response 200 $.b.y"),
    }


def _dense(count: int, value_type: str) -> Spec:
    """``count`` components that all refer to each other, one operation returning each."""
    ref = "#/components/schemas/"
    document = doc("3.1.0", {})
    document["paths"] = {
        f"/s{i}": {
            "get": {
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": f"{ref}S{i}"}}},
                    }
                }
            }
        }
        for i in range(count)
    }
    document["components"] = {
        "schemas": {
            f"S{i}": {
                "type": "object",
                "properties": {
                    **{f"p{j}": {"$ref": f"{ref}S{j}"} for j in range(count) if j != i},
                    "v": {"type": value_type},
                },
            }
            for i in range(count)
        }
    }
    return document


def test_cross_referenced_model_is_walked_once_per_component() -> None:
    """In a model where every component refers to every other, each operation reports each changed
    component once, at its shortest path, instead of once per path through the graph."""
    findings = diff_documents(_dense(8, "string"), _dense(8, "integer"))
    on_first = sorted(f.location for f in findings if f.subject == "GET /s0")
    assert len(findings) == 64
    assert on_first == sorted(
        ["response 200 $.v", *[f"response 200 $.p{j}.v" for j in range(1, 8)]]
    )
