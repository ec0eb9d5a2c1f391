"""What a scenario should do, from first principles, shown beside what it does.

With N users (closed loop) or a rate R (open loop), handler time S, W workers, T threadpool tokens per
worker and C cores, the bound that binds is the smallest of:

- ``async def`` + ``await`` I/O:  X = N / S            (the loop overlaps every wait)
- ``def`` in the threadpool:      X = min(N, W*T) / S  (one token per request in flight)
- ``async def`` + blocking call:  X = min(N, W) / S    (the loop is stuck; only processes help)
- CPU-bound, either handler:      X = min(N, W, C) / S (the GIL: threads add no CPU throughput)
- cores: every request also costs CPU outside the handler (parsing, routing, telemetry, the client),
  measured per request (``Costs``); one worker uses at most one core.

CPU per request is not one number: it falls as the load rises. A process that sleeps in epoll between
requests pays for every wake-up (the syscall, the scheduler, a loop iteration, cold caches); a busy one
finds the next request already waiting and serves many per wake-up. So each process's cost is a
``Cpu(busy, wake)``: ``busy`` per request when it never sleeps, plus ``wake`` times the share of
requests that find it asleep. With ``L`` of its requests at the cores on average (running or ready),
that share is 1 / (1 + L), as in an M/M/1 queue, where an arrival finds the server idle with
probability 1 - rho = 1 / (1 + L). The bounds use ``busy`` (a saturated process never sleeps); the
Mean Value Analysis below recomputes the demand at each population from the queue the previous one
left at the cores, so the bend near the knee uses the costs that hold there. Both parts were fitted to
measurements at a few users and at saturation (bench/costs.py, docs/benchmarks.md); single constants
measured at 1,500 req/s on a busier machine were up to 2x the saturated costs (h11 330 µs against 168,
httpx 790 against 492). CPU per request also rises with the connections a process holds open
(``Costs.crowded``), and the cores other processes use are taken out (``predict``'s ``others``).

The costs are CPU seconds on the machine they were fitted on. ``Costs.at_speed`` scales them by
``calibrate.speed_factor()``, the time a fixed piece of request-shaped Python takes here against there,
measured once when a Lab starts, and then, once the load has run steadily for a few seconds, by the
speeds measured on the workers and load processes themselves (``lab/costscale.py``: their CPU per
request against ``demand_parts``); handler and network times are wall time and are not scaled.

The number shown is sharper than the smallest bound: the cores are a queue that requests share, and
near saturation they wait in it, so throughput bends below the bound before it reaches it. Exact
Mean Value Analysis of the closed loop (users, handler time as think time, the cores as one queueing
station with several servers) gives that bend. Latency follows from Little's
law, R = N / X; in an open loop it is S below capacity and grows without bound above it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from asgiscope.server.load.churn import connects_per_request
from asgiscope.server.load.spec import Endpoint, Engine, LoadSpec
from asgiscope.server.scenario import FrameworkKind, HttpKind, LoopKind, Scenario, WorkerClass
from asgiscope.server.supervision import GUNICORN_TIMEOUT_S

MIN_CORES_LEFT = 0.25  # however busy the machine, the scheduler gives our runnable processes some share

Limit = Literal["users", "rate", "tokens", "workers", "cores", "loop", "client"]


IDLE_SLEEP_S = 5e-3  # the scale of the sleep in the idle part of a timer's lateness (timer_lateness_s)


@dataclass(frozen=True, slots=True)
class Prediction:
    throughput_rps: float
    latency_ms: float
    limit: Limit  # the bound that binds
    explanation: str  # one plain sentence: "200 users share 2 workers x 40 tokens = 80 threads ..."
    cpu_speed: float = 1.0  # the costs were scaled by this: CPU time here per second on the reference
    others_cores: float = 0.0  # cores the machine's other processes used, taken from ours
    server_cpu_s: float = 0.0  # worker CPU per request the prediction counts (at saturation)
    cores: int = 0  # the machine's cores it counted
    client_speed: float = 1.0  # the load generator's costs were scaled by this
    costs_measured: bool = False  # the speeds came from the Lab's processes at work (lab/costscale.py)
    connects: float = 0.0  # new connections per request it counted (connection churn)


@dataclass(frozen=True, slots=True)
class Cpu:
    """CPU seconds per request of one process, falling as its rate rises (see the module docstring)."""

    busy: float  # per request while the process never sleeps (at its own saturation)
    wake: float = 0.0  # the wake-up from epoll that a busy period starts with, shared by its requests

    def queued(self, waiting: float) -> float:
        """Per request when on average ``waiting`` of this process's requests are at the cores (running
        or ready): a request finds it asleep with probability 1 / (1 + waiting), as in M/M/1."""
        return self.busy + self.wake / (1.0 + max(waiting, 0.0))

    def at(self, rate: float) -> float:
        """Per request at ``rate`` requests per second, the process alone on a core: it sleeps a
        fraction 1 - rate * cost of the time, so cost = busy + wake (1 - rate * cost)."""
        return (self.busy + self.wake) / (1.0 + self.wake * max(rate, 0.0))

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(self.busy + other.busy, self.wake + other.wake)

    def scaled(self, factor: float) -> Cpu:
        return Cpu(self.busy * factor, self.wake * factor)

    def grown(self, factor: float) -> Cpu:
        """With ``busy`` multiplied (open connections make every request dearer; the wake-up is not)."""
        return Cpu(self.busy * factor, self.wake)


# Fitted by bench/costs.py on the reference machine (calibrate.REFERENCE_WORK_S), 2026-12-02: a 2-core
# AMD EPYC VM shared with other sessions; the least of 5 runs per case (--priority, docs/benchmarks.md).
# ``busy`` is with no connection open: the fits at 100-300 connections per process divided by
# ``Costs.crowded`` there (h11 168 µs at 100 per worker, raw 38 µs at 300, aiohttp 76 at 200, httpx 492
# at 50; httptools 86 at 50, bench/loops.py); io/async's extra was refitted to the users sweep
# (bench/theory_accuracy.py --only sweep).
def _server_costs() -> dict[HttpKind, Cpu]:
    return {"h11": Cpu(136e-6, 17e-6), "httptools": Cpu(76e-6, 41e-6)}


def _endpoint_costs() -> dict[Endpoint, Cpu]:
    # Extra server CPU by handler kind: the timer of asyncio.sleep, the threadpool hop of a def handler
    # (thread hand-off and GIL transfers both ways), the blocking sleep's syscall and GIL round trip.
    # CPU-bound handlers, beyond their own ms: the worker's CPU per request (its threads' schedstat over
    # 5 s, 8 users x 20 ms, 1 worker, 2026-12-02) less ms and h11: cpu/async 0.56 ms; cpu/sync 1.07 ms, most
    # of it the loop thread's, which waits for the GIL on every request and so pays the wake-up each time.
    return {
        "hello": Cpu(0.0),
        "io/async": Cpu(20e-6, 129e-6),
        "io/sync": Cpu(226e-6, 324e-6),
        "io/blocking": Cpu(185e-6),
        "cpu/async": Cpu(560e-6),
        "cpu/sync": Cpu(1070e-6),
    }


def _client_costs() -> dict[Engine, Cpu]:
    return {"raw": Cpu(25e-6, 27e-6), "aiohttp": Cpu(50e-6, 76e-6), "httpx": Cpu(434e-6, 740e-6)}


@dataclass(frozen=True, slots=True)
class Costs:
    """CPU per request outside the handler, fitted on the reference machine (bench/costs.py,
    docs/benchmarks.md), scaled to this one by ``at_speed``."""

    server: dict[HttpKind, Cpu] = field(default_factory=_server_costs)
    endpoint: dict[Endpoint, Cpu] = field(default_factory=_endpoint_costs)
    client: dict[Engine, Cpu] = field(default_factory=_client_costs)
    # The framework's own work per request. ASGI: on top of the server's (FastAPI's is in it); WSGI: the
    # whole of gunicorn's worker and the app. /hello, 50 users, psutil CPU / requests: Flask 335 µs on 2
    # sync workers less a connect each, 383 on gthread at 25 connections a worker; Django under ASGI
    # 1,525 against FastAPI's 165 (2026-12-02, quiet machine); Django's WSGI figures scaled from
    # bench/framework_costs.py's (271 sync, 423-515 gthread) by Flask's ratio between the two runs.
    asgi_framework: dict[FrameworkKind, Cpu] = field(
        default_factory=lambda: {"fastapi": Cpu(0.0), "flask": Cpu(0.0), "django": Cpu(1380e-6)}
    )
    wsgi: dict[tuple[FrameworkKind, WorkerClass], Cpu] = field(
        default_factory=lambda: {
            ("flask", "sync"): Cpu(245e-6),
            ("flask", "gthread"): Cpu(358e-6),
            ("django", "sync"): Cpu(222e-6),
            ("django", "gthread"): Cpu(520e-6),
        }
    )
    open_loop_extra: Cpu = Cpu(120e-6)  # a task per request instead of a waiting user
    # Collecting and decoding telemetry, in the app's own process, per request. The rest of that
    # process's CPU does not follow the requests: it ticks (snapshots, psutil, the window's frames) and
    # took 0.07 cores at 1,500 and at 10,600 req/s alike (bench, 2026-12-02, 6-48 µs a request), so
    # lab/others.py measures it with the other processes'. A wake-up part fitted per request (41 µs)
    # charged 0.3 cores that were not spent at 10 users and predicted /hello 14 % low.
    lab: Cpu = Cpu(2e-6)
    # An awaited sleep ends late, by more the more connections its event loop serves and the longer it
    # sleeps. The connections: asyncio rounds epoll's timeout up to the millisecond whenever another
    # connection wakes the loop, a timer that falls due mid-iteration waits for the rest of it, and the
    # task it wakes for the next; the sleep: a core idle longer wakes later. Fitted (bench/loop_wait.py:
    # io/async 1, 5 and 20 ms, 2-50 users on 2 workers, 3 runs each, the lateness at which the prediction
    # meets the measured throughput) as ``timer_slack_s x ln(1 + n) + idle_wake_s x ln(1 + s / 5 ms)``
    # with n connections per worker and a sleep of s: needed 0.1-0.6 ms at 1-2 connections and 1-5 ms,
    # 1.4-1.7 at 2 and 20 ms, 1.4-1.6 at 10 and 5 ms, 2.2 at 25. A fixed 1 ms was 0.6 ms short at 25
    # (io/async 5 ms, 50 users predicted 12 % high) and 0.7 ms long at 2 (1 ms, 4 users 27 % low).
    # time.sleep in a thread is not late.
    timer_slack_s: float = 0.50e-3
    idle_wake_s: float = 0.36e-3
    round_trip_s: float = 0.15e-3
    # One new connection (loopback TCP handshake and close, accept, protocol set-up): CPU per request
    # with a connection per request minus with connections kept forever, /hello (bench/connect_cost.py):
    # server 70-105 µs, client raw 70-74 µs, aiohttp 185-295 µs, httpx ~730 µs (a busy machine: wide);
    # raw against gunicorn's sync workers, which close first: 137 µs (177 per request against 40).
    connect_server_s: float = 90e-6
    connect_client: dict[Engine, float] = field(
        default_factory=lambda: {"raw": 140e-6, "aiohttp": 200e-6, "httpx": 730e-6}
    )
    # CPU per request rises with the connections a process holds open: each has its protocol object,
    # transport, buffers and parser state, and once their sum outgrows the caches every request misses
    # more. Busy costs grow by ``conn_growth x n / (n + conn_half)`` with n connections per process
    # (bench/costs.py: workers and the raw client both +35-60 % from 10 to 1,000-2,000 connections;
    # the two constants fitted to the users sweep of bench/theory_accuracy.py).
    conn_growth: float = 1.2
    conn_half: float = 400.0
    # uvloop's transports are C: the per-connection part of a request, where asyncio's Python
    # transports and handles pile up, grows far less with it (bench/loops.py: worker CPU per request
    # 160 -> 143 µs at 50 connections, 260 -> 196 µs at 500; the loop's base cost barely moves).
    loop_crowding: dict[LoopKind, float] = field(default_factory=lambda: {"asyncio": 1.0, "uvloop": 0.4})
    # More workers than cores: the scheduler time-slices them, and a worker comes back to caches the
    # others have filled, so its requests cost more the more processes share the cores (bench/scaling.py,
    # /hello 200 users: worker CPU per response 174 µs on 2 workers, 193/240/321/393 on 4/8/16/32 on
    # 2 cores, while involuntary context switches stayed ~1.1 per response: each switch got dearer).
    # The load process shares those cores and caches too: 46 -> 72 µs per response over the same sweep.
    # Busy costs grow by ``growth x x / (x + proc_half)``, x the workers per core beyond one; the
    # constants fitted to that sweep's CPU per response (docs/benchmarks.md, "Scaling sweep").
    proc_growth: float = 3.0
    proc_growth_client: float = 1.2
    proc_half: float = 10.0
    speed: float = 1.0  # CPU time here per CPU second on the reference machine (calibrate.py)
    client_speed: float = 1.0  # the same for the load generator's costs (lab/costscale.py measures it apart)
    measured: bool = False  # the speeds were measured on the Lab's own processes, not the calibration's work
    others: float = 0.0  # cores other processes use (set by predict): they stretch our CPU time

    def crowded(self, connections: float, loop: LoopKind = "asyncio") -> float:
        """How much dearer a busy request is with ``connections`` open in its process (1: none)."""
        n = max(connections, 0.0)
        return 1.0 + self.conn_growth * self.loop_crowding[loop] * n / (n + self.conn_half)

    def oversubscribed(self, workers: int, cores: int, growth: float | None = None) -> float:
        """How much dearer a busy request is with ``workers`` sharing ``cores`` (1: one core each or
        fewer), by default a worker's; ``growth`` for another process (``proc_growth_client``)."""
        x = max(workers / max(cores, 1) - 1.0, 0.0)
        return 1.0 + (self.proc_growth if growth is None else growth) * x / (x + self.proc_half)

    def at_speed(self, factor: float, client: float | None = None, *, measured: bool = False) -> Costs:
        """These costs on a machine whose CPU takes ``factor`` times as long (0.5: twice as fast);
        the load generator's ``client`` times as long, if given apart. ``measured``: the factors come
        from the Lab's own processes at work (lab/costscale.py), not from the calibration."""
        f = factor / self.speed
        fc = (factor if client is None else client) / self.client_speed
        return replace(
            self,
            server={k: v.scaled(f) for k, v in self.server.items()},
            endpoint={k: v.scaled(f) for k, v in self.endpoint.items()},
            client={k: v.scaled(fc) for k, v in self.client.items()},
            asgi_framework={k: v.scaled(f) for k, v in self.asgi_framework.items()},
            wsgi={k: v.scaled(f) for k, v in self.wsgi.items()},
            open_loop_extra=self.open_loop_extra.scaled(fc),
            lab=self.lab.scaled(f),
            connect_server_s=self.connect_server_s * f,
            connect_client={k: v * fc for k, v in self.connect_client.items()},
            speed=factor,
            client_speed=factor if client is None else client,
            measured=measured,
        )

    def client_cpu(self, load: LoadSpec) -> Cpu:
        return self.client[load.engine] + (self.open_loop_extra if load.mode == "open" else Cpu(0.0))

    def server_cpu(self, scenario: Scenario, endpoint: Endpoint) -> Cpu:
        if scenario.wsgi:
            # gunicorn parses in Python and calls the handler on the worker's own thread: no threadpool
            # hop for a def handler, whose sleep costs what a blocking call does.
            app = self.wsgi[(scenario.framework, scenario.worker_class)]
            return app + self.endpoint[WSGI_ENDPOINT_COST.get(endpoint, endpoint)]
        return self.server[scenario.http] + self.asgi_framework[scenario.framework] + self.endpoint[endpoint]


# Under WSGI a def handler runs on the worker's thread: its sleep costs what a blocking call's does.
WSGI_ENDPOINT_COST: dict[Endpoint, Endpoint] = {"io/sync": "io/blocking", "cpu/sync": "cpu/async"}


def plural(k: int) -> str:
    return "" if k == 1 else "s"


def mva(
    users: int,
    think_s: float,
    demand_s: float,
    servers: int,
    demand_at: Callable[[float, float], float] | None = None,
) -> float:
    """Throughput of a closed loop of ``users`` that each think ``think_s`` and then need
    ``demand_s`` of a station with ``servers`` identical servers (exact MVA for a multi-server station,
    Menasce & Almeida: the residence time counts the queue and the chance that a server is free, from
    the probabilities of 0..servers-2 requests there; O(users x servers)). With ``demand_at``,
    the demand depends on how many requests are at the station and how fast they pass: population n
    needs ``demand_at(L(n-1), X(n-1))``, L the mean number there (Little: throughput x residence)."""
    if users <= 0 or demand_s <= 0:
        return users / think_s if think_s > 0 else math.inf
    c = servers
    x, q = 0.0, 0.0
    p = [1.0] + [0.0] * (c - 1)  # p[j]: probability of j requests at the station, j < c
    for n in range(1, users + 1):
        demand = demand_at(q, x) if demand_at is not None else demand_s
        # With j < c requests there, an arrival finds c - j servers free and does not queue.
        r = demand / c * (1.0 + q + sum((c - j) * p[j - 1] for j in range(1, c)))
        x = n / (think_s + r)
        q = x * r
        p[1:] = [demand / j * x * p[j - 1] for j in range(1, c)]
        p[0] = max(0.0, 1.0 - (x * demand + sum((c - j) * p[j] for j in range(1, c))) / c)
    return x


def saturating_rate(cpu_per_request: Callable[[float], float], cores: float, ceiling: float) -> float:
    """The rate X at which ``X * cpu_per_request(X)`` fills ``cores``; it rises with X (every ``Cpu``
    curve does), so bisection finds it below ``ceiling``, a rate it cannot reach."""
    low, high = 0.0, ceiling
    for _ in range(60):
        mid = (low + high) / 2
        if mid * cpu_per_request(mid) < cores:
            low = mid
        else:
            high = mid
    return low


def predict(
    scenario: Scenario,
    load: LoadSpec,
    *,
    cores: int,
    costs: Costs | None = None,
    client_ceiling_rps: float | None = None,
    gunicorn_timeout_s: float = GUNICORN_TIMEOUT_S,
    others: float | None = None,
) -> Prediction:
    """Predicted throughput and latency, and the limit that binds, in words. ``others``: the cores used
    by every process outside the session (server tree, load generator, the Lab's own process, whose
    collecting is a per-request cost here), as measured by the Lab's ``OthersMeter``; they are not
    ours to use."""
    c = costs if costs is not None else Costs()
    if others is not None:
        c = replace(c, others=min(max(others, 0.0), cores - MIN_CORES_LEFT))
    # Connection churn: a share of requests opens a new connection, and that share grows with the
    # latency (one connect per life of a connection, churn.connects_per_request); the latency depends on
    # the throughput, so predict without connects first, then once more with the share that gives.
    first = _predict(scenario, load, cores, c, client_ceiling_rps, gunicorn_timeout_s, 0.0)
    # [wsgi helper] gunicorn's sync worker closes after every response, whatever the client asks.
    if scenario.worker_class == "sync" and first.throughput_rps > 0:
        return _predict(scenario, load, cores, c, client_ceiling_rps, gunicorn_timeout_s, 1.0)
    if load.connection == "forever" or first.throughput_rps <= 0:
        return first  # nothing gets through (workers killed): there is no connection to renew
    latency_ms = first.latency_ms
    if not math.isfinite(latency_ms):  # an open loop past capacity: its cap bounds what waits
        latency_ms = load.max_in_flight / first.throughput_rps * 1000.0
    share = connects_per_request(load.connection, latency_ms / 1000.0)
    return _predict(scenario, load, cores, c, client_ceiling_rps, gunicorn_timeout_s, share)


def load_process_count(load: LoadSpec) -> int:
    # [loadgroup helper] k load processes share the connections (each holds conns / k) and each runs on
    # its own core; "auto" is resolved by the Lab before it asks (lab/loadsize.py), 1 when nobody did.
    return load.load_processes if isinstance(load.load_processes, int) else 1


def outside_s(load: LoadSpec, c: Costs, workers: int) -> float:
    """Wall time a request spends outside any queue: the handler, its sleep's lateness, the round trip."""
    return load.handler_s + sleep_lateness_s(load, c, workers) + c.round_trip_s


def sleep_lateness_s(load: LoadSpec, c: Costs, workers: int) -> float:
    """How late the handler's awaited sleep ends with ``workers`` event loops sharing the load's
    connections; 0 for a handler that awaits none."""
    s = load.handler_s
    if load.endpoint != "io/async" or s <= 0:
        return 0.0
    return timer_lateness_s(c, open_connections(load, s + c.round_trip_s) / workers, s)


def timer_lateness_s(c: Costs, per_worker: float, sleep_s: float) -> float:
    """How late an awaited sleep of ``sleep_s`` ends, on average, in an event loop serving
    ``per_worker`` connections."""
    crowd = c.timer_slack_s * math.log1p(max(0.0, per_worker))
    return crowd + c.idle_wake_s * math.log1p(max(0.0, sleep_s) / IDLE_SLEEP_S)


def open_connections(load: LoadSpec, outside: float) -> float:
    """Connections the load holds open: every user one; an open loop about as many as it has in
    flight (its rate times the time a request spends ``outside`` any queue, at most its cap)."""
    return min(load.max_in_flight, load.rate * outside) if load.mode == "open" else float(load.users)


def request_cpu(
    scenario: Scenario, load: LoadSpec, c: Costs, cores: int, connects: float = 0.0
) -> tuple[Cpu, Cpu]:
    """CPU per request of one worker and of the load generator (all its processes together) on
    ``cores`` cores, with ``connects`` new connections per request. The one account that both the
    prediction and the Lab's measured speeds (lab/costscale.py) use."""
    ep = load.endpoint
    s = load.handler_s
    cpu_bound = ep.startswith("cpu/")
    conns = open_connections(load, outside_s(load, c, scenario.workers))
    # A sync worker holds one connection (it closes each after its response; the rest wait unaccepted).
    held = 1.0 if scenario.worker_class == "sync" else conns / scenario.workers
    # Connects (churn) are CPU spent whether or not the process sleeps: busy, not wake. A CPU-bound
    # handler's own ms are thread CPU time (it spins on it), the same on any machine: not scaled.
    # More workers than cores: each request dearer again (``Costs.oversubscribed``).
    w = scenario.workers
    dearer = c.crowded(held, scenario.loop) * c.oversubscribed(w, cores)
    server = c.server_cpu(scenario, ep).grown(dearer) + Cpu(
        (s if cpu_bound else 0.0) + connects * c.connect_server_s
    )
    k = load_process_count(load)
    crowding = c.crowded(conns / k) * c.oversubscribed(w, cores, c.proc_growth_client)
    client = c.client_cpu(load).grown(crowding) + Cpu(connects * c.connect_client[load.engine])
    return server, client


def demand_parts(
    server: Cpu, client: Cpu, lab: Cpu, workers: int, waiting: float, rate: float
) -> tuple[float, float, float]:
    """CPU per request of a worker, the load generator and the Lab's collector with ``waiting``
    requests at the cores and ``rate`` requests per second: the account the MVA charges at each
    population, and the one the Lab's measured speeds are fitted to (lab/costscale.py).

    The queue at the cores is the servers' and the collector's, each its share in proportion to its
    CPU (a worker its share of the servers'): a saturated worker finds the next request waiting. The
    load generator waits on the servers, not in their queue: it sleeps between requests whatever that
    queue's length, and finds itself asleep as an M/M/1 server would at its own rate (``Cpu.at``;
    measured raw client, /hello at 200 users: 38-64 µs a request, ``at`` 50, its queue share 35)."""
    total = server.busy + client.busy + lab.busy
    share = waiting / total if total > 0 else 0.0
    return server.queued(share * server.busy / workers), client.at(rate), lab.queued(share * lab.busy)


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
    s = load.handler_s
    w, t = scenario.workers, scenario.tokens
    open_loop = load.mode == "open"
    n = load.users

    busy = outside_s(load, c, w)
    cpu_bound = ep.startswith("cpu/")
    server, client = request_cpu(scenario, load, c, cores, connects)
    k = load_process_count(load)

    busy_sum = server.busy + client.busy + c.lab.busy
    # The cores other processes use are not ours: together our processes have ``left``, each at most
    # one core of it (the scheduler shares the machine between sessions, autogroups, first), so our CPU
    # work takes cores / left as long in wall time where it queues for the cores.
    left = cores - c.others
    stretch = cores / left

    def demand(waiting: float, x: float) -> float:
        return stretch * sum(demand_parts(server, client, c.lab, w, waiting, x))

    def rate_cpu(x: float) -> float:
        return server.at(x / w) + client.at(x) + c.lab.at(x)

    # One worker runs on at most one core; all processes share the cores. A saturated process never
    # sleeps, so its bound is set by ``busy`` alone.
    core_cap = min(min(w, left) / server.busy, left / busy_sum)
    taken = f"; other processes use {c.others:.1f} of the {cores} cores" if c.others >= 0.05 else ""

    bounds: list[tuple[float, Limit, str]] = []
    if open_loop:
        bounds.append((load.rate, "rate", f"the open loop sends {load.rate:g} req/s"))
    elif s > 0:
        late = sleep_lateness_s(load, c, w)
        more = f" (+{late * 1e3:.1f} ms: sleeps end late in a loop holding {n / w:,.0f} connections)"
        more = more if late >= 0.05e-3 else ""
        bounds.append((n / busy, "users", f"{n} users each wait {load.ms} ms{more}"))
    # [wsgi helper] the WSGI workers' bounds: sync X = min(N, W)/S, gthread X = min(N, W*T)/S (any route);
    # Django under ASGI runs each request's def view on a thread of its own (asgiref's
    # ThreadSensitiveContext per request): no token bound there.
    if scenario.worker_class == "sync" and s > 0 and not cpu_bound:
        why = f"gunicorn sync workers: {w} worker{plural(w)}, one request at a time each"
        bounds.append((w / busy, "workers", why))
    elif scenario.worker_class == "gthread" and s > 0 and not cpu_bound:
        why = f"{w} gthread worker{plural(w)} x {t} threads = {w * t} requests at a time"
        bounds.append((w * t / busy, "tokens", why))
    elif ep == "io/sync" and s > 0 and scenario.framework != "django":
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
        now = " (as measured now)" if c.measured else ""
        turns = c.oversubscribed(w, cores)
        why = (
            f"~{server.busy * 1e3:.2f} ms of server CPU per request{now} on {min(w, cores)} of {cores} cores"
            + (
                f" ({w} workers take turns on them: {turns:.1f}x the CPU per request of one per core)"
                if turns >= 1.05
                else ""
            )
            + taken
        )
        bounds.append((core_cap, "cores", why))
    # One load process runs on one core: it saturates when it never sleeps, at 1 / busy (or on what
    # others leave of the cores, when that is less than one); k of them at k / busy, on k cores at most.
    engine_cap = min(float(k), left) / client.busy
    who = f"one {load.engine} load process tops out" if k == 1 else f"{k} {load.engine} processes top out"
    bounds.append((engine_cap, "client", f"{who} near {engine_cap:,.0f} req/s{taken}"))
    if client_ceiling_rps is not None:
        bounds.append((client_ceiling_rps, "client", "the load generator's measured ceiling"))

    x, limit, why = min(bounds, key=lambda b: b[0])
    if not open_loop and limit in ("users", "cores", "workers"):
        # The cores are the one queue here: the closed loop bends below its bounds near the knee.
        # CPU-bound handlers' time is spent in that queue, not outside it.
        think = busy - s if cpu_bound else busy
        servers = min(w, cores) if cpu_bound else cores
        x = min(x, mva(n, think, demand(0.0, 0.0), servers, demand_at=demand))

    killed = timeout_kills(scenario, load, gunicorn_timeout_s)
    if killed is not None:
        x, limit, why = min(x, killed[0]), "loop", killed[1]

    if open_loop:
        latency_ms = (busy + rate_cpu(load.rate)) * 1000.0 if limit == "rate" else math.inf
    else:
        latency_ms = max(busy * 1000.0, n / x * 1000.0) if x > 0 else math.inf  # Little's law: R = N / X
    return Prediction(
        throughput_rps=x,
        latency_ms=latency_ms,
        limit=limit,
        explanation=f"{x:,.0f} req/s: {why}",
        cpu_speed=c.speed,
        others_cores=c.others,
        server_cpu_s=server.busy,
        cores=cores,
        client_speed=c.client_speed,
        costs_measured=c.measured,
        connects=connects,
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
