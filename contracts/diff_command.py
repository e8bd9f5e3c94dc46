"""The command behind ``cutover contracts diff``: files in, a rendered report and an exit code out.

:mod:`contracts.diff` holds the rules and the pure ``diff_report`` (two dicts in, a report out);
this module does the I/O around it: read the option files and both documents, validate the documents
against the OpenAPI meta-schemas (:mod:`contracts.diff.validate`), apply the options
(:mod:`contracts.diff.options`: path rewriting and header case before the diff; filters, the ignore
list and severity overrides after it), place each operation on a line of its file (for SARIF and
HTML), write ``--expect-file`` (:mod:`contracts.expected`), render, and map the outcome to the exit
code (0 pass, 1 findings at or above ``--fail-on``, 2 unusable input or option files).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import re
import sys
from pathlib import Path

from contracts.diff import SpecError, diff_report, emit_report
from contracts.diff.load import load_spec
from contracts.diff.option_files import (
    parse_ignore_entries,
    parse_severity_overrides,
    read_option_file,
)
from contracts.diff.options import (
    RULE_EXPIRED,
    RULE_UNUSED,
    DiffOptions,
    OptionsError,
    apply_options,
    prepare,
    selected,
)
from contracts.diff.rules import RULES
from contracts.diff.validate import validate_spec
from contracts.expected import from_findings, to_json
from contracts.report import Report, Severity, SourceSpot

PROG = "cutover contracts diff"


def run_diff(args: argparse.Namespace, today: dt.date | None = None) -> int:
    """Load, validate, diff, apply the options, render; exit 2 with one line for unusable input."""
    today = today or dt.date.today()
    try:
        options = read_options(args)
        fail_on = Severity.parse(args.fail_on)
        base, revision = load_spec(args.base), load_spec(args.revision)
        # Validated as written (the error names the file); the path options apply afterwards.
        validate_spec(base, args.base)
        validate_spec(revision, args.revision)
        report = diff_report(
            prepare(base, options, "base"),
            prepare(revision, options, "revision"),
            fail_on,
            today=today,
            min_deprecation_days=options.deprecation_days or 0,
            base_dir=Path(args.base).parent,
            revision_dir=Path(args.revision).parent,
            validate=False,
        )
    except (SpecError, ValueError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    if args.expect_file and not write_expectations(report, options, args):
        return 2
    report = apply_options(report, options, today)
    report = place(report, args.base, args.revision, args.ignore)
    report = dataclasses.replace(report, rule_help=rule_help(report))
    return emit_report(report, args.format, args.output)


def write_expectations(report: Report, options: DiffOptions, args: argparse.Namespace) -> bool:
    """Write ``--expect-file``: each response-body change found in the selected operations.

    Taken before the ignore list and the severity overrides: those decide whether CI passes, while
    the file records what the candidate's spec documents (an ignored change is documented too).
    """
    found = [f for f in report.findings if selected(f.subject, options.include, options.exclude)]
    expected = from_findings(found)
    try:
        Path(args.expect_file).write_text(
            to_json(expected, args.base, args.revision), encoding="utf-8"
        )
    except OSError as exc:
        print(f"{PROG}: cannot write {args.expect_file}: {exc}", file=sys.stderr)
        return False
    count = len(expected.entries)
    print(f"wrote {count} expected difference(s) to {args.expect_file}", file=sys.stderr)
    return True


def read_options(args: argparse.Namespace) -> DiffOptions:
    """The command line's options as one frozen object, option files parsed (exit 2 on errors)."""
    ignores = (
        parse_ignore_entries(read_option_file(args.ignore), args.ignore) if args.ignore else ()
    )
    severities = (
        parse_severity_overrides(read_option_file(args.severity), args.severity)
        if args.severity
        else ()
    )
    if args.deprecation_days is not None and args.deprecation_days < 0:
        raise OptionsError(f"--deprecation-days must be 0 or more, not {args.deprecation_days}")
    return DiffOptions(
        ignores=ignores,
        ignore_file=args.ignore or "",
        severities=severities,
        include=tuple(args.include or ()),
        exclude=tuple(args.exclude or ()),
        strip_prefix_base=args.strip_prefix_base or "",
        strip_prefix_revision=args.strip_prefix_revision or "",
        prefix_base=args.prefix_base or "",
        prefix_revision=args.prefix_revision or "",
        case_insensitive_headers=args.case_insensitive_headers,
        deprecation_days=args.deprecation_days,
    )


def rule_help(report: Report) -> dict[str, str]:
    """The catalogue's one-line explanation of each rule in the report (and the ignore list)."""
    known = {rule.id: rule.summary for rule in RULES.values()}
    known[RULE_EXPIRED] = "an ignore entry is past its expires date: it ignores nothing any more"
    known[RULE_UNUSED] = "an ignore entry matched no finding: the change it accepted is gone"
    return {f.rule: known[f.rule] for f in report.findings if f.rule in known}


def place(
    report: Report, base_file: str, revision_file: str, ignore_file: str | None = None
) -> Report:
    """Give the report its document (the revision) and each operation's line.

    An operation the revision no longer has (a removed one) is placed in the base document; the
    ignore list's own findings (their subject is the ignore file) in the ignore file.
    """
    revision_lines = operation_lines(_text(revision_file), report.subjects)
    base_lines = operation_lines(_text(base_file), report.subjects)
    spots = {
        subject: SourceSpot(revision_file, revision_lines[subject])
        if subject in revision_lines
        else SourceSpot(base_file, base_lines.get(subject, 1))
        for subject in report.subjects
        if subject in revision_lines or subject in base_lines
    }
    if ignore_file and ignore_file in report.subjects:
        spots[ignore_file] = SourceSpot(ignore_file)
    return dataclasses.replace(report, source=revision_file, spots=spots)


_PATH_KEY = re.compile(r"""^(\s*)(?:"(/[^"]*)"|'(/[^']*)'|(/\S*?))\s*:(?:\s|$)""")
_METHOD_KEYS = {
    method: re.compile(rf"""^\s*["']?{method}["']?\s*:""")
    for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace")
}


def operation_lines(text: str, subjects: tuple[str, ...]) -> dict[str, int]:
    """The 1-based line of each ``METHOD /path`` subject's method key in a JSON or YAML document.

    A textual search rather than a parse with positions: neither ``json`` nor ``yaml.safe_load``
    keeps line numbers, and path keys (quoted in JSON, bare or quoted in YAML) are distinctive. One
    pass indexes the path keys (the first occurrence of each); each method is then looked for below
    its path key, within the path item's indentation, so the work stays linear in the document
    (5,000 operations take milliseconds). A document on one or two lines (compact JSON) has no
    useful lines and yields nothing; neither does a subject whose method is not under its path (an
    operation this document does not have).
    """
    lines = text.splitlines()
    if len(lines) < 3:
        return {}
    paths: dict[str, tuple[int, int]] = {}
    for number, line in enumerate(lines):
        head = line.lstrip()[:2]
        if not head.startswith("/") and head not in ('"/', "'/"):
            continue  # most lines: skip the regex
        match = _PATH_KEY.match(line)
        if match is not None:
            key = match[2] or match[3] or match[4]
            paths.setdefault(key, (number, len(match[1])))
    found: dict[str, int] = {}
    for subject in subjects:
        method, _, path = subject.partition(" ")
        where = paths.get(path)
        pattern = _METHOD_KEYS.get(method.lower())
        if where is None or pattern is None:
            continue
        at = _key_line(lines, pattern, where[0] + 1, where[1])
        if at is not None:
            found[subject] = at + 1
    return found


def _key_line(lines: list[str], pattern: re.Pattern[str], start: int, within: int) -> int | None:
    """The first line from ``start`` matching ``pattern`` before indentation drops to ``within``."""
    for number in range(start, len(lines)):
        line = lines[number]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped and indent <= within and not stripped.startswith(("}", "]")):
            return None
        if pattern.match(line):
            return number
    return None


def _text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
