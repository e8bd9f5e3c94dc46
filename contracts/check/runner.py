"""Send every case to both backends in a safe order and collect the findings.

Order: first, for every secured operation (writes only with ``allow_writes``), the same request
without credentials and with a wrong key (both sides must refuse it identically); then read-only
operations (their path ids are random, so they read nothing that exists); then, only with
``allow_writes``, writes that are not part of a resource chain (e.g. ``POST .../scan``), then each
resource chain: create (examples and generated bodies) → read the created item → update it (every
generated body) → read it again → list the collection → delete → read it (now gone) → delete the
other created items. Each side keeps its own ids: the baseline's create returns A, the candidate's
B, and the follow-up requests go to A on the baseline and B on the candidate. A chain is a POST on
``/x`` paired with operations on ``/x/{param}``; the id is the created body's ``{param}`` or ``id``.

Without ``allow_writes`` the writes are reported as skipped (not failed): a read-only run is what an
operator can point at a shared environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from contracts.check.cases import Case, auth_cases, cases_for
from contracts.check.config import RuleBook
from contracts.check.evaluate import Observed, Validator, contract_violations, evaluate
from contracts.check.operations import Operation
from contracts.report import Finding

ITEM_ORDER = ("GET", "PUT", "PATCH")
#: Sent by the "wrong credentials" cases; a real deployment must not accept it.
WRONG_KEY = "cutover-contract-check-wrong-key"


@dataclass(frozen=True)
class Chain:
    """A collection's create operation and the operations on its items."""

    create: Operation
    items: Mapping[str, Operation]
    param: str


def find_chains(operations: tuple[Operation, ...]) -> list[Chain]:
    """Pair each ``POST /x`` with the operations on ``/x/{param}``."""
    by_path: dict[str, dict[str, Operation]] = {}
    for op in operations:
        by_path.setdefault(op.path, {})[op.method] = op
    chains = []
    for path, methods in by_path.items():
        create = methods.get("POST")
        if create is None:
            continue
        for item_path, item_methods in by_path.items():
            head, _, last = item_path.rpartition("/")
            if head == path.rstrip("/") and last.startswith("{") and last.endswith("}"):
                chains.append(Chain(create, item_methods, last[1:-1]))
    return chains


@dataclass
class CheckRun:
    """Mutable bookkeeping of one run; turned into a Report by the caller."""

    findings: list[Finding] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cases: int = 0


class Checker:
    """Runs the plan against two backends. Clients are injected (owned by the caller)."""

    def __init__(
        self,
        baseline: httpx.Client,
        candidate: httpx.Client,
        validator: Validator,
        rules: RuleBook,
        *,
        max_examples: int = 5,
        seed: int = 0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.baseline = baseline
        self.candidate = candidate
        self.validator = validator
        self.rules = rules
        self.max_examples = max_examples
        self.seed = seed
        self.headers = dict(headers or {})
        self.run = CheckRun()
        self._case_cache: dict[str, list[Case]] = {}

    def check(self, operations: tuple[Operation, ...], allow_writes: bool) -> CheckRun:
        """Run every operation (writes only with ``allow_writes``) and return the bookkeeping."""
        for op in operations:
            if op.key not in self.run.subjects:
                self.run.subjects.append(op.key)
        for op in operations:
            if op.safe or allow_writes:
                for case in auth_cases(op, self._cases(op)[0]):
                    self._pair(case)
        for op in operations:
            if op.safe:
                for case in self._cases(op):
                    self._pair(case)
        writes = [op for op in operations if not op.safe]
        if not allow_writes:
            for op in writes:
                self.run.skipped.append(
                    (op.key, "state-changing operation; pass --allow-writes to run it")
                )
            return self.run
        chains = find_chains(operations)
        in_chains = {c.create.key for c in chains} | {
            op.key for c in chains for op in c.items.values()
        }
        for op in writes:
            if op.key not in in_chains:
                for case in self._cases(op):
                    self._pair(case)
        collections = {op.path: op for op in operations if op.method == "GET"}
        for chain in chains:
            self._chain(chain, collections.get(chain.create.path))
        return self.run

    def _cases(self, op: Operation) -> list[Case]:
        if op.key not in self._case_cache:
            self._case_cache[op.key] = cases_for(op, self.max_examples, self.seed)
        return self._case_cache[op.key]

    def _chain(self, chain: Chain, listing: Operation | None) -> None:
        created: list[tuple[Any, Any]] = []
        for case in self._cases(chain.create):
            base, cand = self._pair(case)
            ids = (_created_id(base, chain.param), _created_id(cand, chain.param))
            if ids[0] is not None and ids[1] is not None:
                created.append(ids)
        if not created:
            self.run.notes.append(
                f"{chain.create.key}: no case created an item on both sides; "
                "item operations ran with random ids only"
            )
        first = created[0] if created else None
        for method in ITEM_ORDER:
            op = chain.items.get(method)
            if op is None or first is None:
                continue
            for case in self._cases(op):
                self._pair(case, {chain.param: first[0]}, {chain.param: first[1]}, "created item")
        reader = chain.items.get("GET")
        if reader is not None and first is not None:
            ids = ({chain.param: first[0]}, {chain.param: first[1]})
            self._pair(self._cases(reader)[0], *ids, "after update")
        if listing is not None and created:
            self._pair(self._cases(listing)[0].with_path_params({}, "after writes"))
        delete = chain.items.get("DELETE")
        if delete is None:
            return
        for case in self._cases(delete):
            if case.label.startswith("generated"):
                self._pair(case)  # random ids: 404 on both sides
        for n, (base_id, cand_id) in enumerate(created):
            case = self._cases(delete)[0]
            self._pair(
                case, {chain.param: base_id}, {chain.param: cand_id}, f"created item {n + 1}"
            )
            if n == 0 and reader is not None:
                self._pair(
                    self._cases(reader)[0],
                    {chain.param: base_id},
                    {chain.param: cand_id},
                    "after delete",
                )

    def _pair(
        self,
        case: Case,
        base_params: Mapping[str, Any] | None = None,
        cand_params: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> tuple[Observed, Observed]:
        if label is not None:
            case = case.with_path_params({}, f"{label}, {case.label}")
        base_path, cand_path = case.url_path(base_params), case.url_path(cand_params)
        base = self._send(self.baseline, case, base_path)
        cand = self._send(self.candidate, case, cand_path)
        op = case.operation
        violations_b = contract_violations(
            self.validator, op.method, base_path, base, op.operation_id
        )
        violations_c = contract_violations(
            self.validator, op.method, cand_path, cand, op.operation_id
        )
        rules = self.rules.for_operation(op.key)
        self.run.findings.extend(evaluate(case, base, cand, rules, violations_b, violations_c))
        self.run.cases += 1
        return base, cand

    def _send(self, client: httpx.Client, case: Case, path: str) -> Observed:
        content = orjson.dumps(case.body) if case.has_body else None
        headers = dict(self.headers) if case.credentials == "valid" else {}
        if case.credentials == "wrong":
            headers["x-api-key"] = WRONG_KEY
        if content is not None:
            headers["content-type"] = "application/json"
        try:
            response = client.request(
                case.operation.method,
                path,
                params=list(case.query),
                content=content,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            return Observed(None, error=f"{type(exc).__name__}: {exc}")
        return Observed(
            response.status_code, tuple(response.headers.multi_items()), response.content
        )


def _created_id(observed: Observed, param: str) -> Any:
    if observed.status is None or not 200 <= observed.status < 300:
        return None
    try:
        body = orjson.loads(observed.body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    for key in (param, "id"):
        if isinstance(body.get(key), str | int):
            return body[key]
    return None
