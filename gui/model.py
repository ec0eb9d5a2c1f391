"""What the controls panel holds, and how it maps to a (Scenario, LoadSpec) pair. No widgets here.

The panel speaks in the words of a talk ("def in threadpool", "CPU work"); the Lab speaks in server
fields and routes. Keeping the mapping pure makes every control testable without a display, and lets
settings and the command line reuse it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, get_args

from asgiscope.server.limits import (
    AUTO,
    LOAD_PROCESSES,
    MS,
    RATE,
    TOKENS,
    USERS,
    WORKERS,
    CountOrAuto,
    IntRange,
    NumberRange,
    choices,
    not_allowed,
)
from asgiscope.server.load.spec import Connection, Endpoint, Engine, LoadProcesses, LoadSpec, Mode
from asgiscope.server.scenario import (
    FrameworkKind,
    HttpKind,
    LoopKind,
    Scenario,
    ServerKind,
    SocketKind,
    WorkerClass,
    endpoint_refusal,
    pair_refusal,
)

Handler = Literal["await", "threadpool", "blocking"]
Work = Literal["io", "cpu"]

HANDLER_LABELS: dict[Handler, str] = {
    "await": "async def + await",
    "threadpool": "def (threadpool)",
    "blocking": "async def + blocking call",
}
WORK_LABELS: dict[Work, str] = {"io": "I/O (sleep)", "cpu": "CPU (busy loop)"}
MODE_LABELS: dict[Mode, str] = {"closed": "closed loop", "open": "open loop"}
CONNECTION_LABELS: dict[Connection, str] = {
    "per-request": "new per request",
    "1s": "~1 s",
    "forever": "forever",
}

# What the panel calls each control (the app's --help uses the same words).
TITLES: dict[str, str] = {
    "workers": "Workers",
    "users": "Users (closed loop)",
    "rate": "Rate (open loop)",
    "ms": "Handler time",
    "tokens": "Threadpool tokens",
    "mode": "Load",
    "handler": "Handler",
    "work": "Work",
    "framework": "Framework",
    "server": "Server",
    "worker_class": "Worker class",
    "socket": "Socket",
    "loop": "Event loop",
    "http": "HTTP parser",
    "engine": "Client",
    "connection": "Connection",
    "load_processes": "Load processes",
}

# Each choice control offers exactly the words of its Literal, in the Literal's order.
CHOICE_KINDS: dict[str, Any] = {
    "mode": Mode,
    "handler": Handler,
    "work": Work,
    "framework": FrameworkKind,
    "server": ServerKind,
    "worker_class": WorkerClass,
    "socket": SocketKind,
    "loop": LoopKind,
    "http": HttpKind,
    "engine": Engine,
    "connection": Connection,
}
_LABELS: dict[str, dict[Any, str]] = {
    "mode": MODE_LABELS,
    "handler": HANDLER_LABELS,
    "work": WORK_LABELS,
    "connection": CONNECTION_LABELS,
}


def options(name: str) -> tuple[tuple[str, str], ...]:
    """(value, label) pairs for the choice control ``name``."""
    labels = _LABELS.get(name, {})
    return tuple((word, labels.get(word, word)) for word in choices(CHOICE_KINDS[name]))


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

# Where the sliders stop: soft caps that keep a slider fine enough to aim with, always cut to what the
# server accepts (``capped``), so every value a slider offers is one Scenario / LoadSpec take.
USERS_CAP = 2000  # the load ceiling measured in bench/ (2,000 users x 0 ms)
RATE_CAP = 5000.0
RATE_LOW = 1.0  # the rate slider's left end: one request per second
MS_CAP = 1000
TOKENS_CAP = 200


def load_processes_rule(cores: int) -> CountOrAuto:
    """What the load-processes control offers: "auto", or 1 up to the cores (never more)."""
    return LOAD_PROCESSES.capped(cores)


def load_process_options(cores: int) -> tuple[tuple[str, str], ...]:
    """(word, label) pairs for the load-processes control: auto first, then every count it allows."""
    counts = load_processes_rule(cores).counts
    return ((AUTO, AUTO), *((str(k), str(k)) for k in range(counts.lo, counts.hi + 1)))


def as_load_processes(word: str) -> LoadProcesses:
    """The control's word as the LoadSpec holds it."""
    return AUTO if word == AUTO else int(word)


def fit_load_processes(value: LoadProcesses, cores: int) -> LoadProcesses:
    """A stored count from a bigger machine, cut to this one's cores."""
    return value if value == AUTO else min(int(value), load_processes_rule(cores).counts.hi)


def workers_range(cores: int) -> IntRange:
    """Everything the server accepts, whatever the cores: more workers than cores is the lesson (they do
    not help), and the per-worker plots summarise past a few workers so 32 stay readable."""
    del cores  # kept in the signature: the other ranges may still depend on the machine
    return WORKERS


def workers_max(cores: int) -> int:
    """The most workers the slider offers: the server's limit on any machine."""
    return workers_range(cores).hi


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
    connection: Connection = "1s"
    framework: FrameworkKind = "fastapi"
    worker_class: WorkerClass = "uvicorn"
    load_processes: LoadProcesses = "auto"

    @property
    def endpoint(self) -> Endpoint:
        return ENDPOINTS[(self.handler, self.work)]

    @property
    def socket_enabled(self) -> bool:
        """reuse_port exists only with gunicorn (uvicorn's supervisor shares one socket)."""
        return self.server == "gunicorn"

    def with_changes(self, **changes: Any) -> Controls:
        """A copy with some controls changed. Leaving gunicorn shows the socket as shared (the panel
        greys it out); a socket asked for by name is kept, so ``scenario()`` refuses reuse_port with
        uvicorn in the Scenario's own words, as ``run`` and ``serve`` do, never rewriting it.

        Framework, server, worker class and handler rank in that order: a change to one moves those
        below it to their first choice that works with it, when theirs does not (Flask takes gunicorn
        and sync workers; a WSGI worker takes the def handler). Only the options no choice above can
        make work are greyed out (``refused``), so every combination stays one click away."""
        new = replace(self, **changes)
        if "socket" not in changes and not new.socket_enabled and new.socket != "shared":
            new = replace(new, socket="shared")
        if pair_refusal(new.framework, new.server, new.worker_class) is not None:
            if pair_refusal(new.framework, new.server, "uvicorn") is not None and "server" not in changes:
                new = replace(new, server=_first(ServerKind, lambda s: not _server_refused(new.framework, s)))
            new = replace(
                new,
                worker_class=_first(
                    WorkerClass, lambda w: pair_refusal(new.framework, new.server, w) is None
                ),
            )
            if "socket" not in changes and not new.socket_enabled and new.socket != "shared":
                new = replace(new, socket="shared")
        if new.handler_refusal(new.handler) is not None:
            new = replace(new, handler="threadpool")
        return new

    def handler_refusal(self, handler: Handler) -> str | None:
        """Why this handler cannot run on these workers (an async def route under WSGI), or None."""
        endpoint = ENDPOINTS[(handler, self.work)]
        if self.worker_class == "uvicorn" or pair_refusal(self.framework, self.server, self.worker_class):
            return None
        why = endpoint_refusal(
            Scenario(server="gunicorn", framework=self.framework, worker_class=self.worker_class), endpoint
        )
        return None if why is None else not_allowed("endpoint", endpoint, why)

    def refused(self) -> dict[str, dict[str, str]]:
        """Per choice control, its options that cannot work with the choices above it, each with the
        server's sentence saying why (the panel greys them out with it as their tooltip)."""
        out: dict[str, dict[str, str]] = {"server": {}, "worker_class": {}, "handler": {}}
        for server in get_args(ServerKind):
            # The only server no worker class rescues is uvicorn for a WSGI-only framework: the rule
            # then names the server, given uvicorn's own workers.
            refusal = pair_refusal(self.framework, server, "uvicorn")
            if refusal is not None and _server_refused(self.framework, server):
                out["server"][server] = not_allowed(refusal[0], server, refusal[1])
        for worker_class in choices(WorkerClass):
            refusal = pair_refusal(self.framework, self.server, worker_class)
            if refusal is not None:
                out["worker_class"][worker_class] = not_allowed("worker_class", worker_class, refusal[1])
        for handler in get_args(Handler):
            why = self.handler_refusal(handler)
            if why is not None:
                out["handler"][handler] = why
        return out

    def scenario(self) -> Scenario:
        return Scenario(
            server=self.server,
            workers=self.workers,
            loop=self.loop,
            http=self.http,
            tokens=self.tokens,
            socket=self.socket,
            framework=self.framework,
            worker_class=self.worker_class,
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
            connection=self.connection,
            load_processes=self.load_processes,
            running=running,
        )


def controls_from(scenario: Scenario, load: LoadSpec, handler: Handler | None = None) -> Controls:
    """The controls showing a scenario and a load; ``handler`` disambiguates the shared CPU route."""
    route_handler, work = CONTROLS_FOR_ENDPOINT[load.endpoint]
    if handler is not None and ENDPOINTS.get((handler, work)) == load.endpoint:
        route_handler = handler
    return Controls(
        workers=scenario.workers,
        users=load.users,
        rate=load.rate,
        ms=load.ms,
        tokens=scenario.tokens,
        handler=route_handler,
        work=work,
        server=scenario.server,
        loop=scenario.loop,
        http=scenario.http,
        socket=scenario.socket,
        engine=load.engine,
        mode=load.mode,
        connection=load.connection,
        framework=scenario.framework,
        worker_class=scenario.worker_class,
        load_processes=load.load_processes,
    )


def _server_refused(framework: FrameworkKind, server: str) -> bool:
    """Whether no worker class makes ``server`` work with ``framework`` (Flask on uvicorn)."""
    return all(pair_refusal(framework, server, w) is not None for w in choices(WorkerClass))


def _first(kind: Any, works: Any) -> Any:
    """The first word of a Literal that ``works``."""
    return next(word for word in choices(kind) if works(word))


def is_handler(value: object) -> bool:
    return value in get_args(Handler)


# Log-scale slider positions: a QSlider holds ints, so users and rate map to 0..LOG_STEPS.
LOG_STEPS = 1000


@dataclass(frozen=True, slots=True)
class Scale:
    """One slider: the int positions a QSlider holds, and the value each stands for (lo..hi)."""

    lo: float
    hi: float
    log: bool = False

    @property
    def positions(self) -> tuple[int, int]:
        return (0, LOG_STEPS) if self.log else (int(self.lo), int(self.hi))

    def value(self, position: int) -> float:
        if not self.log:
            return float(position)
        # rounding to two digits may step past an end: the value stays inside the range
        return float(min(max(nice_round(log_value(position, self.lo, self.hi)), self.lo), self.hi))

    def position(self, value: float) -> int:
        if self.log:
            return log_position(value, self.lo, self.hi)
        return round(self.fit(value))

    def fit(self, value: float) -> float:
        return min(max(value, self.lo), self.hi)

    def rule(self, whole: bool) -> IntRange | NumberRange:
        """What a command-line flag for this control may ask: what the slider can show."""
        return IntRange(int(self.lo), int(self.hi)) if whole else NumberRange(self.hi, lo=self.lo)


@dataclass(frozen=True, slots=True)
class Ranges:
    """What each slider offers on a machine with ``cores`` cores (passed in, so tests choose them)."""

    workers: Scale
    users: Scale
    rate: Scale
    ms: Scale
    tokens: Scale

    @classmethod
    def for_cores(cls, cores: int) -> Ranges:
        workers = workers_range(cores)
        users, ms, tokens = USERS.capped(USERS_CAP), MS.capped(MS_CAP), TOKENS.capped(TOKENS_CAP)
        return cls(
            workers=Scale(workers.lo, workers.hi),
            users=Scale(users.lo, users.hi, log=True),
            rate=Scale(RATE_LOW, min(RATE_CAP, RATE.hi), log=True),
            ms=Scale(ms.lo, ms.hi),
            tokens=Scale(tokens.lo, tokens.hi),
        )

    @staticmethod
    def control_value(name: str, value: float) -> float:
        """A slider's value as its Controls field holds it: the rate as is, the rest whole."""
        return value if name == "rate" else round(value)

    def scales(self) -> dict[str, Scale]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def rules(self) -> dict[str, IntRange | NumberRange]:
        """Per slider, what a flag may ask (rate is a number, the others whole numbers)."""
        return {name: scale.rule(whole=name != "rate") for name, scale in self.scales().items()}

    def fit(self, controls: Controls) -> Controls:
        """``controls`` with every slider value brought inside its slider (a bigger machine's settings)."""
        changes: dict[str, Any] = {}
        for name, scale in self.scales().items():
            changes[name] = self.control_value(name, scale.fit(getattr(controls, name)))
        return controls.with_changes(**changes)


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
