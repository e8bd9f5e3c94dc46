"""The admin endpoints the gateway itself provides (others are added by other packages).

``PUT /routes/{name}/weight`` takes ``{"percent": 0..100, "reason": "..."}`` (a float; stored as
basis points, rounded to the nearest; the optional reason goes to the audit line and, with a
migration controller, to the persisted ``weight_set``/``overridden`` event).
``PUT /faults/{backend}`` takes the fields of :class:`gateway.faults.FaultRequest` (``methods`` and
``path`` narrow the fault to part of the traffic) and answers, as ``GET /status`` shows it, with
:meth:`gateway.faults.FaultSpec.to_data`; ``DELETE /faults/{backend}`` clears them.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field

from gateway.admin import AdminError, AdminRequest, AdminResponse, AdminRouter
from gateway.config import BACKENDS
from gateway.faults import FaultRequest, FaultSpec
from gateway.metrics import GatewayMetrics
from gateway.state import ChangeRefused, GatewayState, percent_to_bps


class WeightRequest(BaseModel):
    """Body of ``PUT /routes/{name}/weight``."""

    model_config = ConfigDict(extra="forbid")

    percent: float = Field(ge=0, le=100, allow_inf_nan=False)
    reason: str | None = Field(default=None, min_length=1, max_length=500)


def _counters(metrics: GatewayMetrics) -> dict[str, dict[str, Any]]:
    """Per-backend totals read back from the metric families (no extra work on the data path)."""
    out: dict[str, dict[str, Any]] = {
        b: {"requests": 0, "responses_5xx": 0, "upstream_errors": {}} for b in BACKENDS
    }
    for (_, backend, klass), count in metrics.request_counts().items():
        if backend in out:
            out[backend]["requests"] += count
            if klass == "5xx":
                out[backend]["responses_5xx"] += count
    for family in metrics.upstream_errors.collect():
        for sample in family.samples:
            backend = sample.labels["backend"]
            if sample.name.endswith("_total") and backend in out:
                kinds = out[backend]["upstream_errors"]
                kinds[sample.labels["kind"]] = kinds.get(sample.labels["kind"], 0) + int(
                    sample.value
                )
    return out


def _fallbacks(metrics: GatewayMetrics) -> dict[str, int]:
    return {
        s.labels["route"]: int(s.value)
        for family in metrics.fallbacks.collect()
        for s in family.samples
        if s.name.endswith("_total")
    }


def install_core_routes(
    router: AdminRouter, state: GatewayState, metrics: GatewayMetrics, registry: CollectorRegistry
) -> None:
    """Register health, readiness, metrics, status, weight and fault endpoints on ``router``."""

    async def healthz(_: AdminRequest) -> AdminResponse:
        return AdminResponse.json({"status": "ok"})

    async def readyz(_: AdminRequest) -> AdminResponse:
        return AdminResponse.json({"ready": state.ready}, 200 if state.ready else 503)

    async def prometheus(_: AdminRequest) -> AdminResponse:
        return AdminResponse(200, generate_latest(registry), CONTENT_TYPE_LATEST.encode())

    async def status(_: AdminRequest) -> AdminResponse:
        config = state.config
        fallbacks = _fallbacks(metrics)
        routes = [
            {
                "name": r.name,
                "paths": list(r.paths),
                "methods": sorted(r.methods),
                "weight_bps": state.weights[i],
                "weight_percent": state.weights[i] / 100,
                "fallbacks": fallbacks.get(r.name, 0),
            }
            for i, r in enumerate(config.routes)
        ]
        counters = _counters(metrics)
        backends = {
            b: {
                "url": config.upstream(b).url,
                "fault": _fault_json(state, b),
                **counters[b],
            }
            for b in BACKENDS
        }
        return AdminResponse.json({"ready": state.ready, "routes": routes, "backends": backends})

    async def set_weight(req: AdminRequest) -> AdminResponse:
        name = req.params["name"]
        if name not in state.route_names:
            raise AdminError(
                404, "unknown_route", {"route": name, "routes": list(state.route_names)}
            )
        body = req.parse(WeightRequest)
        bps = percent_to_bps(body.percent)
        try:
            old = state.set_weight(name, bps, actor=f"admin:{req.client_host}", reason=body.reason)
        except ChangeRefused as exc:
            raise AdminError(503, "change_refused", str(exc)) from None
        return AdminResponse.json(
            {"route": name, "weight_bps": bps, "weight_percent": bps / 100, "previous_bps": old}
        )

    async def put_fault(req: AdminRequest) -> AdminResponse:
        backend = _backend(req)
        spec = req.parse(FaultRequest).to_spec()
        _set_fault(state, backend, spec, f"admin:{req.client_host}")
        return AdminResponse.json({"backend": backend, "fault": _fault_json(state, backend)})

    async def clear_fault(req: AdminRequest) -> AdminResponse:
        backend = _backend(req)
        _set_fault(state, backend, None, f"admin:{req.client_host}")
        return AdminResponse.json({"backend": backend, "fault": None})

    router.add("GET", "/healthz", healthz)
    router.add("GET", "/readyz", readyz)
    router.add("GET", "/metrics", prometheus)
    router.add("GET", "/status", status)
    router.add("PUT", "/routes/{name}/weight", set_weight, mutating=True)
    router.add("PUT", "/faults/{backend}", put_fault, mutating=True)
    router.add("DELETE", "/faults/{backend}", clear_fault, mutating=True)


def _set_fault(state: GatewayState, backend: str, spec: FaultSpec | None, actor: str) -> None:
    try:
        state.set_fault(backend, spec, actor=actor)
    except ChangeRefused as exc:
        raise AdminError(503, "change_refused", str(exc)) from None


def _backend(req: AdminRequest) -> str:
    backend = req.params["backend"]
    if backend not in BACKENDS:
        raise AdminError(404, "unknown_backend", {"backend": backend, "backends": list(BACKENDS)})
    return backend


def _fault_json(state: GatewayState, backend: str) -> dict[str, Any] | None:
    spec = state.get_fault(backend)
    return None if spec is None else spec.to_data()
