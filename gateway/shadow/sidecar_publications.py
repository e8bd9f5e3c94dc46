"""What the shadow sidecar publishes, made visible in the gateway process.

Every ``publish_interval_s`` the sidecar sends a :class:`~gateway.shadow.sidecar_wire.Publication`:
its metric families, and the outcome counts since the last one. The families are exposed on the
gateway's ``/metrics`` exactly as the sidecar built them (one scrape target, whatever process did
the work); the counts are replayed into the migration metrics observers, one ``observe_*`` call per
outcome, so the controller sees the same evidence as with the inline service.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from gateway.shadow.sidecar_wire import Publication

__all__ = ["Publications", "SidecarFamilies"]


class SidecarFamilies:
    """A registry collector that yields the metric families the sidecar last published."""

    def __init__(self) -> None:
        self.families: list[Any] = []

    def describe(self) -> list[Any]:
        """Nothing: the names are the sidecar's, so nothing here can clash at registration."""
        return []

    def collect(self) -> Iterator[Any]:
        """The last published families (none before the first publication)."""
        return iter(self.families)


class Publications:
    """Receives publications: families into ``registry``, outcome counts into ``observers``.

    An observer may implement ``observe_shadow(route, mismatched)``, ``observe_contract(route,
    backend, violated)``, both or neither (the migration metrics implement both).
    """

    def __init__(self, registry: CollectorRegistry, observers: Sequence[Any] = ()) -> None:
        self._families = SidecarFamilies()
        registry.register(self._families)
        self._observers = tuple(observers)

    def received(self, publication: Publication) -> None:
        """Expose its families from now on and replay its outcome counts."""
        self._families.families = publication.families
        for observer in self._observers:
            if hasattr(observer, "observe_shadow"):
                for (route, mismatched), count in publication.shadows.items():
                    for _ in range(count):
                        observer.observe_shadow(route, mismatched)
            if hasattr(observer, "observe_contract"):
                for (route, backend, violated), count in publication.contracts.items():
                    for _ in range(count):
                        observer.observe_contract(route, backend, violated)
