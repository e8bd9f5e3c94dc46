"""``cutover_route_sticky_keys`` on /metrics: the distinct keys each route's split saw."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from gateway.config import build_config
from gateway.routing import RouteTable
from gateway.state import GatewayState
from gateway.sticky_metrics import StickyKeysCollector

CONFIG = {
    "upstreams": {
        "baseline": {"url": "http://127.0.0.1:9001"},
        "candidate": {"url": "http://127.0.0.1:9002"},
    },
    "routes": [{"name": "api", "paths": ["/*"]}],
}


def test_the_gauge_reports_the_routes_distinct_keys() -> None:
    """Three keys split at 50 % are three; before any proxy routes there is no sample."""
    config = build_config(CONFIG)
    state = GatewayState(config)
    registry = CollectorRegistry()
    registry.register(StickyKeysCollector(state, clock=lambda: 0.0))
    assert registry.get_sample_value("cutover_route_sticky_keys", {"route": "api"}) is None
    table = RouteTable(config.routes, config.override)
    state.key_sketches = table.keys
    for key in (b"a", b"b", b"c", b"a"):
        table.choose(0, 5000, {b"x-api-key": key}, None, lambda: 0.5)
    assert registry.get_sample_value("cutover_route_sticky_keys", {"route": "api"}) == 3
