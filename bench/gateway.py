"""Gateway overhead against nginx, in the same pinned setup: throughput, CPU per request, added p50.

One tiny upstream (asyncio + httptools on uvloop, a fixed 316-byte JSON answer) serves three ways:
``direct``, through ``nginx`` (a private config in a temp dir: one worker, upstream keep-alive,
access log off — not the system service) and through the ``gateway`` (metrics, sticky hashing on an
API key, header rewriting and streaming all on; the candidate weight is 50 % so both pools are used,
both pointing at the same upstream). Proxy and upstream share CPU 0, wrk runs on CPU 1
(``taskset``), as in the calibration of the issue, and the three targets are measured interleaved,
round by round (nginx and the gateway swapping places each round), so drift on this shared machine
hits all alike: the throughput ratio is the median of the per-round gateway/nginx ratios.

Targets: gateway throughput ≥ 0.5x nginx at 32 connections; ≤ 80 µs of gateway CPU per proxied
request (``utime+stime`` from ``/proc/<pid>/stat`` over a run ÷ requests); ≤ 0.1 ms added p50 at one
connection over going direct.

    python -m bench.gateway [--duration S] [--rounds R] [--connections N]

Prints a markdown table, writes ``bench/results/gateway.json``; returns 0 when it ran (a missed
target is reported, not a crash) and 1 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from statistics import median
from typing import Any

from bench.harness import free_port, pinned, process, wrk
from bench.json_upstream import serve_json
from gateway.build_hotpath import up_to_date

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = REPOSITORY / "bench" / "results" / "gateway.json"
TARGETS = {"throughput_ratio": 0.5, "cpu_us_per_request": 80.0, "added_p50_ms": 0.1}
_PREFIX = b'{"id":"bench","status":"ok","pad":"'
BODY = _PREFIX + b"p" * (316 - len(_PREFIX) - 2) + b'"}'  # 316 bytes, as in the calibration
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: A sticky key, as real clients send one.
HEADERS = ("X-API-Key: bench-client",)


# --------------------------------------------------------------------------- the tiny upstream


def run_upstream(port: int) -> None:
    """Serve the fixed 316-byte JSON on 127.0.0.1:port with keep-alive (asyncio + httptools)."""
    serve_json(port, BODY)


# --------------------------------------------------------------------------- processes


NGINX_CONF = """
worker_processes 1;
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream backend {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""

GATEWAY_CONF = """
upstreams:
  baseline: {{url: "http://127.0.0.1:{upstream}", pool_size: 128}}
  candidate: {{url: "http://127.0.0.1:{upstream}", pool_size: 128}}
routes:
  - name: api
    paths: ["/api/*"]
    weight_bps: 5000
  - name: default
    paths: ["/*"]
    weight_bps: 5000
listeners:
  public: {{host: 127.0.0.1, port: {port}}}
  admin: {{host: 127.0.0.1, port: {admin}}}
access_log_sample_rate: 0.0
"""


# --------------------------------------------------------------------------- wrk


def cpu_times(pid: int) -> tuple[float, float]:
    """``(user, system)`` CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


# --------------------------------------------------------------------------- the suite


def measure(duration: float, rounds: int, connections: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cutover-bench-gw-"))
    up_direct, up_nginx, up_gw = free_port(), free_port(), free_port()
    nginx_port, gw_port, gw_admin = free_port(), free_port(), free_port()
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp, upstream=up_nginx, port=nginx_port))
    (tmp / "gateway.yaml").write_text(
        GATEWAY_CONF.format(upstream=up_gw, port=gw_port, admin=gw_admin)
    )
    me = [sys.executable, "-m", "bench.gateway", "--upstream"]
    env = {"PYTHONPATH": str(REPOSITORY)}
    urls = {
        "direct": f"http://127.0.0.1:{up_direct}/api/v1/items",
        "nginx": f"http://127.0.0.1:{nginx_port}/api/v1/items",
        "gateway": f"http://127.0.0.1:{gw_port}/api/v1/items",
    }
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in urls}
    single: dict[str, list[float]] = {"direct": [], "nginx": [], "gateway": []}
    cpu_per_req: dict[str, list[float]] = {"nginx": [], "gateway": []}
    gateway_split: dict[str, list[float]] = {"user": [], "system": []}
    with ExitStack() as stack:
        stack.enter_context(
            process(pinned("0", [*me, str(up_direct)]), f"http://127.0.0.1:{up_direct}/", env)
        )
        stack.enter_context(
            process(pinned("0", [*me, str(up_nginx)]), f"http://127.0.0.1:{up_nginx}/", env)
        )
        stack.enter_context(
            process(pinned("0", [*me, str(up_gw)]), f"http://127.0.0.1:{up_gw}/", env)
        )
        ngx = stack.enter_context(
            process(
                pinned("0", ["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)]), urls["nginx"]
            )
        )
        gw = stack.enter_context(
            process(
                pinned(
                    "0",
                    [
                        sys.executable,
                        "-m",
                        "gateway",
                        "--config",
                        str(tmp / "gateway.yaml"),
                        "--log-format",
                        "json",
                    ],
                ),
                urls["gateway"],
                env,
            )
        )
        for url in urls.values():  # warm-up: connection pools, allocator
            wrk(url, connections, 1.0, HEADERS)
        for index in range(rounds):
            pids = {"nginx": ngx.pid, "gateway": gw.pid}
            # nginx and the gateway swap places every round: neither always runs second.
            order = (
                ["direct", "nginx", "gateway"] if index % 2 == 0 else ["direct", "gateway", "nginx"]
            )
            for name in order:
                url = urls[name]
                before_split = cpu_times(pids[name]) if name in pids else (0.0, 0.0)
                before = sum(before_split)
                result = wrk(url, connections, duration, HEADERS)
                if result["requests"] == 0 or result["non_2xx"]:
                    raise RuntimeError(
                        f"{name}: {result['requests']} requests, {result['non_2xx']} non-2xx"
                    )
                if name in pids:
                    used = cpu_seconds(pids[name]) - before
                    cpu_per_req[name].append(used / result["requests"] * 1e6)
                    if name == "gateway":
                        after_split = cpu_times(pids[name])
                        for key, a, b in zip(
                            ("user", "system"), before_split, after_split, strict=True
                        ):
                            gateway_split[key].append((b - a) / result["requests"] * 1e6)
                runs[name].append(result)
            for name in single:
                single[name].append(wrk(urls[name], 1, max(2.0, duration / 2), HEADERS)["p50_ms"])
    shutil.rmtree(tmp, ignore_errors=True)
    rps = {k: median(r["rps"] for r in v) for k, v in runs.items()}
    # The two proxies' throughputs of one round were measured back to back: their ratio, round by
    # round, cancels the machine's drift between rounds; the median of those ratios counts.
    ratios = [g["rps"] / n["rps"] for g, n in zip(runs["gateway"], runs["nginx"], strict=True)]
    p50_single = {k: median(v) for k, v in single.items()}
    return {
        "setup": {
            "duration_s": duration,
            "rounds": rounds,
            "connections": connections,
            "body_bytes": len(BODY),
            "pinning": "proxy+upstream cpu0, wrk cpu1",
            "gateway_compiled": up_to_date(),  # make compile
        },
        "rps": rps,
        "p50_ms_32c": {k: median(r["p50_ms"] for r in v) for k, v in runs.items()},
        "non_2xx": {k: sum(r["non_2xx"] for r in v) for k, v in runs.items()},
        "throughput_ratio": median(ratios),
        "throughput_ratios": ratios,
        "nginx_vs_direct": rps["nginx"] / rps["direct"],
        "cpu_us_per_request": median(cpu_per_req["gateway"]),
        "nginx_cpu_us_per_request": median(cpu_per_req["nginx"]),
        "gateway_cpu_split_us": {k: median(v) for k, v in gateway_split.items()},
        "p50_ms_1c": p50_single,
        "added_p50_ms": p50_single["gateway"] - p50_single["direct"],
        "rounds": runs,
    }


def table(r: dict[str, Any]) -> str:
    t = TARGETS
    ok = {
        "throughput_ratio": r["throughput_ratio"] >= t["throughput_ratio"],
        "cpu_us_per_request": r["cpu_us_per_request"] <= t["cpu_us_per_request"],
        "added_p50_ms": r["added_p50_ms"] <= t["added_p50_ms"],
    }
    mark = {True: "met", False: "MISSED"}
    return "\n".join(
        [
            f"| measure ({r['setup']['connections']} conns unless noted) | direct | nginx | "
            "gateway | gateway/nginx | target |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| req/s | {r['rps']['direct']:.0f} | {r['rps']['nginx']:.0f} | "
            f"{r['rps']['gateway']:.0f} | {r['throughput_ratio']:.2f}x | "
            f">= 0.5x ({mark[ok['throughput_ratio']]}) |",
            f"| p50 ms | {r['p50_ms_32c']['direct']:.3f} | {r['p50_ms_32c']['nginx']:.3f} | "
            f"{r['p50_ms_32c']['gateway']:.3f} | | |",
            f"| proxy CPU µs/request | | {r['nginx_cpu_us_per_request']:.1f} | "
            f"{r['cpu_us_per_request']:.1f} | "
            f"{r['cpu_us_per_request'] / r['nginx_cpu_us_per_request']:.1f}x | "
            f"gateway <= 80 ({mark[ok['cpu_us_per_request']]}) |",
            f"| p50 ms at 1 conn | {r['p50_ms_1c']['direct']:.3f} | "
            f"{r['p50_ms_1c']['nginx']:.3f} | {r['p50_ms_1c']['gateway']:.3f} | "
            f"gateway +{r['added_p50_ms']:.3f} ms over direct | "
            f"<= +0.1 ms ({mark[ok['added_p50_ms']]}) |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the suite; 0 when it ran, 1 when it could not."""
    parser = argparse.ArgumentParser(prog="python -m bench.gateway")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--upstream", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.upstream is not None:
        run_upstream(args.upstream)
        return 0
    missing = [tool for tool in ("wrk", "nginx", "taskset") if shutil.which(tool) is None]
    if missing:
        print(f"cannot run: missing {', '.join(missing)} (apt-get install -y nginx wrk)")
        return 1
    try:
        result = measure(args.duration, args.rounds, args.connections)
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
        print(f"cannot run: {exc}")
        return 1
    print(table(result))
    print(
        f"\nnginx/direct = {result['nginx_vs_direct']:.2f}x; non-2xx responses: {result['non_2xx']}"
    )
    split = result["gateway_cpu_split_us"]
    print(f"gateway CPU per request: user {split['user']:.1f} µs, system {split['system']:.1f} µs")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS.relative_to(REPOSITORY)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
