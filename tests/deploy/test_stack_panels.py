"""The real stack under a real Prometheus: recording rules and dashboard queries return labelled
series.

Both llmstruct backends (``python -m fastapi_backend`` / ``python -m custom_backend``) and the
gateway (``cutover gateway --config``) run as processes on loopback ports; Prometheus scrapes them
every second with the repository's rule files, under the same job names and ``backend`` labels as
deploy/prometheus/prometheus.yml. Traffic goes through the gateway at a 50% ramp step with an abort
fault on the candidate, which is how an operator rehearses a rollback.

The gateway's candidate upstream is ``tests.contracts.broken_candidate`` in front of the custom
backend: it passes everything through except a few documented breakages, one of which
(``GET /api/v1/system/status`` with ``task_counts.open`` as a string) the last test requests on
purpose, so the shadow-mismatch, field-mismatch and contract-violation panels show real data. The
candidate's memory is scraped from the custom backend itself. Every safe request is shadowed
through a deliberately small shadow queue (one worker, four slots), so a concurrent burst really
overflows it and the shadow-drop panel has data too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from websockets.sync.client import connect as websocket_connect

from migration.cli.processes import BackendProcesses, BackendSpec
from tests.deploy.conftest import RULE_FILES, PrometheusServer, ScrapeJob, run_prometheus
from tests.deploy.dashboard import checked_in, panel_queries
from tests.deploy.promql import substitute
from tests.support.servers import free_port, python_argv, wait_http

pytestmark = [pytest.mark.integration, pytest.mark.prometheus]

API_KEY = "deploy-test-key"
ADMIN_TOKEN = "deploy-test-admin-token"
ROUTES = ("tasks", "default")
BACKENDS = ("baseline", "candidate")
#: Generous: the machine's two cores are shared with the rest of the suite.
STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Stack:
    gateway: str
    admin: str
    prometheus: PrometheusServer


def gateway_config(
    baseline_port: int, candidate_port: int, public: int, admin: int, state_db: Path
) -> str:
    """Two routes, sticky on a test header, every safe request shadowed, the controller every
    second.

    The policy is scaled to a test's traffic: a 5 s window and a few dozen samples instead of the
    production minimums, so a plan can leave its shadow step within seconds.
    """
    sticky = {"headers": ["X-Test-Client"], "client_address": False}
    shadow = {"percent": 100}
    queue = {"workers": 1, "queue_size": 4}
    return yaml.safe_dump(
        {
            "upstreams": {
                "baseline": {"url": f"http://127.0.0.1:{baseline_port}"},
                "candidate": {"url": f"http://127.0.0.1:{candidate_port}"},
            },
            "routes": [
                {
                    "name": "tasks",
                    "paths": ["/api/v1/tasks", "/api/v1/tasks/*"],
                    "sticky": sticky,
                    "shadow": shadow,
                },
                {"name": "default", "paths": ["/*"], "sticky": sticky, "shadow": shadow},
            ],
            "listeners": {
                "public": {"host": "127.0.0.1", "port": public},
                "admin": {"host": "127.0.0.1", "port": admin},
            },
            "shadow": queue,
            "migration": {
                "state_db": str(state_db),
                "interval_s": 1,
                "policy": {"window_s": "5s", "min_samples": 10, "min_rate_samples": 10},
            },
        }
    )


@contextlib.contextmanager
def logged_process(
    argv: list[str], ready_url: str, log: Path, env: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Run a server with its output in ``log`` (never an unread pipe) until the block ends."""
    with log.open("wb") as out:
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.Popen(argv, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(ready_url, timeout=STARTUP_TIMEOUT, proc=proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Backends, gateway and Prometheus, started in order and stopped together."""
    tmp = tmp_path_factory.mktemp("stack")
    project = tmp / "project"
    project.mkdir()
    (project / "app.py").write_text("def hello() -> str:\n    return 'hi'\n", encoding="utf-8")
    env = {
        "LLMSTRUCT_API_KEY": API_KEY,
        "LLMSTRUCT_PROJECT_ROOT": str(project),
        "LLMSTRUCT_DATABASE": str(tmp / "llmstruct.db"),
        "LLMSTRUCT_BRIDGE_MODE": "inprocess",
        "CUTOVER_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    baseline, custom, candidate, public, admin = (free_port() for _ in range(5))
    config = tmp / "gateway.yaml"
    config.write_text(
        gateway_config(baseline, candidate, public, admin, tmp / "migration.db"), encoding="utf-8"
    )
    with contextlib.ExitStack() as stack:
        # Backend output goes to files: uvicorn's access log fills an unread pipe (64 KiB) after a
        # few hundred requests and the backend then blocks on its next log line.
        specs = [
            BackendSpec("fastapi", "127.0.0.1", baseline, env),
            BackendSpec("custom", "127.0.0.1", custom, env),
        ]
        backends = stack.enter_context(BackendProcesses(specs, log_dir=tmp / "logs"))
        backends.wait_healthy(STARTUP_TIMEOUT)
        argv = python_argv(
            "-m",
            "tests.contracts.broken_candidate",
            "--upstream",
            f"http://127.0.0.1:{custom}",
            "--port",
            str(candidate),
        )
        ready = f"http://127.0.0.1:{candidate}/api/v1/system/health"
        stack.enter_context(logged_process(argv, ready, tmp / "logs" / "broken_candidate.log"))
        argv = python_argv("-m", "migration.cli.main", "gateway", "--config", str(config))
        ready = f"http://127.0.0.1:{admin}/readyz"
        stack.enter_context(logged_process(argv, ready, tmp / "logs" / "gateway.log", env))
        jobs = [
            ScrapeJob("cutover-gateway", [f"127.0.0.1:{admin}"]),
            ScrapeJob("llmstruct-fastapi", [f"127.0.0.1:{baseline}"], {"backend": "baseline"}),
            ScrapeJob("llmstruct-custom", [f"127.0.0.1:{custom}"], {"backend": "candidate"}),
        ]
        prometheus = stack.enter_context(run_prometheus(tmp / "prometheus", jobs, RULE_FILES))
        yield Stack(f"http://127.0.0.1:{public}", f"http://127.0.0.1:{admin}", prometheus)


def admin_put(stack: Stack, path: str, body: Mapping[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = httpx.put(f"{stack.admin}{path}", json=body, headers=headers, timeout=5.0)
    assert response.status_code == 200, response.text


def drive(stack: Stack, clients: range) -> None:
    """One GET per client on each route; every answer must be a success (fallback covers aborts)."""
    with httpx.Client(base_url=stack.gateway, timeout=10.0) as client:
        for i in clients:
            headers = {"X-Test-Client": f"client-{i}", "X-API-Key": API_KEY}
            for path in ("/api/v1/tasks", "/api/v1/system/health"):
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.status_code, response.text)


@pytest.fixture(scope="module")
def ramped(stack: Stack) -> Stack:
    """A 50% step on both routes with 30% of candidate attempts aborted, traffic seen by Prometheus.

    Counters are created on first use, and a series whose first sample is already its final value
    shows no rate; so a first burst creates every series, Prometheus is waited on until it holds
    them, and a second burst gives the rates something to measure.
    """
    for route in ROUTES:
        admin_put(stack, f"/routes/{route}/weight", {"percent": 50})
    admin_put(stack, "/faults/candidate", {"abort_percent": 30, "abort_status": 503})
    drive(stack, range(40))
    stored = stack.prometheus.wait_for(
        'count(cutover_requests_total{backend="candidate", code_class="5xx"})'
        ' and count(cutover_fallbacks_total) and count(cutover_requests_total{backend="baseline"})'
    )
    assert stored, "Prometheus never stored the first burst"
    drive(stack, range(40, 160))
    return stack


def labels_of(result: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [series["metric"] for series in result]


#: Recording rule -> label sets it must return after the ramp (None: one series without labels).
RECORDED: dict[str, set[frozenset[tuple[str, str]]] | None] = {
    **{
        name: {frozenset({("route", r), ("backend", b)}) for r in ROUTES for b in BACKENDS}
        for name in (
            "cutover:request_rate:rate1m",
            "cutover:error_ratio:rate1m",
            "cutover:request_duration_seconds:p50_rate1m",
            "cutover:request_duration_seconds:p95_rate1m",
            "cutover:request_duration_seconds:p99_rate1m",
        )
    },
    "cutover:error_rate:rate1m": {
        frozenset({("route", r), ("backend", "candidate")}) for r in ROUTES
    },
    "cutover:fallback_rate:rate1m": {frozenset({("route", r)}) for r in ROUTES},
    "cutover:response_time_improvement:ratio_p95_rate1m": {
        frozenset({("route", r)}) for r in ROUTES
    },
    "cutover:throughput_ratio:rate1m": {frozenset({("route", r)}) for r in ROUTES},
    "cutover:backend_resident_memory_bytes:sum": {frozenset({("backend", b)}) for b in BACKENDS},
    "cutover:memory_improvement:ratio": None,
}


def label_sets(prometheus: PrometheusServer, expr: str) -> set[frozenset[tuple[str, str]]]:
    return {
        frozenset((k, v) for k, v in m.items() if k != "__name__")
        for m in labels_of(prometheus.vector(expr))
    }


@pytest.mark.parametrize("record", sorted(RECORDED))
def test_recording_rule_returns_labelled_series(ramped: Stack, record: str) -> None:
    """After the ramp, each traffic and memory recording rule has a series per route and backend."""
    wanted = RECORDED[record]
    expected: set[frozenset[tuple[str, str]]] = wanted if wanted is not None else {frozenset()}
    query = f"{record} >= 0"  # drops NaN (a quantile or ratio with nothing to measure yet)
    deadline = time.monotonic() + 30.0
    while not expected <= (got := label_sets(ramped.prometheus, query)):
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert expected <= got, f"{record}: missing {expected - got}"


def test_candidate_error_ratio_reflects_the_injected_fault(ramped: Stack) -> None:
    """The candidate's 5xx ratio is well above zero and the baseline's stays at zero."""
    ramped.prometheus.wait_for('cutover:error_ratio:rate1m{backend="candidate"} > 0')
    ratios = {
        (m["metric"]["route"], m["metric"]["backend"]): float(m["value"][1])
        for m in ramped.prometheus.vector("cutover:error_ratio:rate1m")
    }
    for route in ROUTES:
        assert 0.05 < ratios[(route, "candidate")] < 0.7
        assert ratios[(route, "baseline")] == 0.0


#: Series that need shadowing, contract checks, the migration controller or an open WebSocket: the
#: traffic-only test skips them; the shadow/ramp/rollback test at the end of this file covers them.
NEEDS_CONTROLLER = re.compile(
    r"cutover(_|:)(shadow|contract|migration|analysis|rollbacks|promotions|websocket)"
)
#: Series of replicas and workers on a shared store (issue #13): this stack runs one gateway process
#: on SQLite, so the "Replicas" row may stay empty here; tests/deploy/test_metric_names.py checks
#: those queries against the metric classes, test_dashboard.py against a real Prometheus.
CLUSTER_ONLY = re.compile(
    r"cutover_(leader|replicas|config_version|fail_static|state_store_up|workers|worker_up)\b"
)


def test_traffic_panels_return_series(ramped: Stack) -> None:
    """Each dashboard query that the gateway and backends alone feed returns at least one series."""
    ramped.prometheus.wait_for("cutover:response_time_improvement:ratio_p95_rate1m > 0")
    empty = []
    for title, expr in panel_queries(checked_in()):
        if NEEDS_CONTROLLER.search(expr) or CLUSTER_ONLY.search(expr):
            continue
        if title.startswith("annotation"):  # events: marked where one happened, checked below
            continue
        if not ramped.prometheus.vector(substitute(expr)):
            empty.append(f"{title}: {expr}")
    assert empty == []


def test_candidate_weight_panel_shows_the_ramp_step(ramped: Stack) -> None:
    """The weight gauge reads 0.5 on both routes after the 50% step."""
    weights = {
        m["metric"]["route"]: float(m["value"][1])
        for m in ramped.prometheus.wait_for("cutover_candidate_weight")
    }
    assert weights == dict.fromkeys(ROUTES, 0.5)


def migration_post(stack: Stack, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = httpx.post(f"{stack.admin}{path}", json=body, headers=headers, timeout=5.0)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def route_view(stack: Stack, route: str) -> dict[str, Any]:
    overview = httpx.get(f"{stack.admin}/migration", timeout=5.0).json()
    view: dict[str, Any] = next(v for v in overview["routes"] if v["route"] == route)
    return view


def at_weight(stack: Stack, route: str, bps: int) -> bool:
    return bool(route_view(stack, route)["weight"]["bps"] == bps)


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll a condition the controller's loop makes true (its interval is seconds, not events)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def driven_until(
    stack: Stack, predicate: Callable[[], bool], what: str, clients: Iterator[int]
) -> None:
    """:func:`wait_until` that sends 10 more GETs per poll: on a loaded machine the four-slot
    shadow queue drops comparisons, and a step that waits for samples must keep getting traffic
    (one CI run timed out with the shadow step short of them)."""
    deadline = time.monotonic() + 60.0
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        first = next(clients)
        drive(stack, range(first, first + 10))
        time.sleep(0.25)


def drive_broken_status(stack: Stack, clients: range) -> None:
    """GET the one endpoint the broken candidate answers off-contract (200 with a wrong type)."""
    with httpx.Client(base_url=stack.gateway, timeout=10.0) as client:
        for i in clients:
            headers = {"X-Test-Client": f"client-{i}", "X-API-Key": API_KEY}
            response = client.get("/api/v1/system/status", headers=headers)
            assert response.status_code == 200, response.text


async def _burst(stack: Stack, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=10.0, limits=limits) as client:
        headers = {"X-API-Key": API_KEY}
        answers = await asyncio.gather(
            *(
                client.get("/api/v1/tasks", headers=headers | {"X-Test-Client": f"burst-{i}"})
                for i in range(count)
            )
        )
    return [a.status_code for a in answers]


def burst(stack: Stack, count: int = 64) -> None:
    """``count`` concurrent GETs: more shadows at once than the four-slot queue holds."""
    assert set(asyncio.run(_burst(stack, count))) == {200}


def baseline_client(stack: Stack) -> str:
    """A sticky key the default route sends to the baseline (the broken candidate relays no
    WebSocket, so the connection the WebSocket panel needs must be pinned to the baseline)."""
    with httpx.Client(base_url=stack.gateway, timeout=10.0) as client:
        for i in range(100):
            key = f"ws-client-{i}"
            headers = {"X-Test-Client": key, "X-API-Key": API_KEY}
            response = client.get("/api/v1/system/health", headers=headers)
            if response.headers["X-Cutover-Backend"] == "baseline":
                return key
    raise AssertionError("no sticky key maps to the baseline")


_GROUPING = re.compile(r"\bby \(([^)]*)\)")
_FILTERED = re.compile(r"\b(route|backend)=~?\"")


def missing_labels(expr: str, series: list[dict[str, Any]], *, selector: bool = True) -> set[str]:
    """Labels the query promises that a series lacks: its ``by (...)`` groups, and for a panel
    ``selector`` without aggregation the route/backend it filters on. A route or backend label
    must also hold one of the stack's names."""
    wanted = {name.strip() for group in _GROUPING.findall(expr) for name in group.split(",")}
    if selector and not _GROUPING.search(expr) and not expr.startswith(("sum(", "topk(")):
        wanted |= set(_FILTERED.findall(expr))
    wanted.discard("")
    missing = set()
    for item in series:
        labels = item["metric"]
        missing |= {name for name in wanted if name not in labels}
        if labels.get("route", ROUTES[0]) not in ROUTES:
            missing.add(f"route in {ROUTES} (got {labels['route']})")
        if labels.get("backend", BACKENDS[0]) not in BACKENDS:
            missing.add(f"backend in {BACKENDS} (got {labels['backend']})")
    return missing


def candidate_window_clean(stack: Stack) -> bool:
    """No route's analysis window still holds the aborted candidate requests of ``ramped``."""
    overview = httpx.get(f"{stack.admin}/migration", timeout=5.0).json()
    return all(v["backends"]["candidate"]["errors"] == 0 for v in overview["routes"])


def test_every_panel_and_rule_after_shadow_ramp_and_rollback(ramped: Stack) -> None:
    """Shadow phase, a promotion to 50% and a rollback leave no dashboard query or rule empty."""
    stack = ramped
    response = httpx.delete(
        f"{stack.admin}/faults/candidate",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=5.0,
    )
    assert response.status_code == 200, response.text
    wait_until(partial(candidate_window_clean, stack), "the aborts to leave the window", 15.0)
    for route in ROUTES:
        # The 100% step is gated (only an operator enters it): the ramp holds at 50% till the
        # rollback.
        plan = {"steps": "shadow,50,100", "hold": "1s", "min_requests": 10, "gates": [2]}
        migration_post(stack, f"/migration/{route}/start", plan)
    drive(stack, range(200, 260))  # shadow step: every GET is shadowed to the candidate
    more = iter(range(1000, 100_000, 10))
    for route in ROUTES:
        driven_until(stack, partial(at_weight, stack, route, 5000), f"{route} at 50%", more)
    drive(stack, range(260, 320))
    migration_post(stack, "/migration/tasks/rollback", {"reason": "deploy test"})
    wait_until(lambda: route_view(stack, "tasks")["phase"] == "rolled_back", "tasks rolled back")
    with websocket_connect(
        stack.gateway.replace("http://", "ws://") + f"/api/v1/ws?api_key={API_KEY}",
        additional_headers={"X-Test-Client": baseline_client(stack)},
    ) as ws:
        ws.send('{"type": "ping"}')
        assert "pong" in str(ws.recv(timeout=5))
        drive(stack, range(320, 380))
        drive_broken_status(stack, range(380, 440))
        burst(stack)
        prometheus = stack.prometheus
        prometheus.wait_for("cutover_websocket_connections > 0")
        prometheus.wait_for("cutover_rollbacks_total")
        empty, unlabelled = [], []
        for title, expr in panel_queries(checked_in()):
            if title.startswith("annotation") or CLUSTER_ONLY.search(expr):
                continue
            series = prometheus.wait_for(substitute(expr), timeout=15.0)
            if not series:
                empty.append(f"{title}: {expr}")
            elif missing := missing_labels(expr, series):
                unlabelled.append(f"{title}: {expr}: no {missing}")
    assert empty == [], "\n".join(empty)
    assert unlabelled == [], "\n".join(unlabelled)
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    series = prometheus.wait_for(rule["record"], timeout=15.0)
                    assert series, rule["record"]
                    missing = missing_labels(rule["expr"], series, selector=False)
                    assert not missing, f"{rule['record']}: no {missing}"
    now = time.time()
    # What this run did (the others — pause, abort, manual weight — are only checked as PromQL).
    marked = {
        "Rollbacks": ("route", {"tasks"}),
        "Promotions": ("route", set(ROUTES)),
        "Fault cleared": ("backend", {"candidate"}),
    }
    for title, expr in panel_queries(checked_in()):
        if title.removeprefix("annotation ") in marked:
            label, expected = marked[title.removeprefix("annotation ")]
            answer = prometheus.client.get(
                f"{prometheus.url}/api/v1/query_range",
                params={"query": substitute(expr), "start": now - 300, "end": now, "step": "1s"},
            ).json()
            found = {series["metric"].get(label) for series in answer["data"]["result"]}
            assert found >= expected, title
    reasons = prometheus.client.get(
        f"{prometheus.url}/api/v1/query_range",
        params={
            "query": substitute(dict(panel_queries(checked_in()))["annotation Rollbacks"]),
            "start": now - 300,
            "end": now,
            "step": "1s",
        },
    ).json()["data"]["result"]
    # The rollback annotation names the reason kind (a loaded machine may roll back "default" too).
    assert {r["metric"].get("reason") for r in reasons if r["metric"]["route"] == "tasks"} == {
        "manual"
    }
    rolled_back = prometheus.vector('cutover_rollbacks_total{route="tasks"}')
    assert {m["metric"]["reason"] for m in rolled_back} == {"manual"}
