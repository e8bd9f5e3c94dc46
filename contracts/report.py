"""Findings and the report formats shared by ``contracts diff``, ``check`` and ``replay``.

A tool produces a :class:`Report`: the subjects it examined (operations, recorded requests) and the
findings about them. Rendering is pure (report in, text out); the exit code follows one rule for all
three tools: 1 when a finding is at or above ``--fail-on``, else 0.

Formats: ``text`` (terminal), ``json`` (machines), ``junit`` (one testcase per subject, failures for
findings at/above the threshold, skipped subjects as ``<skipped>``), ``github`` (workflow commands,
``::error title=...::message``, see GitHub's "Workflow commands" docs), ``markdown`` (job summaries
and PR comments), ``singleline`` (one finding per line, for grep and logs), ``sarif`` (SARIF 2.1.0
for code-scanning UIs, :mod:`contracts.report_sarif`) and ``html`` (a standalone page,
:mod:`contracts.report_html`).
"""

from __future__ import annotations

import enum
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

FORMATS = ("text", "json", "junit", "github", "markdown", "singleline", "sarif", "html")


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so ``>=`` means "at least as bad"."""

    INFO = 0
    WARN = 1
    ERR = 2

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Accept ``err``/``error``, ``warn``/``warning``, ``info`` in any case."""
        aliases = {"ERROR": "ERR", "WARNING": "WARN"}
        name = text.strip().upper()
        try:
            return cls[aliases.get(name, name)]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use ERR, WARN or INFO)") from None


@dataclass(frozen=True)
class Finding:
    """One thing a tool noticed about a subject, e.g. a removed enum value in an operation."""

    severity: Severity
    rule: str
    subject: str
    location: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "severity": self.severity.name,
            "rule": self.rule,
            "subject": self.subject,
            "location": self.location,
            "message": self.message,
        }


@dataclass(frozen=True)
class SourceSpot:
    """Where a subject is written down: a file (as the user named it) and a 1-based line.

    Code-scanning UIs place a result on a line of a file in the repository (GitHub requires
    ``region.startLine``), so a subject that can be traced to a document carries its spot.
    """

    file: str
    line: int = 1


@dataclass(frozen=True)
class Report:
    """What a tool examined and found. ``skipped`` maps a subject to the reason it was not run.

    ``source`` is the document the subjects come from (the revision for ``diff``, the contract for
    ``check``); ``spots`` places single subjects more precisely (a removed operation is in the
    base). Both are optional: renderers that need a file fall back to ``source``, then to none.
    ``rule_help`` explains rule ids in one line each (SARIF's rule descriptions), where known.
    """

    tool: str
    subjects: tuple[str, ...]
    findings: tuple[Finding, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    fail_on: Severity = Severity.ERR
    stats: dict[str, int] = field(default_factory=dict)
    source: str = ""
    spots: dict[str, SourceSpot] = field(default_factory=dict)
    rule_help: dict[str, str] = field(default_factory=dict)

    def spot(self, subject: str) -> SourceSpot | None:
        """Where ``subject`` is written down, if known."""
        if subject in self.spots:
            return self.spots[subject]
        return SourceSpot(self.source) if self.source else None

    @property
    def failures(self) -> tuple[Finding, ...]:
        """Findings at or above the threshold."""
        return tuple(f for f in self.findings if f.severity >= self.fail_on)

    @property
    def exit_code(self) -> int:
        """0 when nothing reaches ``fail_on``, else 1."""
        return 1 if self.failures else 0

    def for_subject(self, subject: str) -> tuple[Finding, ...]:
        """Findings about one subject, in order."""
        return tuple(f for f in self.findings if f.subject == subject)


def render(report: Report, fmt: str) -> str:
    """Render ``report`` in one of :data:`FORMATS`."""
    # The two larger renderers live in modules of their own that import this one.
    from contracts.report_html import render_html
    from contracts.report_sarif import render_sarif

    renderers: dict[str, Callable[[Report], str]] = {
        "text": render_text,
        "json": render_json,
        "junit": render_junit,
        "github": render_github,
        "markdown": render_markdown,
        "singleline": render_singleline,
        "sarif": render_sarif,
        "html": render_html,
    }
    try:
        return renderers[fmt](report)
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})") from None


def _verdict(report: Report) -> str:
    failed = len(report.failures)
    return (
        f"{report.tool}: {'FAIL' if failed else 'PASS'} — {len(report.subjects)} examined, "
        f"{len(report.findings)} finding(s), {failed} at or above {report.fail_on.name}, "
        f"{len(report.skipped)} skipped"
    )


def render_text(report: Report) -> str:
    """Human-readable lines, worst first."""
    lines = [
        f"{f.severity.name:<4} {f.subject}  {f.location}: {f.message} [{f.rule}]"
        for f in sorted(report.findings, key=lambda f: -f.severity)
    ]
    lines += [f"SKIP {subject}: {reason}" for subject, reason in report.skipped]
    lines += [f"note: {note}" for note in report.notes]
    lines.append(_verdict(report))
    return "\n".join(lines) + "\n"


def render_singleline(report: Report) -> str:
    """``LEVEL rule subject location: message``, one finding per line and nothing else.

    Meant for ``grep``, ``sort`` and log lines: no verdict, no notes, newlines inside a message
    folded to spaces so that one line is always one finding. Findings keep the tool's order.
    """
    return "".join(
        " ".join(_one_line(part) for part in (f.severity.name, f.rule, f.subject))
        + f" {_one_line(f.location)}: {_one_line(f.message)}\n"
        for f in report.findings
    )


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def render_json(report: Report) -> str:
    """One JSON document with the verdict, findings, skipped subjects and stats."""
    doc = {
        "tool": report.tool,
        "passed": report.exit_code == 0,
        "fail_on": report.fail_on.name,
        "subjects": list(report.subjects),
        "findings": [f.to_dict() for f in report.findings],
        "skipped": [{"subject": s, "reason": r} for s, r in report.skipped],
        "notes": list(report.notes),
        "stats": dict(report.stats),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_junit(report: Report) -> str:
    """JUnit XML: one testsuite, one testcase per subject."""
    suite = ET.Element("testsuite", name=f"cutover-contracts-{report.tool}")
    failures = skipped = 0
    subjects = list(report.subjects)
    for subject, _reason in report.skipped:
        if subject not in subjects:
            subjects.append(subject)
    skipped_reasons = dict(report.skipped)
    for subject in subjects:
        case = ET.SubElement(suite, "testcase", classname=report.tool, name=subject)
        bad = [f for f in report.for_subject(subject) if f.severity >= report.fail_on]
        minor = [f for f in report.for_subject(subject) if f.severity < report.fail_on]
        if bad:
            failures += 1
            failure = ET.SubElement(case, "failure", message=bad[0].message, type=bad[0].rule)
            failure.text = "\n".join(
                f"{f.severity.name} {f.location}: {f.message} [{f.rule}]" for f in bad
            )
        elif subject in skipped_reasons:
            skipped += 1
            ET.SubElement(case, "skipped", message=skipped_reasons[subject])
        if minor:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                f"{f.severity.name} {f.location}: {f.message} [{f.rule}]" for f in minor
            )
    suite.set("tests", str(len(subjects)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    """GitHub Actions workflow commands: one annotation per finding, then the verdict."""
    level = {Severity.ERR: "error", Severity.WARN: "warning", Severity.INFO: "notice"}
    lines = [
        f"::{level[f.severity]} title={_escape_property(f'{f.rule} {f.subject}')}::"
        f"{_escape_data(f'{f.location}: {f.message}')}"
        for f in report.findings
    ]
    lines.append(_verdict(report))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """A Markdown summary: verdict, a findings table, skipped subjects and notes."""
    lines = [f"## Contract {report.tool}: {'❌ FAIL' if report.exit_code else '✅ PASS'}", ""]
    lines.append(_verdict(report))
    lines.append("")
    if report.findings:
        lines += [
            "| severity | subject | location | finding | rule |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in sorted(report.findings, key=lambda f: -f.severity):
            lines.append(
                f"| {f.severity.name} | `{_cell(f.subject)}` | `{_cell(f.location)}` "
                f"| {_cell(f.message)} | {f.rule} |"
            )
        lines.append("")
    if report.skipped:
        lines += ["Skipped:", ""]
        lines += [f"- `{_cell(s)}`: {_cell(r)}" for s, r in report.skipped]
        lines.append("")
    lines += [f"> {_cell(note)}" for note in report.notes]
    return "\n".join(lines).rstrip() + "\n"
