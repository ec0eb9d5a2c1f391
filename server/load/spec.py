"""What crosses the boundary between the Lab and a load generator process.

Control goes down the child's stdin as one JSON ``LoadSpec`` per line (applied live, no restart);
reports come up its stdout as one JSON ``LoadReport`` per line, every <= 100 ms. stdin EOF means the
owner is gone: the load process stops at once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

Engine = Literal["aiohttp", "httpx", "raw"]
Mode = Literal["closed", "open"]
Endpoint = Literal["hello", "io/async", "io/sync", "io/blocking", "cpu/async", "cpu/sync"]

MAX_USERS = 10_000
MAX_RATE = 100_000.0
MAX_MS = 10_000


class LoadSpecError(ValueError):
    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}={value!r} is not allowed: {field} must be {allowed}")


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
    running: bool = True

    def __post_init__(self) -> None:
        for name, kind in (("endpoint", Endpoint), ("mode", Mode), ("engine", Engine)):
            value = getattr(self, name)
            if value not in get_args(kind):
                raise LoadSpecError(name, value, "one of " + ", ".join(map(repr, get_args(kind))))
        _check_int("ms", self.ms, 0, MAX_MS)
        _check_int("users", self.users, 1, MAX_USERS)
        _check_int("max_in_flight", self.max_in_flight, 1, 100_000)
        if (
            isinstance(self.rate, bool)
            or not isinstance(self.rate, int | float)
            or not (0 < self.rate <= MAX_RATE)
        ):
            raise LoadSpecError("rate", self.rate, f"a number above 0 and at most {MAX_RATE:g}")

    @property
    def path(self) -> str:
        return "/hello" if self.endpoint == "hello" else f"/{self.endpoint}?ms={self.ms}"

    def with_changes(self, **changes: Any) -> LoadSpec:
        return replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        return cls(**json.loads(text))


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise LoadSpecError(name, value, f"a whole number from {lo} to {hi}")


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
