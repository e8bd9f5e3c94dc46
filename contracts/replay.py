"""``cutover contracts replay FILE --candidate URL``: resend recorded traffic and report deviations.

Each recorded request goes to the candidate; its response is compared with the recorded one by
:mod:`contracts.compare` with the same ignore rules as ``check`` (and, with ``--contract``,
validated against the contract). Like ``check``, only safe methods are replayed unless
``--allow-writes`` is given: replaying a recorded ``POST`` creates data again. Requests whose
recorded body was truncated cannot be resent faithfully and are skipped; responses whose body
was truncated are compared on status and headers only. Credentials were redacted at record time,
so ``--api-key`` supplies them.

One JUnit testcase per recorded line (``line 3: GET /api/v1/tasks``). Exit 0 no deviation, 1
deviations, 2 unusable input (unreadable or malformed file, bad URL, bad rules).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import httpx

from contracts.check import write_reports
from contracts.check.config import RuleBook, RulesError, build_rulebook
from contracts.check.evaluate import Observed, Validator, contract_violations
from contracts.check.operations import SAFE_METHODS, load_operations
from contracts.compare import ComparisonRules, ResponseSnapshot, compare_responses
from contracts.diff.load import SpecError, load_spec
from contracts.recording import REDACTED, RecordedExchange, RecordingError, read_recording
from contracts.report import Finding, Report, Severity

#: Request headers never resent: hop-by-hop (RFC 9110 §7.6.1), recomputed, or
#: the recorder's redactions.
_DROP_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "accept-encoding",
    }
)


def subject_of(entry: RecordedExchange) -> str:
    """The report subject for a recorded line."""
    return f"line {entry.line}: {entry.method} {entry.path}"


def replay_entry(client: httpx.Client, entry: RecordedExchange, api_key: str | None) -> Observed:
    """Send one recorded request to the candidate."""
    headers = [
        (k, v) for k, v in entry.request_headers if k.lower() not in _DROP_HEADERS and v != REDACTED
    ]
    if api_key:
        headers.append(("x-api-key", api_key))
    url = entry.path + (f"?{entry.query}" if entry.query else "")
    try:
        response = client.request(
            entry.method, url, headers=headers, content=entry.request_body.raw or None
        )
    except httpx.HTTPError as exc:
        return Observed(None, error=f"{type(exc).__name__}: {exc}")
    return Observed(response.status_code, tuple(response.headers.multi_items()), response.content)


def judge_entry(
    entry: RecordedExchange,
    observed: Observed,
    rules: ComparisonRules,
    violations: list[tuple[str, str, str]],
) -> list[Finding]:
    """Findings for one replayed line (pure): unreachable, contract violations, deviations."""
    subject = subject_of(entry)
    if observed.status is None:
        return [
            Finding(Severity.ERR, "candidate-unreachable", subject, "request", str(observed.error))
        ]
    findings = [
        Finding(Severity.ERR, "contract-violation", subject, path, f"{kind}: {message}")
        for kind, path, message in violations
    ]
    truncated = entry.response_body.truncated
    recorded = ResponseSnapshot(
        entry.status, entry.response_headers, b"" if truncated else entry.response_body.raw
    )
    replayed = ResponseSnapshot(
        observed.status, observed.headers, b"" if truncated else observed.body
    )
    comparison = compare_responses(recorded, replayed, rules)
    for diff in comparison.differences:
        findings.append(
            Finding(
                Severity.ERR,
                f"deviation-{diff.kind}",
                subject,
                diff.path,
                f"recorded {diff.primary or '(absent)'} != candidate {diff.other or '(absent)'}",
            )
        )
    return findings


def replay_file(
    path: str,
    client: httpx.Client,
    rules: RuleBook,
    *,
    allow_writes: bool = False,
    api_key: str | None = None,
    document: dict[str, Any] | None = None,
    validator: Validator | None = None,
) -> Report:
    """Replay every line of ``path`` against ``client``; raises RecordingError on a bad file.

    The whole file is read first, so a malformed line stops the run before anything is sent.
    With a contract ``document``, responses are validated and per-operation rules apply.
    """
    entries = list(read_recording(path))
    keys: dict[str, str] = {}
    if document is not None:
        keys = {op.operation_id: op.key for op in load_operations(document)}
        if validator is None:
            from contracts.validators import ContractValidator

            validator = ContractValidator.from_document(document)
    subjects: list[str] = []
    findings: list[Finding] = []
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    replayed = 0
    for entry in entries:
        subject = subject_of(entry)
        subjects.append(subject)
        if entry.method not in SAFE_METHODS and not allow_writes:
            skipped.append((subject, "state-changing request; pass --allow-writes to replay it"))
            continue
        if entry.request_body.truncated:
            skipped.append((subject, "request body was truncated when recorded"))
            continue
        operation_id = validator.operation_for(entry.method, entry.path) if validator else None
        op_rules = (
            rules.for_operation(keys.get(operation_id or "", "")) if operation_id else rules.default
        )
        observed = replay_entry(client, entry, api_key)
        violations: list[tuple[str, str, str]] = []
        if validator is not None and operation_id is not None:
            violations = contract_violations(
                validator, entry.method, entry.path, observed, operation_id
            )
        elif validator is not None:
            findings.append(
                Finding(
                    Severity.WARN,
                    "unknown-operation",
                    subject,
                    "request",
                    "not an operation of the contract",
                )
            )
        if entry.response_body.truncated:
            notes.append(
                f"{subject}: recorded response body was truncated; compared status and headers only"
            )
        findings.extend(judge_entry(entry, observed, op_rules, violations))
        replayed += 1
    return Report(
        tool="replay",
        subjects=tuple(subjects),
        findings=tuple(findings),
        skipped=tuple(skipped),
        notes=tuple(notes),
        stats={"entries": len(subjects), "replayed": replayed},
    )


def run_replay(args: argparse.Namespace) -> int:
    """The command behind ``cutover contracts replay``."""
    try:
        url = httpx.URL(args.candidate)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"--candidate must be an http(s) URL, got {args.candidate!r}")
        rules = build_rulebook(args.ignore, args.rules)
        document = load_spec(args.contract) if args.contract else None
        api_key = args.api_key or os.environ.get("LLMSTRUCT_API_KEY")
        with httpx.Client(base_url=args.candidate.rstrip("/"), timeout=args.timeout) as client:
            report = replay_file(
                args.file,
                client,
                rules,
                allow_writes=args.allow_writes,
                api_key=api_key,
                document=document,
            )
    except (RecordingError, SpecError, RulesError, ValueError) as exc:
        print(f"cutover contracts replay: {exc}", file=sys.stderr)
        return 2
    return write_reports(report, args)
