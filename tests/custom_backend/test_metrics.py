"""The app's own exposition: process metrics and the request counter, as prometheus_client's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, Metric

from custom_backend.metrics import AppMetrics, ProcessMetrics, go_float, status_class

STAT = (
    "4242 (python -m x) S 1 4242 4242 0 -1 4194560 9146 0 0 0 1234 567 0 0 20 0 11 0 "
    "987654 123456789012 10162 18446744073709551615 1 1 0 0 0 0 0 16781312 16898 "
    "0 0 0 17 0 0 0 0 0 0\n"
)


def _fake_proc(root: Path) -> Path:
    """A ``/proc`` with a boot time and one process (stat, limits, three open fds)."""
    (root / "stat").write_text("cpu  1 2 3\nbtime 1700000000\nprocesses 12\n")
    pid = root / "4242"
    (pid / "fd").mkdir(parents=True)
    for fd in ("0", "1", "2"):
        (pid / "fd" / fd).write_text("")
    (pid / "stat").write_text(STAT)
    (pid / "limits").write_text(
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max cpu time              unlimited            unlimited            seconds   \n"
        "Max open files            1048576              1048576              files     \n"
    )
    return root


class _Requests:
    """The request counter as a prometheus_client collector, for the reference rendering."""

    def __init__(self, totals: dict[tuple[str, str], int]) -> None:
        self.totals = totals

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "llmstruct_http_requests",
            "HTTP requests answered by the llmstruct API, by method and status class.",
            labels=("method", "status_class"),
        )
        for labels, count in sorted(self.totals.items()):
            family.add_metric(labels, count)
        yield family


def test_counts_by_method_and_status_class() -> None:
    """Requests fold into method and status class; unknown methods become OTHER."""
    metrics = AppMetrics(process=False)
    for method, status in [("GET", 200), ("GET", 204), ("GET", 404), ("BREW", 405), ("POST", 201)]:
        metrics.observe(method, status)
    assert metrics.requests_by_class() == {
        ("GET", "2xx"): 2,
        ("GET", "4xx"): 1,
        ("OTHER", "4xx"): 1,
        ("POST", "2xx"): 1,
    }


def test_text_is_prometheus_clients(tmp_path: Path) -> None:
    """The body is byte for byte prometheus_client's ProcessCollector + counter, same /proc."""
    proc = _fake_proc(tmp_path)
    metrics = AppMetrics(ProcessMetrics(proc, pid="4242"))
    for method, status in [("GET", 200), ("GET", 200), ("DELETE", 404), ("BREW", 501)]:
        metrics.observe(method, status)
    registry = CollectorRegistry()
    ProcessCollector(proc=str(proc), pid=lambda: "4242", registry=registry)
    registry.register(_Requests(metrics.requests_by_class()))
    assert metrics.render() == generate_latest(registry)


def test_no_requests_yet_matches_too(tmp_path: Path) -> None:
    """Before any request the counter is HELP and TYPE alone, as prometheus_client writes it."""
    registry = CollectorRegistry()
    registry.register(_Requests({}))
    assert AppMetrics(process=False).render() == generate_latest(registry)


def test_without_proc_no_process_families(tmp_path: Path) -> None:
    """An unreadable /proc (not Linux) exports no process families, like the collector."""
    assert ProcessMetrics(tmp_path / "missing").render() == ""


def test_exposition_includes_process_memory() -> None:
    """The /metrics body is the text format with this process's resident memory."""
    response = AppMetrics().exposition()
    assert response.status == 200
    assert b"\nprocess_resident_memory_bytes " in response.body
    assert dict(response.headers)[b"content-type"] == CONTENT_TYPE_LATEST.encode("ascii")


def test_values_formatted_like_go() -> None:
    """Sample values follow floatToGoString: exponents past 1e6, +Inf, -Inf, NaN."""
    values = (1, 0.5, 1234567.0, 1e21, float("inf"), -float("inf"))
    assert [go_float(v) for v in values] == ["1.0", "0.5", "1.234567e+06", "1e+21", "+Inf", "-Inf"]
    assert go_float(float("nan")) == "NaN"


def test_status_class_labels() -> None:
    """Classes are 1xx..5xx; anything else is ``other`` (the baseline's labels)."""
    codes = (101, 200, 307, 422, 599, 600, 42)
    assert [status_class(c) for c in codes] == ["1xx", "2xx", "3xx", "4xx", "5xx", "other", "other"]
