"""Sidecar publications: families exposed as published, outcome counts replayed to observers."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from gateway.shadow.sidecar_publications import Publications
from gateway.shadow.sidecar_wire import Publication


class ShadowsOnly:
    def __init__(self) -> None:
        self.shadows: list[tuple[str, bool]] = []

    def observe_shadow(self, route: str, mismatched: bool) -> None:
        self.shadows.append((route, mismatched))


class ContractsOnly:
    def __init__(self) -> None:
        self.contracts: list[tuple[str, str, bool]] = []

    def observe_contract(self, route: str, backend: str, violated: bool) -> None:
        self.contracts.append((route, backend, violated))


def sidecar_families(value: float) -> list[object]:
    registry = CollectorRegistry()
    Counter("cutover_shadow_total", "Shadows.", ("route",), registry=registry).labels("a").inc(
        value
    )
    return list(registry.collect())


def test_the_last_publication_families_are_what_the_registry_exposes() -> None:
    """The gateway's registry yields the latest publication's families, none before the first."""
    registry = CollectorRegistry()
    publications = Publications(registry)
    assert registry.get_sample_value("cutover_shadow_total", {"route": "a"}) is None
    publications.received(Publication(sidecar_families(2)))
    publications.received(Publication(sidecar_families(5)))
    assert registry.get_sample_value("cutover_shadow_total", {"route": "a"}) == 5


def test_counts_are_replayed_one_call_per_outcome_to_observers_that_take_them() -> None:
    """Each observer gets the outcome kinds it implements, once per counted outcome."""
    shadows, contracts = ShadowsOnly(), ContractsOnly()
    publications = Publications(CollectorRegistry(), [shadows, contracts, object()])
    publications.received(
        Publication(
            [],
            shadows={("a", True): 2, ("a", False): 1},
            contracts={("a", "candidate", True): 1},
        )
    )
    assert sorted(shadows.shadows) == [("a", False), ("a", True), ("a", True)]
    assert contracts.contracts == [("a", "candidate", True)]
