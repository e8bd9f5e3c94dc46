"""Merging the workers' /metrics into the supervisor's: labels, one
HELP/TYPE, parse-back, up gauges."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway.admin import AdminRequest, AdminRouter
from migration.worker_metrics import WorkerMetrics, merge_families, render


def _worker_text(requests: float, latency: float) -> str:
    """What one worker's registry exposes: a counter, a histogram and a gauge."""
    registry = CollectorRegistry()
    counter = Counter("cutover_requests_total", "Requests.", ("route",), registry=registry)
    counter.labels("default").inc(requests)
    histogram = Histogram(
        "cutover_request_duration_seconds",
        "Latency.",
        ("route",),
        buckets=(0.1, 1.0),
        registry=registry,
    )
    histogram.labels("default").observe(latency)
    Gauge("cutover_candidate_weight", "Weight.", ("route",), registry=registry).labels(
        "default"
    ).set(0.1)
    return generate_latest(registry).decode()


def _own_text() -> str:
    registry = CollectorRegistry()
    Gauge("cutover_candidate_weight", "Weight.", ("route",), registry=registry).labels(
        "default"
    ).set(0.1)
    Gauge("cutover_migration_step", "Step.", ("route",), registry=registry).labels("default").set(2)
    Counter("cutover_requests_total", "Requests.", ("route",), registry=registry)  # no samples
    return generate_latest(registry).decode()


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name
    ]


def _merged() -> str:
    workers = {"0": _worker_text(3, 0.05), "1": _worker_text(5, 0.5)}
    return render(merge_families(_own_text(), workers)).decode()


def test_worker_samples_get_their_worker_label_and_own_ones_none() -> None:
    """Each worker's samples carry worker="i"; the supervisor's keep their labels unchanged."""
    text = _merged()
    assert sorted(_samples(text, "cutover_requests_total"), key=lambda s: s[0]["worker"]) == [
        ({"route": "default", "worker": "0"}, 3.0),
        ({"route": "default", "worker": "1"}, 5.0),
    ]
    assert _samples(text, "cutover_migration_step") == [({"route": "default"}, 2.0)]
    weights = _samples(text, "cutover_candidate_weight")
    assert [labels.get("worker") for labels, _ in weights] == [None, "0", "1"]


def test_one_help_and_type_per_family() -> None:
    """A family the supervisor and both workers have is written once, counters as ``_total``."""
    lines = _merged().splitlines()
    types = [line.split()[2] for line in lines if line.startswith("# TYPE ")]
    assert len(types) == len(set(types))
    assert "# TYPE cutover_requests_total counter" in lines
    assert "# TYPE cutover_request_duration_seconds histogram" in lines


def test_histograms_survive_the_round_trip() -> None:
    """Buckets, sum and count of every worker come back out, labelled, and parse again."""
    text = _merged()
    buckets = _samples(text, "cutover_request_duration_seconds_bucket")
    assert ({"route": "default", "le": "0.1", "worker": "0"}, 1.0) in buckets
    assert ({"route": "default", "le": "0.1", "worker": "1"}, 0.0) in buckets
    counts = _samples(text, "cutover_request_duration_seconds_count")
    assert sorted(v for _, v in counts) == [1.0, 1.0]


def test_a_family_of_another_type_is_left_out() -> None:
    """A worker exposing a name with another type (mixed versions) cannot corrupt the family."""
    registry = CollectorRegistry()
    Gauge("cutover_migration_step", "Step as a gauge.", registry=registry).set(1)
    odd = generate_latest(registry).decode()
    registry = CollectorRegistry()
    Counter("cutover_migration_step", "Step as a counter.", registry=registry).inc()
    clash = generate_latest(registry).decode()
    text = render(merge_families(odd, {"0": clash})).decode()
    assert "# TYPE cutover_migration_step gauge" in text
    assert "cutover_migration_step_total" not in text


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_merged_exposition() -> None:
    """``promtool check metrics`` finds nothing wrong with the merged text."""
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=_merged().encode(),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


async def test_an_unanswering_worker_is_skipped_and_marked_down() -> None:
    """Worker 1 fails its scrape: its samples are absent, cutover_worker_up{worker="1"} is 0."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.port == 9001:
            return httpx.Response(200, text=_worker_text(4, 0.2))
        raise httpx.ConnectError("refused", request=request)

    registry = CollectorRegistry()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        metrics = WorkerMetrics(registry, 3, http)
        metrics.set_port(0, 9001)
        metrics.set_port(1, 9002)  # answers nothing; worker 2 never reported a port
        text = (await metrics.exposition()).decode()
    assert _samples(text, "cutover_requests_total") == [({"route": "default", "worker": "0"}, 4.0)]
    up = {labels["worker"]: value for labels, value in _samples(text, "cutover_worker_up")}
    assert up == {"0": 1.0, "1": 0.0, "2": 0.0}
    assert _samples(text, "cutover_workers") == [({}, 3.0)]


async def test_install_replaces_the_admin_metrics_route() -> None:
    """The supervisor's GET /metrics answers with the merged text, in the route's old place."""
    router = AdminRouter()

    async def original(_: AdminRequest) -> object:
        raise AssertionError("the original handler must not run")

    router.add("GET", "/metrics", original)  # type: ignore[arg-type]
    registry = CollectorRegistry()
    async with httpx.AsyncClient() as http:
        WorkerMetrics(registry, 1, http).install(router)
        route, _ = router.resolve("GET", "/metrics")
        response = await route.handler(
            AdminRequest("GET", "/metrics", {}, {}, {}, b"", "127.0.0.1")
        )
    assert response.status == 200
    assert response.content_type.startswith(b"text/plain")
    assert len(router.routes) == 1
    assert _samples(response.body.decode(), "cutover_workers") == [({}, 1.0)]


def test_replacing_an_unregistered_route_is_an_error() -> None:
    """``replace`` only swaps a handler; it never adds a route by accident."""
    router = AdminRouter()

    async def handler(_: AdminRequest) -> object:
        raise AssertionError

    with pytest.raises(ValueError, match="not registered"):
        router.replace("GET", "/metrics", handler)  # type: ignore[arg-type]
