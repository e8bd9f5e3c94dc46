"""Prometheus metrics of shadowing and live contract validation (registry injected).

Labels are bounded: route names come from config, outcomes and violation kinds are small fixed
sets, and field labels are the first ``metric_fields_per_route`` fields seen on a route — anything
after that is counted under ``field="other"`` (a counter cannot be relabelled later, so "top N" is
"first N", and the admin API shows the true ranking).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

OTHER_FIELD = "other"


class ShadowMetrics:
    """The shadow/contract metric family, registered on one registry."""

    def __init__(self, registry: CollectorRegistry, fields_per_route: int = 20) -> None:
        self._fields_per_route = fields_per_route
        self._field_labels: dict[str, set[str]] = {}
        self._children: dict[tuple[Counter, tuple[str, ...]], Counter] = {}
        self.shadows = Counter(
            "cutover_shadow_total",
            "Cross-backend shadow comparisons by outcome (matched, mismatched, noise, expected: "
            "only documented contract changes differ, errored, dropped).",
            ("route", "outcome"),
            registry=registry,
        )
        self.field_mismatches = Counter(
            "cutover_shadow_field_mismatches_total",
            "Real (not noise) field differences in cross-backend shadows; fields past the first "
            "N per route are 'other'.",
            ("route", "field"),
            registry=registry,
        )
        self.noise_probes = Counter(
            "cutover_shadow_noise_probes_total",
            "Same-backend shadows used to measure noise, by result (compared, errored, dropped).",
            ("route", "result"),
            registry=registry,
        )
        self.dropped = Counter(
            "cutover_shadow_dropped_total",
            "Shadows not sent because the shadow queue was full (probes included).",
            ("route",),
            registry=registry,
        )
        self.queue_depth = Gauge(
            "cutover_shadow_queue_depth",
            "Shadow requests waiting for a worker.",
            registry=registry,
        )
        self.violations = Counter(
            "cutover_contract_violations_total",
            "Contract violations found in live responses, by route, backend and kind.",
            ("route", "backend", "kind"),
            registry=registry,
        )
        self.contract_checks = Counter(
            "cutover_contract_checks_total",
            "Live responses checked against the contract (the denominator of the violation rate).",
            ("route", "backend"),
            registry=registry,
        )
        self.contract_checks_dropped = Counter(
            "cutover_contract_checks_dropped_total",
            "Responses not checked because the contract-check queue was full.",
            ("route",),
            registry=registry,
        )
        self.contract_queue_depth = Gauge(
            "cutover_contract_queue_depth",
            "Responses waiting for a contract check.",
            registry=registry,
        )

    def inc(self, metric: Counter, *labels: str) -> None:
        """Increment ``metric{labels}``, caching the child (``labels()`` costs a few µs a call)."""
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        child.inc()

    def track_queue(self, shadow_depth: Callable[[], int], check_depth: Callable[[], int]) -> None:
        """Read the queue depths at scrape time instead of updating a gauge per request."""
        self.queue_depth.set_function(lambda: float(shadow_depth()))
        self.contract_queue_depth.set_function(lambda: float(check_depth()))

    def field_label(self, route: str, field: str) -> str:
        """The bounded label for ``field`` on ``route`` (the first N fields keep their name)."""
        seen = self._field_labels.setdefault(route, set())
        if field in seen:
            return field
        if len(seen) < self._fields_per_route:
            seen.add(field)
            return field
        return OTHER_FIELD
