"""Fixtures for the deployment files: promtool, and a real Prometheus on a loopback port.

Prometheus comes from Debian's `prometheus` package (`make system-deps`). Without it these tests
skip on a developer machine, but in CI (``CI=true``) a missing binary fails them: CI must prove the
rules.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.servers import free_port, wait_http

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
RULE_FILES = (PROMETHEUS_DIR / "rules" / "recording.yml", PROMETHEUS_DIR / "rules" / "alerts.yml")


def require_binary(name: str) -> str:
    """Path of ``name``; skip without it, except in CI where its absence is a failure."""
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} not found on PATH (Debian package `prometheus`; run `make system-deps`)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message}: required in CI")
    pytest.skip(message)


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of the promtool binary."""
    return require_binary("promtool")


@dataclass(frozen=True)
class ScrapeJob:
    """One scrape job of the test Prometheus: targets as host:port, plus static labels."""

    name: str
    targets: Sequence[str]
    labels: Mapping[str, str] = field(default_factory=dict)
    metrics_path: str = "/metrics"


@dataclass
class PrometheusServer:
    """A running Prometheus; ``query`` returns the raw API answer, never raising on HTTP 400."""

    url: str
    client: httpx.Client

    def query(self, expr: str) -> httpx.Response:
        return self.client.get(f"{self.url}/api/v1/query", params={"query": expr})

    def vector(self, expr: str) -> list[dict[str, Any]]:
        """Instant-query result as a list of {metric, value}; fails the test on an API error."""
        answer = self.query(expr)
        body = answer.json()
        assert answer.status_code == 200, f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expr: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll until ``expr`` returns at least one series (Prometheus has no push notification)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.vector(expr)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.25)


def prometheus_config(jobs: Sequence[ScrapeJob], rule_files: Sequence[Path]) -> dict[str, Any]:
    """A config scraping ``jobs`` every second and evaluating ``rule_files`` every second."""
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {
                "job_name": job.name,
                "metrics_path": job.metrics_path,
                "static_configs": [{"targets": list(job.targets), "labels": dict(job.labels)}],
            }
            for job in jobs
        ],
    }


@contextlib.contextmanager
def run_prometheus(
    workdir: Path, jobs: Sequence[ScrapeJob] = (), rule_files: Sequence[Path] = ()
) -> Iterator[PrometheusServer]:
    """Run the real prometheus binary on a free loopback port with storage under ``workdir``."""
    binary = require_binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(jobs, rule_files)), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_until_ready(url, proc)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(
                f"{exc}\n{(workdir / 'prometheus.log').read_text()[-3000:]}"
            ) from exc
        with httpx.Client(timeout=5.0) as client:
            yield PrometheusServer(url=url, client=client)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_until_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait for /-/ready to answer 200 (it answers 503 while the TSDB opens)."""
    wait_http(f"{url}/-/ready", timeout=timeout, proc=proc)
    deadline = time.monotonic() + timeout
    while httpx.get(f"{url}/-/ready", timeout=1.0).status_code != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"prometheus at {url} never became ready")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """One Prometheus with the repository's rules and no targets, to evaluate PromQL against."""
    with run_prometheus(tmp_path_factory.mktemp("prometheus"), rule_files=RULE_FILES) as server:
        yield server
