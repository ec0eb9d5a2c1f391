"""The immutable picture of a Lab session at one instant: everything a view needs, nothing to compute.

The Lab's metrics build one Snapshot 10-30 times a second. Widgets render it as it is (the napari
model/view split): any number shown on screen is a field here, so the CLI and tests see the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Prediction

LabState = Literal["idle", "starting", "running", "restarting", "stopping", "stopped", "error"]
# worker_retired: stopped by the master on scaling down; worker_killed: gunicorn's WORKER TIMEOUT (its
# exit follows); crashed: the master died (the Lab restarts the tree); load_died / load_respawned: the
# load generator process died / the Lab started a new one.
EventKind = Literal[
    "worker_started",
    "worker_exited",
    "worker_retired",
    "worker_killed",
    "scaled",
    "restarted",
    "crashed",
    "load_died",
    "load_respawned",
]


@dataclass(frozen=True, slots=True)
class Latency:
    p50_ms: float = float("nan")
    p90_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    count: int = 0


# A thread that got at least this much of a core over the window counts as working.
BUSY_THREAD_PERCENT = 5.0


@dataclass(frozen=True, slots=True)
class ThreadStats:
    tid: int  # native thread id
    cpu_percent: float  # % of one core over the last window


@dataclass(frozen=True, slots=True)
class WorkerStats:
    pid: int
    alive: bool = True
    requests: int = 0  # cumulative since the worker started (server-side, telemetry)
    share: float = 0.0  # fraction of requests in the window handled by this worker, 0..1
    throughput_rps: float = 0.0
    in_flight: int = 0
    pool_total: int = 0
    pool_busy: int = 0
    pool_waiting: int = 0
    loop_lag_ms: float = 0.0  # max lag seen over the last window
    cpu_percent: float = 0.0  # % of one core
    rss_mb: float = 0.0
    threads: tuple[ThreadStats, ...] = ()  # its threads' CPU over the last window, busiest first
    preempted_per_s: float = 0.0  # involuntary context switches per second (it had to give up a core)

    @property
    def busy_threads(self) -> int:
        """Threads that got at least BUSY_THREAD_PERCENT of a core over the window."""
        return sum(1 for t in self.threads if t.cpu_percent >= BUSY_THREAD_PERCENT)

    @property
    def threads_cpu_percent(self) -> float:
        """All its threads' CPU together, % of one core (under the GIL Python code gets <= 100)."""
        return sum(t.cpu_percent for t in self.threads)


@dataclass(frozen=True, slots=True)
class ProcessStats:
    role: Literal["master", "worker", "load", "gui"]
    pid: int
    cpu_percent: float
    rss_mb: float


@dataclass(frozen=True, slots=True)
class TreeEvent:
    """Something that happened to the process tree: a worker exit, a restart, a scale step."""

    t: float  # session seconds
    kind: EventKind
    pid: int
    detail: str = ""
    code: int | None = None  # worker_exited/retired, load_died: exit status, or -signal; None if unknown

    @property
    def failure(self) -> bool:
        """Something died that nobody asked to stop (a worker retired by scaling down is no failure)."""
        return self.kind in ("worker_exited", "worker_killed", "crashed", "load_died")


@dataclass(frozen=True, slots=True)
class Marker:
    t: float  # session seconds
    label: str  # "workers 2→4"


@dataclass(frozen=True, slots=True)
class ClientBound:
    reason: str  # "the load process used 97% of a core", "open loop reached 812 of 1000 req/s"


@dataclass(frozen=True, slots=True)
class Telemetry:
    received: int = 0  # records
    datagrams: int = 0
    lost: int = 0  # datagrams missing from sequence gaps
    rejected: int = 0  # datagrams with a bad token or shape, an impossible pid or sequence jump
    implausible: int = 0  # records refused for impossible content (server/lab/plausible.py)


@dataclass(frozen=True, slots=True)
class Series:
    """Time series for the scrolling plots: all arrays share ``t`` (session seconds), oldest first."""

    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    client_rps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    server_rps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    predicted_rps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    p50_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    p99_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # per process: role label ("master", "worker 1234", "load" or "load 1234" when several, "gui")
    # → % of a core
    cpu: dict[str, np.ndarray] = field(default_factory=dict)
    # per worker pid → max loop lag in ms
    loop_lag_ms: dict[int, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    t: float  # session seconds since the Lab started
    state: LabState
    message: str  # what is happening / what went wrong, in words ("" when nothing to say)
    scenario: Scenario
    load: LoadSpec
    load_running: bool
    url: str  # "http://127.0.0.1:PORT" or "" before the server is up
    # measured, client side
    client_rps: float = 0.0  # over the last window_s seconds
    window_s: float = 1.0  # what client_rps, server_rps and latency are over (not the whole run)
    latency: Latency = field(default_factory=Latency)  # over the last window (1-2 s)
    latency_total: Latency = field(default_factory=Latency)  # since the load started
    requests: int = 0  # client-side responses since the load started
    errors: dict[str, int] = field(default_factory=dict)  # kind → count since the load started
    in_flight: int = 0
    overflow: int = 0  # open loop sends skipped (cap reached), since the load started
    # the load processes together (each is in ``processes`` with role "load"), % of one core, over the
    # last window: running, and ready to run but waiting for a core
    client_cpu_percent: float = 0.0
    client_wait_percent: float = 0.0
    # measured, server side (telemetry)
    server_rps: float = 0.0
    server_requests: int = 0
    # theory and judgement
    prediction: Prediction | None = None
    client_bound: ClientBound | None = None
    # plain-language lines for the insight bar, most important first (computed by the Lab, not views)
    insights: tuple[str, ...] = ()
    # the tree
    master_pid: int = 0
    restarts: int = 0  # workers the master started to replace dead ones, this tree
    workers: tuple[WorkerStats, ...] = ()
    # workers that left the tree this session (alive=False), with the requests they served, oldest first
    gone: tuple[WorkerStats, ...] = ()
    processes: tuple[ProcessStats, ...] = ()
    events: tuple[TreeEvent, ...] = ()  # recent, oldest first
    telemetry: Telemetry = field(default_factory=Telemetry)
    markers: tuple[Marker, ...] = ()
    series: Series = field(default_factory=Series)
