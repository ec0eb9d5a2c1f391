"""What crosses the boundary between the Lab and a load generator process.

Control goes down the child's stdin as one JSON ``LoadSpec`` per line (applied live, no restart);
reports come up its stdout as one JSON ``LoadReport`` per line, every <= 100 ms. stdin EOF means the
owner is gone: the load process stops at once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from asgiscope.server.limits import LOAD_PROCESSES, MAX_IN_FLIGHT, MS, RATE, USERS, check_choice

Engine = Literal["raw", "aiohttp", "httpx"]  # in the order the panel offers them
Mode = Literal["closed", "open"]
Endpoint = Literal["hello", "io/async", "io/sync", "io/blocking", "cpu/async", "cpu/sync"]
# How long a slot keeps its keep-alive connection (``churn.py``): a new one per request, about a second
# (the default: a worker added live gets its share within a second), or forever, like wrk.
Connection = Literal["per-request", "1s", "forever"]
# How many load processes share the load: a count, or "auto" (as many as the client bound needs).
LoadProcesses = int | Literal["auto"]


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """The load to drive. ``running=False`` keeps the process (and its connections) but sends nothing."""

    endpoint: Endpoint = "io/async"
    ms: int = 100
    mode: Mode = "closed"
    users: int = 100  # closed loop: virtual users, each waits for its response
    rate: float = 100.0  # open loop: intended requests per second
    max_in_flight: int = 2000  # open loop: cap; sends past it are counted as overflow, not made
    # raw costs ~41 µs of client CPU per request, aiohttp ~105, httpx ~790 (docs/benchmarks.md)
    engine: Engine = "raw"
    connection: Connection = "1s"
    running: bool = True
    load_processes: LoadProcesses = "auto"  # the Lab's business: one process is told 1

    def __post_init__(self) -> None:
        check_choice("endpoint", self.endpoint, Endpoint)
        check_choice("mode", self.mode, Mode)
        check_choice("engine", self.engine, Engine)
        check_choice("connection", self.connection, Connection)
        MS.check("ms", self.ms)
        USERS.check("users", self.users)
        MAX_IN_FLIGHT.check("max_in_flight", self.max_in_flight)
        RATE.check("rate", self.rate)
        LOAD_PROCESSES.check("load_processes", self.load_processes)

    @property
    def path(self) -> str:
        return "/hello" if self.endpoint == "hello" else f"/{self.endpoint}?ms={self.ms}"

    @property
    def handler_s(self) -> float:
        """The handler's own time in seconds: its ``ms``, none for /hello (which ignores it)."""
        return 0.0 if self.endpoint == "hello" else self.ms / 1000.0

    def with_changes(self, **changes: Any) -> LoadSpec:
        return replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        return cls(**json.loads(text))


@dataclass(frozen=True, slots=True)
class LoadReport:
    """One interval of a load process's work. Counts are for the interval, not cumulative."""

    t: float  # time.monotonic() at the end of the interval, in the load process
    interval_s: float
    completed: int  # responses received (any status)
    ok: int  # 2xx responses
    errors: dict[str, int] = field(default_factory=dict)  # kind → count: "status_5xx", "connect"...
    histogram: str = ""  # HdrHistogram (hdrh) encoded, latency in microseconds, this interval only
    in_flight: int = 0
    sent: int = 0
    overflow: int = 0  # open loop: sends skipped because max_in_flight was reached
    intended: int = 0  # open loop: sends that were due in this interval
    cpu_percent: float = 0.0  # this process, % of one core, over the interval
    wait_percent: float = 0.0  # ready to run but waiting for a core, % of the interval (0 if unknown)
    users: int = 0  # closed loop users currently active

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LoadReport:
        return cls(**json.loads(text))
