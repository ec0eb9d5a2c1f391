"""What the controls panel holds, and how it maps to a (Scenario, LoadSpec) pair. No widgets here.

The panel speaks in the words of a talk ("def in threadpool", "CPU work"); the Lab speaks in server
fields and routes. Keeping the mapping pure makes every control testable without a display, and lets
settings and the command line reuse it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from asgiscope.server.load.spec import Endpoint, Engine, LoadSpec, Mode
from asgiscope.server.scenario import HttpKind, LoopKind, Scenario, ServerKind, SocketKind

Handler = Literal["await", "threadpool", "blocking"]
Work = Literal["io", "cpu"]

HANDLER_LABELS: dict[Handler, str] = {
    "await": "async def + await",
    "threadpool": "def (threadpool)",
    "blocking": "async def + blocking call",
}
WORK_LABELS: dict[Work, str] = {"io": "I/O (sleep)", "cpu": "CPU (busy loop)"}

# (handler, work) → route. CPU work inside `async def` blocks the loop whether or not the handler
# awaits elsewhere, so "await" and "blocking" share the one async CPU route.
ENDPOINTS: dict[tuple[Handler, Work], Endpoint] = {
    ("await", "io"): "io/async",
    ("threadpool", "io"): "io/sync",
    ("blocking", "io"): "io/blocking",
    ("await", "cpu"): "cpu/async",
    ("threadpool", "cpu"): "cpu/sync",
    ("blocking", "cpu"): "cpu/async",
}
# route → (handler, work) for restoring a stored LoadSpec; "hello" is shown as the async I/O route.
CONTROLS_FOR_ENDPOINT: dict[Endpoint, tuple[Handler, Work]] = {
    "hello": ("await", "io"),
    "io/async": ("await", "io"),
    "io/sync": ("threadpool", "io"),
    "io/blocking": ("blocking", "io"),
    "cpu/async": ("blocking", "cpu"),
    "cpu/sync": ("threadpool", "cpu"),
}

USERS_MAX = 2000
RATE_MAX = 5000.0
MS_MAX = 1000
TOKENS_MAX = 200


def workers_max(cores: int) -> int:
    """The workers slider goes to twice the cores: past the cores is where the lesson shows."""
    return max(2, 2 * cores)


@dataclass(frozen=True, slots=True)
class Controls:
    """The state of every control, in the panel's own terms."""

    workers: int = 2
    users: int = 100
    rate: float = 100.0
    ms: int = 100
    tokens: int = 40
    handler: Handler = "await"
    work: Work = "io"
    server: ServerKind = "uvicorn"
    loop: LoopKind = "asyncio"
    http: HttpKind = "h11"
    socket: SocketKind = "shared"
    engine: Engine = "raw"
    mode: Mode = "closed"

    @property
    def endpoint(self) -> Endpoint:
        return ENDPOINTS[(self.handler, self.work)]

    @property
    def socket_enabled(self) -> bool:
        """reuse_port exists only with gunicorn (uvicorn's supervisor shares one socket)."""
        return self.server == "gunicorn"

    def with_changes(self, **changes: Any) -> Controls:
        """A copy with some controls changed; leaving gunicorn resets the socket to shared."""
        new = replace(self, **changes)
        if not new.socket_enabled and new.socket != "shared":
            new = replace(new, socket="shared")
        return new

    def scenario(self) -> Scenario:
        return Scenario(
            server=self.server,
            workers=self.workers,
            loop=self.loop,
            http=self.http,
            tokens=self.tokens,
            socket=self.socket if self.socket_enabled else "shared",
        )

    def load(self, *, running: bool, base: LoadSpec | None = None) -> LoadSpec:
        """The LoadSpec for these controls; fields the panel does not show come from ``base``."""
        return (base or LoadSpec()).with_changes(
            endpoint=self.endpoint,
            ms=self.ms,
            mode=self.mode,
            users=self.users,
            rate=float(self.rate),
            engine=self.engine,
            running=running,
        )


def controls_from(scenario: Scenario, load: LoadSpec, handler: Handler | None = None) -> Controls:
    """The controls showing a scenario and a load; ``handler`` disambiguates the shared CPU route."""
    route_handler, work = CONTROLS_FOR_ENDPOINT[load.endpoint]
    if handler is not None and ENDPOINTS.get((handler, work)) == load.endpoint:
        route_handler = handler
    return Controls(
        workers=scenario.workers,
        users=min(load.users, USERS_MAX),
        rate=min(load.rate, RATE_MAX),
        ms=min(load.ms, MS_MAX),
        tokens=min(scenario.tokens, TOKENS_MAX),
        handler=route_handler,
        work=work,
        server=scenario.server,
        loop=scenario.loop,
        http=scenario.http,
        socket=scenario.socket,
        engine=load.engine,
        mode=load.mode,
    )


def is_handler(value: object) -> bool:
    return value in get_args(Handler)


# Log-scale slider positions: a QSlider holds ints, so users and rate map to 0..LOG_STEPS.
LOG_STEPS = 1000


def log_position(value: float, lo: float, hi: float) -> int:
    value = min(max(value, lo), hi)
    return round(LOG_STEPS * math.log(value / lo) / math.log(hi / lo))


def log_value(position: int, lo: float, hi: float) -> float:
    return float(lo * (hi / lo) ** (position / LOG_STEPS))


def nice_round(value: float) -> int:
    """Round a log-slider value to two significant digits so labels read 120, 1500, not 1487."""
    if value < 10:
        return max(1, round(value))
    digits = 10 ** (int(math.log10(value)) - 1)
    return int(round(value / digits) * digits)
