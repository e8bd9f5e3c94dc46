"""Judge one case: both responses against the contract, the candidate's against the baseline's.

Pure: two observed responses in, findings out. Severities follow what the check is for — can the
candidate replace the baseline?

- ERR: the candidate is unreachable or answers 5xx where the baseline did not; the candidate breaks
  the contract in a way the baseline does not; the responses differ (status, allow-listed headers,
  body outside the ignore rules).
- WARN: both backends break the contract the same way (the contract, not the candidate, is behind),
  the baseline alone breaks it, or both answer the same 5xx.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from contracts.check.cases import Case
from contracts.compare import ComparisonRules, ResponseSnapshot, compare_responses
from contracts.report import Finding, Severity


@dataclass(frozen=True)
class Observed:
    """What one backend answered (``status`` is ``None`` when the request never got an answer)."""

    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    error: str | None = None

    @property
    def content_type(self) -> str | None:
        """The ``content-type`` header, if any."""
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return None

    def snapshot(self) -> ResponseSnapshot:
        """The comparable part."""
        return ResponseSnapshot(self.status or 0, self.headers, self.body)


class ViolationLike(Protocol):
    """The fields of ``contracts.validators.Violation`` that reports use."""

    @property
    def kind(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def path(self) -> str: ...


class Validator(Protocol):
    """The part of ``contracts.validators.ContractValidator`` the check needs."""

    def operation_for(self, method: str, path: str) -> str | None: ...

    def validate_raw(
        self, operation: str, status: int, content_type: str | None, raw: bytes
    ) -> Iterable[ViolationLike]: ...


def contract_violations(
    validator: Validator, method: str, path: str, observed: Observed, fallback_operation: str
) -> list[tuple[str, str, str]]:
    """``(kind, json path, message)`` for each way ``observed`` breaks the contract."""
    if observed.status is None:
        return []
    operation = validator.operation_for(method, path) or fallback_operation
    try:
        found = validator.validate_raw(
            operation, observed.status, observed.content_type, observed.body
        )
    except KeyError:
        return [("unknown_operation", "$", f"{method} {path} is not in the contract")]
    return [(v.kind, v.path, v.message) for v in found]


def evaluate(
    case: Case,
    baseline: Observed,
    candidate: Observed,
    rules: ComparisonRules,
    baseline_violations: list[tuple[str, str, str]],
    candidate_violations: list[tuple[str, str, str]],
) -> list[Finding]:
    """All findings for one case (see the module docstring for severities)."""
    subject = case.operation.key

    def finding(severity: Severity, rule: str, location: str, message: str) -> Finding:
        return Finding(severity, rule, subject, location, f"[{case.label}] {message}")

    if candidate.status is None:
        return [
            finding(
                Severity.ERR, "candidate-unreachable", "request", f"candidate: {candidate.error}"
            )
        ]
    if baseline.status is None:
        return [
            finding(Severity.ERR, "baseline-unreachable", "request", f"baseline: {baseline.error}")
        ]
    findings: list[Finding] = []
    if candidate.status >= 500:
        if baseline.status == candidate.status:
            findings.append(
                finding(
                    Severity.WARN,
                    "server-error-both",
                    "status",
                    f"both backends answer {candidate.status}",
                )
            )
        else:
            findings.append(
                finding(
                    Severity.ERR,
                    "server-error",
                    "status",
                    f"candidate answers {candidate.status} (baseline {baseline.status}): "
                    f"{_snippet(candidate.body)}",
                )
            )
    shared = set(baseline_violations)
    for kind, path, message in candidate_violations:
        if (kind, path, message) in shared:
            findings.append(
                finding(
                    Severity.WARN,
                    "contract-violation-both",
                    path,
                    f"{kind}: {message} (baseline too)",
                )
            )
        else:
            findings.append(
                finding(Severity.ERR, "contract-violation", path, f"candidate {kind}: {message}")
            )
    candidate_set = set(candidate_violations)
    for kind, path, message in baseline_violations:
        if (kind, path, message) not in candidate_set:
            findings.append(
                finding(
                    Severity.WARN,
                    "baseline-contract-violation",
                    path,
                    f"baseline {kind}: {message}",
                )
            )
    comparison = compare_responses(baseline.snapshot(), candidate.snapshot(), rules)
    for diff in comparison.differences:
        findings.append(
            finding(
                Severity.ERR,
                f"mismatch-{diff.kind}",
                diff.path,
                f"baseline {diff.primary or '(absent)'} != candidate {diff.other or '(absent)'}",
            )
        )
    if comparison.truncated:
        findings.append(
            finding(
                Severity.ERR,
                "mismatch-truncated",
                "$",
                f"{comparison.truncated} more difference(s)",
            )
        )
    return findings


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[: limit - 1] + "…"
