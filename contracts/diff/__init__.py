"""``cutover contracts diff BASE REVISION``: breaking changes between two OpenAPI 3.x documents.

``diff_documents`` is the pure entry point (two dicts in, findings out); the command around it
(options, option files, validation naming the files) is :func:`contracts.diff_command.run_diff`:
load both files, diff, render, and map the outcome to the exit code (0 pass, 1 findings at or above
``--fail-on``, 2 unusable input). The rule ids and levels are catalogued in
:mod:`contracts.diff.rules`; the walks live in :mod:`contracts.diff.operations`,
:mod:`contracts.diff.messages`, :mod:`contracts.diff.schemas` and :mod:`contracts.diff.constraints`;
``$ref``/``allOf`` resolution in :mod:`contracts.diff.resolve`.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

from contracts.diff.load import SpecError, check_spec
from contracts.diff.operations import Lifecycle, diff_operations, operations
from contracts.diff.resolve import Resolver
from contracts.diff.schemas import SchemaPair
from contracts.diff.validate import validate_spec
from contracts.report import Finding, Report, Severity, render

__all__ = ["SpecError", "diff_documents", "diff_report", "emit_report"]


def diff_documents(
    base: dict[str, Any],
    revision: dict[str, Any],
    *,
    today: date | None = None,
    min_deprecation_days: int = 0,
    base_dir: str | Path | None = None,
    revision_dir: str | Path | None = None,
    validate: bool = True,
) -> tuple[Finding, ...]:
    """All findings between two OpenAPI documents (already loaded).

    ``today`` (default: the system date) and ``min_deprecation_days`` drive the deprecation rules
    (see :mod:`contracts.diff.operations`); ``base_dir``/``revision_dir`` are the directories that
    relative ``$ref`` to other files are resolved from (each document's own directory). Both
    documents are validated against the OpenAPI meta-schema first unless ``validate`` is false
    (:func:`contracts.diff_command.run_diff` validates right after loading, to name the files).
    """
    check_spec(base, "base")
    check_spec(revision, "revision")
    if validate:
        validate_spec(base, "base")
        validate_spec(revision, "revision")
    if min_deprecation_days < 0:
        raise ValueError("min_deprecation_days must be 0 or more")
    pair = SchemaPair(
        Resolver(base, base_dir, "base"), Resolver(revision, revision_dir, "revision")
    )
    lifecycle = Lifecycle(today or date.today(), min_deprecation_days)
    return tuple(diff_operations(base, revision, pair, lifecycle))


def diff_report(
    base: dict[str, Any],
    revision: dict[str, Any],
    fail_on: Severity = Severity.ERR,
    **options: Any,
) -> Report:
    """The findings wrapped in a :class:`Report` whose subjects are the revision's operations."""
    findings = diff_documents(base, revision, **options)
    subjects = [
        f"{m} {shown}"
        for (m, _), (shown, _, _) in operations(
            revision, Resolver(revision, options.get("revision_dir"), "revision")
        ).items()
    ]
    for finding in findings:
        if finding.subject not in subjects:
            subjects.append(finding.subject)
    return Report(tool="diff", subjects=tuple(subjects), findings=findings, fail_on=fail_on)


def emit_report(report: Report, fmt: str, output: str | None) -> int:
    """Write the rendered report to ``output`` (or stdout) and return the report's exit code."""
    text = render(report, fmt)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            print(f"cannot write {output}: {exc}", file=sys.stderr)
            return 2
        print(render(report, "text").splitlines()[-1])
    else:
        sys.stdout.write(text)
    return report.exit_code
