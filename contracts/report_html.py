"""A standalone HTML page for a :class:`~contracts.report.Report`: one table per subject.

The page is a single file with its style inline and no script, font or image from elsewhere, so it
opens offline, as a CI artifact or an e-mail attachment. Findings are grouped by subject (the
operation, for ``diff``), worst subject first, then in the tool's order; subjects without findings
are listed at the end in one line each, so "what was examined" stays visible. Everything that comes
from a document or a finding passes through :func:`html.escape` — a path such as
``/pets/{id}<script>`` or a message quoting a pattern must never become markup.
"""

from __future__ import annotations

import html

from contracts.report import Finding, Report, Severity

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; font-family: monospace; }
.verdict { padding: .6rem .9rem; border-radius: 6px; display: inline-block; }
.pass { background: #e6f4ea; } .fail { background: #fde8e8; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd;
         vertical-align: top; }
td.loc, td.rule { font-family: monospace; white-space: nowrap; }
.sev { font-weight: 600; }
.ERR { color: #b00020; } .WARN { color: #8a5a00; } .INFO { color: #555; }
.quiet { color: #555; }
"""


def render_html(report: Report) -> str:
    """The whole page as text."""
    esc = html.escape
    failed = report.exit_code != 0
    verdict = (
        f"{'FAIL' if failed else 'PASS'} — {len(report.subjects)} examined, "
        f"{len(report.findings)} finding(s), {len(report.failures)} at or above "
        f"{report.fail_on.name}, {len(report.skipped)} skipped"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Contract {esc(report.tool)}: {'FAIL' if failed else 'PASS'}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Contract {esc(report.tool)}</h1>",
        f'<p class="verdict {"fail" if failed else "pass"}">{esc(verdict)}</p>',
    ]
    if report.source:
        parts.append(f'<p class="quiet">Document: <code>{esc(report.source)}</code></p>')
    grouped = _by_subject(report)
    for subject, findings in grouped:
        parts.append(f"<h2>{esc(subject)}</h2>")
        parts.append(_table(findings, report.rule_help))
    quiet = [s for s in report.subjects if s not in dict(grouped)]
    if quiet:
        parts.append("<h2>No findings</h2><ul>")
        parts += [f"<li><code>{esc(s)}</code></li>" for s in quiet]
        parts.append("</ul>")
    if report.skipped:
        parts.append("<h2>Skipped</h2><ul>")
        parts += [f"<li><code>{esc(s)}</code>: {esc(r)}</li>" for s, r in report.skipped]
        parts.append("</ul>")
    if report.notes:
        parts.append("<h2>Notes</h2><ul>")
        parts += [f"<li>{esc(note)}</li>" for note in report.notes]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _by_subject(report: Report) -> list[tuple[str, list[Finding]]]:
    """Subjects with findings, worst first (then by first appearance)."""
    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(finding.subject, []).append(finding)
    order = list(groups)
    return sorted(
        groups.items(),
        key=lambda item: (-max(f.severity for f in item[1]), order.index(item[0])),
    )


def _table(findings: list[Finding], rule_help: dict[str, str]) -> str:
    esc = html.escape
    rows = [
        "<table><thead><tr><th>severity</th><th>location</th><th>finding</th><th>rule</th></tr>"
        "</thead><tbody>"
    ]
    for f in sorted(findings, key=lambda f: -f.severity):
        name = Severity(f.severity).name
        rows.append(
            f'<tr><td class="sev {name}">{name}</td><td class="loc">{esc(f.location)}</td>'
            f'<td>{esc(f.message)}</td><td class="rule" title="{esc(rule_help.get(f.rule, ""))}">'
            f"{esc(f.rule)}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)
