"""The HTML report: standalone, grouped by operation, all escaped; the single-line format."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

from contracts.report import Finding, Report, Severity, render


class Collect(HTMLParser):
    """Records start tags, their attributes and the text of each ``h2``."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag: str) -> None:
        self._in_h2 = False if tag == "h2" else self._in_h2

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)


def report() -> Report:
    """A WARN-only operation listed before an ERR one, a hostile path and a quiet operation."""
    return Report(
        tool="diff",
        subjects=("GET /a", "GET /b/<script>", "GET /quiet"),
        findings=(
            Finding(Severity.WARN, "w-rule", "GET /a", "response 200 $.x", "new enum value"),
            Finding(
                Severity.ERR,
                "e-rule",
                "GET /b/<script>",
                "response 200 $.y",
                'pattern "<b>" & more',
            ),
            Finding(Severity.INFO, "i-rule", "GET /b/<script>", "parameter query q", "added"),
        ),
        notes=("note <i>",),
        source="specs/rev.json",
    )


def test_html_is_standalone() -> None:
    """No script, no external stylesheet, image or font: the page opens offline."""
    page = render(report(), "html")
    parser = Collect()
    parser.feed(page)
    tags = [tag for tag, _ in parser.tags]
    assert page.startswith("<!DOCTYPE html>")
    assert "script" not in tags
    assert not any(tag in {"link", "img", "iframe"} for tag in tags)
    assert "http://" not in page
    assert "https://" not in page


def test_html_escapes_everything_from_the_documents() -> None:
    """Paths, messages and notes never become markup."""
    page = render(report(), "html")
    assert "<script>" not in page
    assert "<b>" not in page
    assert "<i>" not in page
    assert "GET /b/&lt;script&gt;" in page
    assert "pattern &quot;&lt;b&gt;&quot; &amp; more" in page


def test_rule_help_is_the_rule_cell_title() -> None:
    """An explained rule carries its explanation, escaped, as the cell's title."""
    explained = dataclasses.replace(report(), rule_help={"e-rule": 'breaks "old" <clients>'})
    page = render(explained, "html")
    assert 'title="breaks &quot;old&quot; &lt;clients&gt;">e-rule</td>' in page


def test_html_groups_by_operation_worst_first() -> None:
    """One heading per operation with findings, the ERR one first; quiet operations listed after."""
    parser = Collect()
    parser.feed(render(report(), "html"))
    assert parser.headings[:3] == ["GET /b/<script>", "GET /a", "No findings"]
    assert "FAIL" in render(report(), "html")


def test_singleline_is_one_finding_per_line() -> None:
    """LEVEL rule subject location: message, newlines folded, nothing else printed."""
    findings = (*report().findings, Finding(Severity.INFO, "r", "GET /c", "loc", "two\nlines"))
    out = render(Report(tool="diff", subjects=(), findings=findings), "singleline")
    assert out.splitlines() == [
        "WARN w-rule GET /a response 200 $.x: new enum value",
        'ERR e-rule GET /b/<script> response 200 $.y: pattern "<b>" & more',
        "INFO i-rule GET /b/<script> parameter query q: added",
        "INFO r GET /c loc: two lines",
    ]


def test_singleline_prints_nothing_without_findings() -> None:
    """A clean report renders to the empty string (grep-friendly)."""
    assert render(Report(tool="diff", subjects=("GET /a",), findings=()), "singleline") == ""
