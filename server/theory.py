"""What a scenario should do, from first principles, shown beside what it does.

With N users (closed loop) or a rate R (open loop), handler time S, W workers, T threadpool tokens per
worker and C cores, the bound that binds is the smallest of:

- ``async def`` + ``await`` I/O:  X = N / S            (the loop overlaps every wait)
- ``def`` in the threadpool:      X = min(N, W*T) / S  (one token per request in flight)
- ``async def`` + blocking call:  X = min(N, W) / S    (the loop is stuck; only processes help)
- CPU-bound, either handler:      X = min(N, W, C) / S (the GIL: threads add no CPU throughput)
- cores: every request also costs CPU outside the handler (parsing, routing, telemetry, the client),
  measured per request on these machines (``Costs``); one worker uses at most one core.

The number shown is sharper than the smallest bound: the cores are a queue that requests share, and
near saturation they wait in it, so throughput bends below the bound before it reaches it. Exact
Mean Value Analysis of the closed loop (users, handler time as think time, the cores as one queueing
station, Seidmann's approximation for several cores) gives that bend. Latency follows from Little's
law, R = N / X; in an open loop it is S below capacity and grows without bound above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from asgiscope.server.load.churn import connects_per_request
from asgiscope.server.load.spec import Endpoint, Engine, LoadSpec
from asgiscope.server.scenario import HttpKind, Scenario
from asgiscope.server.supervision import GUNICORN_TIMEOUT_S

Limit = Literal["users", "rate", "tokens", "workers", "cores", "loop", "client"]


@dataclass(frozen=True, slots=True)
class Prediction:
    throughput_rps: float
    latency_ms: float
    limit: Limit  # the bound that binds
    explanation: str  # one plain sentence: "200 users share 2 workers x 40 tokens = 80 threads ..."


def _server_costs() -> dict[HttpKind, float]:
    return {"h11": 330e-6, "httptools": 210e-6}


def _endpoint_costs() -> dict[Endpoint, float]:
    # Extra server CPU by handler kind: the timer of asyncio.sleep, and the threadpool hop of a def
    # handler (thread hand-off and GIL transfers both ways), measured at 1,500 req/s.
    return {
        "hello": 0.0,
        "io/async": 110e-6,
        "io/sync": 750e-6,
        "io/blocking": 30e-6,
        "cpu/async": 0.0,
        "cpu/sync": 750e-6,
    }


def _client_costs() -> dict[Engine, float]:
    return {"raw": 41e-6, "aiohttp": 106e-6, "httpx": 790e-6}


@dataclass(frozen=True, slots=True)
class Costs:
    """CPU seconds per request outside the handler, measured on these machines (docs/benchmarks.md)."""

    server: dict[HttpKind, float] = field(default_factory=_server_costs)
    endpoint: dict[Endpoint, float] = field(default_factory=_endpoint_costs)
    client: dict[Engine, float] = field(default_factory=_client_costs)
    open_loop_extra_s: float = 130e-6  # a task per request instead of a waiting user
    lab_s: float = 35e-6  # collecting and decoding telemetry, in the app's own process
    # asyncio.sleep wakes on epoll's millisecond ticks: ~1 ms late on average; time.sleep is not
    timer_slack_s: float = 1.0e-3
    round_trip_s: float = 0.15e-3
    # One new connection (loopback TCP handshake and close, accept, protocol set-up): CPU per request
    # with a connection per request minus with connections kept forever, /hello (bench/connect_cost.py):
    # server 70-105 µs, client raw 70-74 µs, aiohttp 185-295 µs, httpx ~730 µs (a busy machine: wide).
    connect_server_s: float = 90e-6
    connect_client: dict[Engine, float] = field(
        default_factory=lambda: {"raw": 70e-6, "aiohttp": 200e-6, "httpx": 730e-6}
    )

    def client_s(self, load: LoadSpec) -> float:
        return self.client[load.engine] + (self.open_loop_extra_s if load.mode == "open" else 0.0)

    def server_s(self, scenario: Scenario, endpoint: Endpoint) -> float:
        return self.server[scenario.http] + self.endpoint[endpoint]


def plural(k: int) -> str:
    return "" if k == 1 else "s"


def mva(users: int, think_s: float, demand_s: float, servers: int) -> float:
    """Throughput of a closed loop of ``users`` that each think ``think_s`` and then need
    ``demand_s`` of a station with ``servers`` identical servers (exact MVA, Seidmann's approximation:
    a c-server station is a queue of demand D/c plus a pure delay of D(c-1)/c)."""
    if users <= 0 or demand_s <= 0:
        return users / think_s if think_s > 0 else math.inf
    d = demand_s / servers
    z = think_s + demand_s * (servers - 1) / servers
    x, q = 0.0, 0.0
    for n in range(1, users + 1):
        r = d * (1.0 + q)
        x = n / (z + r)
        q = x * r
    return x


def predict(
    scenario: Scenario,
    load: LoadSpec,
    *,
    cores: int,
    costs: Costs | None = None,
    client_ceiling_rps: float | None = None,
    gunicorn_timeout_s: float = GUNICORN_TIMEOUT_S,
) -> Prediction:
    """Predicted throughput and latency, and the limit that binds, in words."""
    c = costs if costs is not None else Costs()
    # Connection churn: a share of requests opens a new connection, and that share grows with the
    # latency (one connect per life of a connection, churn.connects_per_request); the latency depends on
    # the throughput, so predict without connects first, then once more with the share that gives.
    first = _predict(scenario, load, cores, c, client_ceiling_rps, gunicorn_timeout_s, 0.0)
    if load.connection == "forever" or first.throughput_rps <= 0:
        return first  # nothing gets through (workers killed): there is no connection to renew
    latency_ms = first.latency_ms
    if not math.isfinite(latency_ms):  # an open loop past capacity: its cap bounds what waits
        latency_ms = load.max_in_flight / first.throughput_rps * 1000.0
    share = connects_per_request(load.connection, latency_ms / 1000.0)
    return _predict(scenario, load, cores, c, client_ceiling_rps, gunicorn_timeout_s, share)


def _predict(
    scenario: Scenario,
    load: LoadSpec,
    cores: int,
    c: Costs,
    client_ceiling_rps: float | None,
    gunicorn_timeout_s: float,
    connects: float,  # new connections per request
) -> Prediction:
    ep = load.endpoint
    s = 0.0 if ep == "hello" else load.ms / 1000.0
    w, t = scenario.workers, scenario.tokens
    open_loop = load.mode == "open"
    n = load.users

    # Time a request spends outside any queue: the handler, the timer's lateness, the round trip.
    slack = c.timer_slack_s if ep == "io/async" and s > 0 else 0.0
    busy = s + slack + c.round_trip_s
    cpu_bound = ep.startswith("cpu/")
    server_cpu = c.server_s(scenario, ep) + (s if cpu_bound else 0.0) + connects * c.connect_server_s
    client_cpu = c.client_s(load) + connects * c.connect_client[load.engine]
    total_cpu = server_cpu + client_cpu + c.lab_s
    # One worker runs on at most one core; all processes share the machine's cores.
    core_cap = min(w / server_cpu, cores / total_cpu)

    bounds: list[tuple[float, Limit, str]] = []
    if open_loop:
        bounds.append((load.rate, "rate", f"the open loop sends {load.rate:g} req/s"))
    elif s > 0:
        bounds.append((n / busy, "users", f"{n} users each wait {load.ms} ms"))
    if ep == "io/sync" and s > 0:
        why = f"{w} worker{plural(w)} x {t} threadpool tokens = {w * t} requests at a time"
        bounds.append((w * t / busy, "tokens", why))
    elif ep == "io/blocking" and s > 0:
        why = f"time.sleep blocks each worker's event loop: {w} request{plural(w)} at a time"
        bounds.append((w / busy, "loop", why))
    if cpu_bound:
        k = min(w, cores)
        why = (
            f"CPU work holds the GIL: {k} request{plural(k)} at a time "
            f"({w} worker{plural(w)} on {cores} cores; threads add none)"
        )
        bounds.append((core_cap, "workers" if w < cores else "cores", why))
    else:
        why = f"~{server_cpu * 1e3:.2f} ms of server CPU per request on {min(w, cores)} of {cores} cores"
        bounds.append((core_cap, "cores", why))
    # One load process runs on one core: its own CPU per request caps what it can send.
    engine_cap = 1.0 / client_cpu
    bounds.append(
        (engine_cap, "client", f"one {load.engine} load process tops out near {engine_cap:,.0f} req/s")
    )
    if client_ceiling_rps is not None:
        bounds.append((client_ceiling_rps, "client", "the load generator's measured ceiling"))

    x, limit, why = min(bounds, key=lambda b: b[0])
    if not open_loop and limit in ("users", "cores", "workers"):
        # The cores are the one queue here: the closed loop bends below its bounds near the knee.
        # CPU-bound handlers' time is spent in that queue, not outside it.
        think = busy - s if cpu_bound else busy
        x = min(x, mva(n, think, total_cpu, min(w, cores) if cpu_bound else cores))

    killed = timeout_kills(scenario, load, gunicorn_timeout_s)
    if killed is not None:
        x, limit, why = min(x, killed[0]), "loop", killed[1]

    if open_loop:
        latency_ms = (busy + total_cpu) * 1000.0 if limit == "rate" else math.inf
    else:
        latency_ms = max(busy * 1000.0, n / x * 1000.0) if x > 0 else math.inf  # Little's law: R = N / X
    return Prediction(
        throughput_rps=x,
        latency_ms=latency_ms,
        limit=limit,
        explanation=f"{x:,.0f} req/s: {why}",
    )


LOOP_BLOCKING: tuple[Endpoint, ...] = ("io/blocking", "cpu/async")  # handlers that hold the event loop
# From a worker's SIGABRT to its replacement serving: the arbiter's 1 s poll, a fork, the app's import.
REPLACE_S = 1.5


def loop_blocked_s(scenario: Scenario, load: LoadSpec) -> float:
    """How long each worker's event loop stays blocked at a stretch, in steady state (0: never).

    asyncio runs every request that became ready in one pass of its loop, and each blocking handler
    holds the loop for its whole time: with k requests queued on a worker the loop is stuck k x S,
    and nothing else on it (the gunicorn heartbeat included) runs meanwhile. A closed loop queues all
    of a worker's users; an open loop past the workers' capacity queues up to its in-flight cap."""
    if load.endpoint not in LOOP_BLOCKING or load.ms <= 0:
        return 0.0
    s, w = load.ms / 1000.0, scenario.workers
    if load.mode == "closed":
        queued = math.ceil(load.users / w)
    else:
        queued = math.ceil(load.max_in_flight / w) if load.rate * s >= w else 1
    return queued * s


def timeout_kills(scenario: Scenario, load: LoadSpec, timeout_s: float) -> tuple[float, str] | None:
    """Throughput and the reason when gunicorn kills workers whose loop is blocked past its timeout.

    Each worker then lives about one timeout, finishing timeout/S requests (none if one request
    outlasts it), and is replaced; the requests still queued on it fail with its connections."""
    blocked = loop_blocked_s(scenario, load)
    if scenario.server != "gunicorn" or blocked <= timeout_s:
        return None
    s, w = load.ms / 1000.0, scenario.workers
    done = math.floor(timeout_s / s)
    x = w * done / (timeout_s + REPLACE_S)
    why = (
        f"gunicorn kills a worker whose event loop is blocked longer than its {timeout_s:g} s timeout "
        f"(WORKER TIMEOUT): each worker's queue blocks its loop ~{blocked:,.0f} s at a stretch, so workers "
        f"are killed and replaced, finishing {done} request{plural(done)} each; the rest fail"
    )
    return x, why
