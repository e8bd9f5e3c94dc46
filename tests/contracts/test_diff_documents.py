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
    """nullable/boolean exclusiveMinimum (3.0) and type lists/numeric exclusiveMinimum (3.1) agree."""
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
    """$ref into other files resolves from the referring file's directory, local refs in that file."""
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
