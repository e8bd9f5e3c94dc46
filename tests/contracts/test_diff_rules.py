"""The rule catalogue and the case table: every rule has a positive and a negative spec pair."""

from __future__ import annotations

import json

import pytest

from contracts.diff import diff_documents
from contracts.diff.rules import RULES, render_rules
from contracts.report import Severity
from migration.cli.main import main
from tests.contracts.diff_cases import Case, all_cases

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_yields_exactly_its_rules(case: Case) -> None:
    """Each spec pair yields exactly the expected rule ids, no more and no fewer."""
    findings = diff_documents(case.base, case.revision, **case.options)
    assert {f.rule for f in findings} == case.expected, findings


def test_table_is_large() -> None:
    """The table holds at least 120 spec pairs."""
    assert len(CASES) >= 120


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    """Each catalogued id is yielded by some case and withheld by another case about it."""
    positive = set().union(*(c.expected for c in CASES))
    negative = set().union(*(c.about - c.expected for c in CASES))
    assert sorted(set(RULES) - positive) == []
    assert sorted(set(RULES) - negative) == []


def test_findings_use_the_catalogued_level() -> None:
    """A finding's severity is its rule's default level."""
    for case in CASES[:400]:
        for finding in diff_documents(case.base, case.revision, **case.options):
            assert finding.severity is RULES[finding.rule].level


def test_rules_have_summary_and_example() -> None:
    """Every rule explains itself in one line and shows an example."""
    for rule in RULES.values():
        assert rule.summary
        assert "\n" not in rule.summary
        assert rule.example


@pytest.mark.parametrize(
    ("rule", "level"),
    [
        ("response-body-minimum-decreased", Severity.ERR),
        ("request-body-pattern-added", Severity.ERR),
        ("request-body-removed", Severity.ERR),
        ("security-added", Severity.INFO),
        ("response-non-success-status-removed", Severity.INFO),
        ("response-body-property-removed", Severity.WARN),
        ("response-body-required-property-removed", Severity.ERR),
        ("request-body-any-of-member-removed", Severity.ERR),
        ("request-body-any-of-member-added", Severity.INFO),
        ("response-body-one-of-member-added", Severity.ERR),
        ("response-body-one-of-member-removed", Severity.INFO),
        ("request-body-all-of-member-added", Severity.ERR),
        ("request-parameter-query-default-changed", Severity.ERR),
        ("request-body-default-changed", Severity.WARN),
        ("request-parameter-query-serialization-changed", Severity.ERR),
        ("operation-id-changed", Severity.WARN),
    ],
)
def test_levels_the_issue_asks_for(rule: str, level: Severity) -> None:
    """The severities issue #16 lists as misses are the catalogue's defaults."""
    assert RULES[rule].level is level


def test_render_formats() -> None:
    """The catalogue renders as text lines, a markdown table and JSON."""
    assert len(render_rules("text").splitlines()) == len(RULES)
    assert render_rules("markdown").splitlines()[0].startswith("| rule | level |")
    doc = json.loads(render_rules("json"))
    assert {r["id"] for r in doc} == set(RULES)
    with pytest.raises(ValueError, match="unknown format"):
        render_rules("yaml")


def test_rules_command_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    """`cutover contracts rules --format json` prints every rule id and exits 0."""
    assert main(["contracts", "rules", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in doc} == set(RULES)


def test_rules_command_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    """`--format markdown` prints a table for the docs."""
    assert main(["contracts", "rules", "--format", "markdown"]) == 0
    assert "| `request-body-removed` | ERR |" in capsys.readouterr().out
