"""Prometheus exposition owned by the app, written by hand: process metrics, request counter.

The gateway reads each backend's memory from ``process_resident_memory_bytes`` on its
``/metrics`` (design "MigrationMetrics"). The body is byte for byte what ``prometheus_client``
0.26 writes for the ``ProcessCollector`` plus a counter family on a private registry —
``tests/custom_backend/test_metrics.py`` renders both over the same ``/proc`` files and
compares them — but the server no longer imports it: ``prometheus_client`` pulls in
``http.server``, ``wsgiref``, ``email``, ``urllib.request``, gzip and friends for its
exporters, ~1.9 MiB resident of the 34 MiB this process is measured at, for six gauges and one
counter. Labels stay bounded: the method is one of the HTTP methods (anything else is
``OTHER``) and the status is a class (``2xx`` ... ``5xx``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from custom_backend.responses import Response

_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# ``prometheus_client.CONTENT_TYPE_LATEST`` (0.26), what the baseline's /metrics answers with.
METRICS_CONTENT_TYPE: Final = b"text/plain; version=1.0.0; charset=utf-8"
REQUESTS_HELP: Final = "HTTP requests answered by the llmstruct API, by method and status class."


def status_class(status: int) -> str:
    """``404 -> "4xx"``; a status outside 100..599 is ``other`` (the baseline's labels)."""
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


def go_float(value: float) -> str:
    """A sample value as the text format writes it (``prometheus_client.utils.floatToGoString``)."""
    value = float(value)
    if value == float("inf"):
        return "+Inf"
    if value == float("-inf"):
        return "-Inf"
    if value != value:
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:  # Go switches to exponents sooner than Python
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def _escape_label(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def family(
    name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]
) -> str:
    """One metric family as text: HELP, TYPE, a line per sample (labels sorted by name)."""
    escaped_help = help_text.replace("\\", r"\\").replace("\n", r"\n")
    lines = [f"# HELP {name} {escaped_help}\n# TYPE {name} {kind}\n"]
    for labels, value in samples:
        if labels:
            pairs = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{name}{{{pairs}}} {go_float(value)}\n")
        else:
            lines.append(f"{name} {go_float(value)}\n")
    return "".join(lines)


class ProcessMetrics:
    """``prometheus_client.ProcessCollector``'s six families, read from ``/proc`` at each scrape.

    Without a readable ``/proc/stat`` (not Linux) there are none, as with the collector.
    """

    def __init__(self, proc: str | Path = "/proc", pid: str = "self") -> None:
        self._proc = Path(proc)
        self._pid = pid
        self._ticks = float(os.sysconf("SC_CLK_TCK"))
        self._pagesize = os.sysconf("SC_PAGE_SIZE")
        self._btime = self._boot_time()

    def _boot_time(self) -> float:
        """Seconds since the epoch at boot; 0 if ``/proc/stat`` is unreadable (no families)."""
        try:
            with (self._proc / "stat").open("rb") as stat:
                for line in stat:
                    if line.startswith(b"btime "):
                        return float(line.split()[1])
        except OSError:
            pass
        return 0.0

    def render(self) -> str:
        """The families' text, empty when ``/proc`` could not be read at start."""
        if not self._btime:
            return ""
        base = self._proc / self._pid
        out: list[str] = []
        try:
            parts = (base / "stat").read_bytes().split(b")")[-1].split()
            start = float(parts[19]) / self._ticks + self._btime
            cpu = float(parts[11]) / self._ticks + float(parts[12]) / self._ticks
            out += [
                family(
                    "process_virtual_memory_bytes",
                    "gauge",
                    "Virtual memory size in bytes.",
                    [({}, float(parts[20]))],
                ),
                family(
                    "process_resident_memory_bytes",
                    "gauge",
                    "Resident memory size in bytes.",
                    [({}, float(parts[21]) * self._pagesize)],
                ),
                family(
                    "process_start_time_seconds",
                    "gauge",
                    "Start time of the process since unix epoch in seconds.",
                    [({}, start)],
                ),
                family(
                    "process_cpu_seconds_total",
                    "counter",
                    "Total user and system CPU time spent in seconds.",
                    [({}, cpu)],
                ),
            ]
        except OSError:
            pass
        try:
            max_fds = None
            with (base / "limits").open("rb") as limits:
                for line in limits:
                    if line.startswith(b"Max open file"):
                        max_fds = float(line.split()[3])
                        break
            open_fds = len(os.listdir(base / "fd"))
            if max_fds is not None:
                out += [
                    family(
                        "process_open_fds",
                        "gauge",
                        "Number of open file descriptors.",
                        [({}, open_fds)],
                    ),
                    family(
                        "process_max_fds",
                        "gauge",
                        "Maximum number of open file descriptors.",
                        [({}, max_fds)],
                    ),
                ]
        except OSError:
            pass
        return "".join(out)


class AppMetrics:
    """One app instance's metrics: plain counts on the hot path, text built at the (rare) scrape.

    One event loop thread updates the counts, so a dict increment is enough (no lock, no label tuple
    per call as ``prometheus_client.Counter.labels().inc()`` costs). Each instance is its own
    registry.
    """

    def __init__(self, process: ProcessMetrics | bool = True) -> None:
        """``process``: process families to export, ``True`` for this process's, ``False``: none."""
        if process is True:
            process = ProcessMetrics()
        self.process = process or None
        self.counts: dict[tuple[str, int], int] = {}

    def observe(self, method: str, status: int) -> None:
        """Count one answered request (unknown methods fold into ``OTHER``: labels stay bounded)."""
        key = (method if method in _METHODS else "OTHER", status)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def requests_by_class(self) -> dict[tuple[str, str], int]:
        """The counter's samples: ``(method, status class) -> count``."""
        totals: dict[tuple[str, str], int] = {}
        for (method, status), count in list(self.counts.items()):
            key = (method, status_class(status))
            totals[key] = totals.get(key, 0) + count
        return totals

    def render(self) -> bytes:
        """The text exposition: the process families, then ``llmstruct_http_requests_total``."""
        samples = [
            ({"method": method, "status_class": cls}, float(count))
            for (method, cls), count in sorted(self.requests_by_class().items())
        ]
        requests = family("llmstruct_http_requests_total", "counter", REQUESTS_HELP, samples)
        process = self.process.render() if self.process is not None else ""
        return (process + requests).encode("utf-8")

    def exposition(self) -> Response:
        """The text exposition as a 200 response."""
        return Response(200, self.render(), ((b"content-type", METRICS_CONTENT_TYPE),))
