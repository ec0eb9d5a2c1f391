"""How fast this machine runs the servers' and the load generator's work now, measured on them.

The theory's CPU costs per request were fitted on one machine at one time; ``calibrate.py`` scales them
by how fast a fixed piece of Python runs here when the Lab starts. On the shared VM the costs were
fitted on that is not enough: the workers' and the load generator's CPU per request moved 15-25 %
between runs minutes apart (``/hello`` at 50 users: 154-186 µs per request in a worker), together, while
the fixed piece and a loopback ping-pong timed in a process beside them did not move at all (0.97-1.03
and 9.7-10.1 µs, docs/benchmarks.md). What changes is how dear the servers' own work is (larger working
sets, other guests on the host's caches), so it is measured on that work: over the last few seconds of
steady load, the CPU seconds of the workers and of the load processes (psutil) per request, against what
the theory's account (``theory.demand_parts``) says they cost at the rate they ran and with the requests
that waited at the cores then. The factor that makes the account match is the speed the prediction then
uses.

What it cannot measure it leaves alone: the load off, a change under way, too few requests, a side using
under a quarter of a core, or a handler whose own CPU time (``cpu/``, the same on any machine) dwarfs
the rest. A factor far from the calibration's (outside ``BOUND``) is capped there: something else than
speed is at work then, and the insight is there to name it.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from asgiscope.server.lab.others import Accrual
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Costs, demand_parts, outside_s, request_cpu

WINDOW_S: Final = 4.0  # seconds of steady load a measurement spans
MIN_SPAN_S: Final = 2.0  # a shorter stretch is not believed yet
MIN_REQUESTS: Final = 300
# A side's speed is measured only while it uses this much of a core: where it uses less, its CPU
# hardly bounds anything, and per-second work that is not per request (timers, telemetry ticks) reads
# as dear requests (io/sync at 480 req/s measured 1.9x). psutil counts 10 ms ticks: 1 s in a window.
MIN_CORES: Final = 0.25
SCALABLE: Final = 0.5  # at least this share of a side's cost must be what speed scales
BOUND: Final = (0.5, 2.0)  # a measured factor stays within these times the calibration's
STEP: Final = 0.01  # factors move in steps of this, so the prediction's cache holds between samples
KEPT: Final = 5  # windows whose median is the speed (they overlap: ~2.5 s of news)


@dataclass(frozen=True, slots=True)
class Speeds:
    server: float  # CPU time here per CPU second of the theory's costs, the workers' side
    client: float  # the load processes'


def solve(cost_at: Callable[[float], float], measured: float, low: float = 0.05, high: float = 20.0) -> float:
    """The factor k at which ``cost_at(k)`` (rising with k) equals ``measured``, by bisection."""
    for _ in range(50):
        mid = math.sqrt(low * high)
        if cost_at(mid) < measured:
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)


def scalable_share(cost_at: Callable[[float], float]) -> float:
    """The share of the cost at k = 1 that doubles with k = 2: the part speed scales."""
    one = cost_at(1.0)
    return (cost_at(2.0) - one) / one if one > 0 else 0.0


class CostScale:
    """Fed the session's CPU counters as the Lab reads them (twice a second); ``costs(base)`` gives the
    costs to predict with."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, float, float, int]] = deque()  # (t, worker cpu, load cpu, requests)
        self._workers, self._loads = Accrual(), Accrual()  # CPU seconds each side added while watched
        self._key: object = None
        self.speeds: Speeds | None = None  # the latest measured, or None: the calibration's hold
        # The last few windows' factors: they outlive a restart, as the machine's speed does.
        self._raw: deque[Speeds] = deque(maxlen=KEPT)

    def restart(self) -> None:
        """Something changed (load, scenario, the workers): the next window starts afresh. The factors
        measured so far still hold: the machine did not change with the slider."""
        self._samples.clear()
        self._workers, self._loads = Accrual(), Accrual()
        self._key = None

    def sample(
        self,
        now: float,
        workers: Mapping[int, float],
        load_procs: Mapping[int, float],
        requests: int,
        *,
        scenario: Scenario,
        load: LoadSpec,
        base: Costs,
        connects: float,
        cores: int,
    ) -> Speeds | None:
        """``workers``/``load_procs``: CPU seconds per pid now; ``requests``: completed so far (client
        side); ``load`` with its load processes resolved; ``base``: the calibrated costs."""
        key = (scenario, load, frozenset(workers), frozenset(load_procs))
        if key != self._key:
            self.restart()
            self._key = key
        worker_cpu, load_cpu = self._workers.add(workers), self._loads.add(load_procs)
        self._samples.append((now, worker_cpu, load_cpu, requests))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window_s:
            self._samples.popleft()
        t0, w0, l0, r0 = self._samples[0]
        span, done = now - t0, requests - r0
        if span < MIN_SPAN_S or done < MIN_REQUESTS:
            return self.speeds
        rate = done / span
        server_cpu, client_cpu = worker_cpu - w0, load_cpu - l0
        previous = self.speeds or Speeds(base.speed, base.client_speed)

        # The requests at the cores: a closed loop's users less those outside (Little's law); an open
        # loop's are not known here, and a few count as none.
        outside = outside_s(load, base, scenario.workers)
        waiting = max(0.0, load.users - rate * outside) if load.mode == "closed" else 0.0

        def parts(k: float) -> tuple[float, float, float]:
            costs = base.at_speed(k)
            server, client = request_cpu(scenario, load, costs, cores, connects)
            return demand_parts(server, client, costs.lab, scenario.workers, waiting, rate)

        def server_at(k: float) -> float:
            return parts(k)[0]

        def client_at(k: float) -> float:
            return parts(k)[1]

        # The requests are counted as the load reports them (every 100 ms) and the CPU when psutil is
        # asked: one window can be a few % off either way. The median of the last few windows is not.
        self._raw.append(
            Speeds(
                _factor(server_at, server_cpu, done, span, base.speed, previous.server),
                _factor(client_at, client_cpu, done, span, base.client_speed, previous.client),
            )
        )
        self.speeds = Speeds(
            _step(statistics.median(k.server for k in self._raw)),
            _step(statistics.median(k.client for k in self._raw)),
        )
        return self.speeds

    def costs(self, base: Costs) -> Costs:
        """``base`` (the calibrated costs) at the measured speeds, once there are any."""
        if self.speeds is None:
            return base
        return base.at_speed(self.speeds.server, self.speeds.client, measured=True)


def _factor(
    cost_at: Callable[[float], float],
    cpu_s: float,
    requests: int,
    span: float,
    calibrated: float,
    previous: float,
) -> float:
    if cpu_s / span < MIN_CORES or scalable_share(cost_at) < SCALABLE:
        return previous
    k = solve(cost_at, cpu_s / requests)
    return min(max(k, calibrated * BOUND[0]), calibrated * BOUND[1])


def _step(k: float) -> float:
    return round(k / STEP) * STEP


def describe(server: float, client: float, measured: bool) -> str:
    """The speeds in words, for ``run``'s table."""
    if not measured:
        return f"CPU costs scaled by {server:.2f} (a fixed piece of Python timed here when the Lab started)"
    return (
        f"CPU costs scaled by {server:.2f} for the workers and {client:.2f} for the load, as measured on "
        f"them over the last {WINDOW_S:g} s of steady load"
    )
