"""What a scenario should do, from first principles, shown beside what it does.

With N users (closed loop) or a rate R (open loop), handler time S, W workers, T threadpool tokens per
worker and C cores:

- ``async def`` + ``await`` I/O:  X = N / S            (the loop overlaps every wait)
- ``def`` in the threadpool:      X = min(N, W*T) / S  (one token per request in flight)
- ``async def`` + blocking call:  X = min(N, W) / S    (the loop is stuck; only processes help)
- CPU-bound, either handler:      X = min(N, W, C) / S (the GIL: threads add no CPU throughput)

and every request also costs the server and the client some CPU of their own (parsing, routing,
telemetry), which caps throughput by cores when S is small. Latency follows from Little's law,
R = N / X, in a closed loop; in an open loop it is S below capacity and grows without bound above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from server.lab.snapshot import Limit, Prediction
from server.load.spec import Engine, LoadSpec
from server.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Costs:
    """CPU seconds per request outside the handler, measured on these machines (docs/benchmarks.md)."""

    server_h11_s: float = 320e-6
    server_httptools_s: float = 200e-6
    client_raw_s: float = 41e-6
    client_aiohttp_s: float = 106e-6
    client_httpx_s: float = 790e-6

    def client_s(self, engine: Engine) -> float:
        return {"raw": self.client_raw_s, "aiohttp": self.client_aiohttp_s, "httpx": self.client_httpx_s}[
            engine
        ]

    def server_s(self, scenario: Scenario) -> float:
        return self.server_httptools_s if scenario.http == "httptools" else self.server_h11_s


def plural(k: int) -> str:
    return "" if k == 1 else "s"


def _bound(name: Limit, value: float, why: str) -> tuple[float, Limit, str]:
    return (value, name, why)


def predict(
    scenario: Scenario,
    load: LoadSpec,
    *,
    cores: int,
    costs: Costs | None = None,
    client_ceiling_rps: float | None = None,
) -> Prediction:
    """Predicted throughput and latency, and the limit that binds, in words."""
    c = costs if costs is not None else Costs()
    ep = load.endpoint
    s = 0.0 if ep == "hello" else load.ms / 1000.0
    w, t = scenario.workers, scenario.tokens
    open_loop = load.mode == "open"
    n = float(load.users)

    # Every request costs the server CPU outside the handler (parsing, routing, telemetry) and the
    # client some too, on the same cores: that caps throughput when handlers are short.
    handler_cpu_s = s if ep.startswith("cpu/") else 0.0
    per_req_cpu = c.server_s(scenario) + handler_cpu_s
    core_cap = min(w / per_req_cpu, cores / (per_req_cpu + c.client_s(load.engine)))

    bounds: list[tuple[float, Limit, str]] = []
    if open_loop:
        bounds.append(_bound("rate", load.rate, f"the open loop sends {load.rate:g} req/s"))
    elif s > 0:
        bounds.append(_bound("users", n / s, f"{load.users} users each wait {load.ms} ms"))
    if ep == "io/sync" and s > 0:
        why = f"{w} worker{plural(w)} x {t} threadpool tokens = {w * t} requests at a time"
        bounds.append(_bound("tokens", w * t / s, why))
    elif ep == "io/blocking" and s > 0:
        why = f"time.sleep blocks each worker's event loop: {w} request{plural(w)} at a time"
        bounds.append(_bound("loop", w / s, why))
    if ep.startswith("cpu/"):
        k = min(w, cores)
        why = (
            f"CPU work holds the GIL: {k} request{plural(k)} at a time "
            f"({w} worker{plural(w)} on {cores} cores; threads add none)"
        )
        bounds.append(_bound("workers" if w < cores else "cores", core_cap, why))
    else:
        why = f"~{per_req_cpu * 1e3:.2f} ms of server CPU per request on {min(w, cores)} of {cores} cores"
        bounds.append(_bound("cores", core_cap, why))
    # One load process runs on one core: its own CPU per request caps what it can send.
    engine_cap = 1.0 / c.client_s(load.engine)
    bounds.append(
        _bound("client", engine_cap, f"one {load.engine} load process tops out near {engine_cap:,.0f} req/s")
    )
    if client_ceiling_rps is not None:
        bounds.append(_bound("client", client_ceiling_rps, "the load generator's measured ceiling"))

    x, limit, why = min(bounds, key=lambda b: b[0])

    if open_loop:
        latency_ms = s * 1000.0 if limit == "rate" else math.inf
    else:
        latency_ms = max(s * 1000.0, n / x * 1000.0)  # Little's law: R = N / X
    return Prediction(
        throughput_rps=x,
        latency_ms=latency_ms,
        limit=limit,
        explanation=f"{x:,.0f} req/s: {why}",
    )
