"""The injected faults as gauges: read from the fault table at scrape time, zero without one."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from gateway.fault_metrics import FaultCollector
from gateway.faults import FaultSpec


def test_each_backend_exports_zeros_without_a_fault() -> None:
    """No fault: every family has a 0 sample per backend, so the panel draws a flat line."""
    registry = CollectorRegistry()
    FaultCollector({"baseline": None, "candidate": None}, registry)
    for name in ("active", "delay_seconds", "abort_ratio", "filtered"):
        for backend in ("baseline", "candidate"):
            value = registry.get_sample_value(f"cutover_fault_{name}", {"backend": backend})
            assert value == 0.0, (name, backend)


def test_a_fault_set_later_shows_at_the_next_scrape() -> None:
    """The collector reads the live table: a delay and abort set after registration are exported."""
    registry = CollectorRegistry()
    faults: dict[str, FaultSpec | None] = {"baseline": None, "candidate": None}
    FaultCollector(faults, registry)
    faults["candidate"] = FaultSpec(delay_ms=200, abort_percent=5, methods=("POST",))
    labels = {"backend": "candidate"}
    assert registry.get_sample_value("cutover_fault_active", labels) == 1.0
    assert registry.get_sample_value("cutover_fault_delay_seconds", labels) == 0.2
    assert registry.get_sample_value("cutover_fault_abort_ratio", labels) == 0.05
    assert registry.get_sample_value("cutover_fault_filtered", labels) == 1.0
    assert registry.get_sample_value("cutover_fault_active", {"backend": "baseline"}) == 0.0


def test_an_inactive_spec_counts_as_no_fault() -> None:
    """A spec that changes nothing (all zeros) is not reported as an active fault."""
    registry = CollectorRegistry()
    FaultCollector({"candidate": FaultSpec()}, registry)
    assert registry.get_sample_value("cutover_fault_active", {"backend": "candidate"}) == 0.0
