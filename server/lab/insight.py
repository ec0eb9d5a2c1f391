"""Judgement in plain words: is the client the bottleneck, and what should a talk audience notice?

Pure functions of figures the Snapshot already holds, so the GUI and the CLI say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from asgiscope.server.lab.gil_notes import gil_notes
from asgiscope.server.lab.snapshot import ClientBound, TreeEvent, WorkerStats
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.theory import Prediction, plural

CLIENT_CPU_LIMIT = 90.0  # % of a core: above it the load process cannot send any faster
OPEN_LOOP_MISS = 0.10  # an open loop that sends > 10 % below its rate is not driving what it claims
IMBALANCE = 1.5  # busiest / idlest worker share that is worth pointing out
LAG_MS = 50.0


@dataclass(frozen=True, slots=True)
class Figures:
    load: LoadSpec
    load_running: bool
    client_rps: float
    server_rps: float
    sent_rps: float
    client_cpu_percent: float
    client_wait_percent: float  # ready to run but waiting for a core (0 where the OS does not say)
    overflow: int
    prediction: Prediction | None
    workers: tuple[WorkerStats, ...]
    warm: bool  # the load has run long enough (> one window) for rates to mean something
    window_s: float = 1.0  # the rates above are over the last this many seconds, not the whole run
    failures: tuple[TreeEvent, ...] = ()  # what died since the load was turned on, oldest first
    cores: int = 0  # the machine's, as the prediction counts them
    # each load process of the group: (pid, cpu %, wait %); empty: judge the totals above as one process
    client_processes: tuple[tuple[int, float, float], ...] = ()
    gui_cpu_percent: float = 0.0  # this app's own process (the GUI, the Lab's collecting), % of a core

    @property
    def worker_died(self) -> bool:
        return any(e.kind in ("worker_exited", "worker_killed") for e in self.failures)


def client_bound(f: Figures) -> ClientBound | None:
    """Judged per load process: one saturated process binds the group (its users wait on it)."""
    if not f.load_running or not f.warm:
        return None
    procs = f.client_processes or ((0, f.client_cpu_percent, f.client_wait_percent),)
    many = len(procs) > 1
    for pid, cpu, wait in sorted(procs, key=lambda p: -(p[1] + p[2])):
        who = f"load process {pid} (of {len(procs)})" if many else "the load generator"
        if cpu >= CLIENT_CPU_LIMIT:
            return ClientBound(
                f"{who} used {cpu:.0f}% of a core: it cannot send faster, so the server may be faster "
                "than shown"
            )
        if cpu + wait >= CLIENT_CPU_LIMIT:
            # Never idle, yet short of a core: the machine's other processes (the server too) hold the cores.
            return ClientBound(
                f"{who} never idled: {cpu:.0f}% of a core running and {wait:.0f}% waiting for one (every "
                "core is busy), so it cannot send faster and the server may be faster than shown"
            )
    if f.load.mode == "open" and f.sent_rps < (1 - OPEN_LOOP_MISS) * f.load.rate and f.overflow == 0:
        return ClientBound(f"the open loop sent {f.sent_rps:,.0f} of {f.load.rate:,.0f} req/s intended")
    return None


def last_window(window_s: float) -> str:
    """What a rate of the Snapshot is over, named wherever it is shown beside a whole-run average."""
    return f"Last {window_s:g} s"


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%" if math.isfinite(x) else "n/a"


def insights(f: Figures, bound: ClientBound | None) -> tuple[str, ...]:
    """What to notice, most important first. Client-bound, errors and telemetry loss are not
    repeated here: they have Snapshot fields of their own, which views show as warnings."""
    lines: list[str] = []
    p = f.prediction
    if not f.load_running:
        lines.append("No load is being sent.")
        if p is not None:
            lines.append(f"Predicted when on: {p.explanation}.")
        return tuple(lines)
    lines.extend(failure_notes(f.failures))  # first: nothing else on screen explains a death
    if p is not None and f.warm:
        ratio = f.client_rps / p.throughput_rps if p.throughput_rps > 0 else math.nan
        lines.append(
            f"{last_window(f.window_s)}: measured {f.client_rps:,.0f} req/s vs predicted "
            f"{p.throughput_rps:,.0f} ({_pct(ratio)}). Limit: {p.explanation}."
        )
        if ratio < 0.85 and bound is None:
            lines.append(_idle_below(f) or _why_below(f))
    elif p is not None:
        lines.append(f"Warming up... predicted {p.explanation}.")
    if f.warm:
        lines.extend(gil_notes(f.load.endpoint, f.workers, f.cores))
    lines.extend(_idle_notes(f))
    lines.extend(_worker_notes(f))
    if f.overflow:
        lines.append(
            f"Open loop: {f.overflow:,} sends skipped because {f.load.max_in_flight:,} requests were "
            "already waiting: the server is past capacity and latency grows without bound."
        )
    return tuple(lines)


def failure_notes(failures: tuple[TreeEvent, ...]) -> list[str]:
    """One line per kind of death, about the latest of its kind, most telling first."""
    lines: list[str] = []
    kills = [e for e in failures if e.kind == "worker_killed"]
    if kills:
        e = kills[-1]
        more = f" ({len(kills)} workers so far)" if len(kills) > 1 else ""
        lines.append(
            f"gunicorn killed worker {e.pid}{more}: {e.detail}. The uvicorn worker's heartbeat runs on its "
            "event loop, and a blocking call in async def holds that loop: every request queued on the "
            "worker failed with it. Use def (the threadpool) or await instead."
        )
    killed = {e.pid for e in kills}
    deaths = [e for e in failures if e.kind == "worker_exited" and e.pid not in killed]
    if deaths:
        e = deaths[-1]
        more = f" ({len(deaths)} workers so far)" if len(deaths) > 1 else ""
        lines.append(
            f"Worker {e.pid} died ({e.detail}) at {e.t:.1f} s{more}; the master started another in its "
            "place. Requests in flight on its connections failed, and its users' connections moved to "
            "the other workers, so the per-worker shares say nothing about accept() for a while."
        )
    loads = [e for e in failures if e.kind == "load_died"]
    if loads:
        e = loads[-1]
        lines.append(
            f"The load generator died ({e.detail}) at {e.t:.1f} s and was started again: its requests in "
            "flight were lost, and the figures have a gap."
        )
    crashes = [e for e in failures if e.kind == "crashed"]
    if crashes:
        lines.append(f"The server master died at {crashes[-1].t:.1f} s: the whole tree was started again.")
    return lines


def _why_below(f: Figures) -> str:
    if any(e.kind == "load_died" for e in f.failures):
        return (
            "Below prediction: the load generator died and was started again; the gap counts against "
            "the rate."
        )
    if f.worker_died:
        return (
            "Below prediction: a worker died under load: its requests in flight failed, and its users "
            "reconnected to the workers still there (a replacement only gets connections made after it)."
        )
    ep = f.load.endpoint
    if ep.startswith("cpu/"):
        return (
            "Below prediction: CPU work competes with the load generator and the GIL for the same cores; "
            "threads take turns, they do not run Python in parallel."
        )
    return _measured_why(f)


def _measured_why(f: Figures) -> str:
    """Below prediction for no reason the scenario names: say what the measurements show."""
    p = f.prediction
    alive = [w for w in f.workers if w.alive]
    server_cores = sum(w.cpu_percent for w in alive) / 100
    client_cores = f.client_cpu_percent / 100
    lagging = max(alive, key=lambda w: w.loop_lag_ms, default=None)
    if p is not None and p.cores and f.server_rps > 0:
        app_cores = f.gui_cpu_percent / 100
        used = server_cores + client_cores + app_cores + p.others_cores
        if used >= 0.85 * p.cores:
            per_request = server_cores / f.server_rps
            # With the speeds measured on the workers (lab/costscale.py) the prediction already
            # charges what they spend: the news is how much dearer that is than the fitted costs.
            against = (
                f"({p.cpu_speed:.2f}x the theory's fitted costs, as measured now)"
                if p.costs_measured
                else f"against {p.server_cpu_s * 1e6:,.0f} µs predicted"
            )
            dearer = f"each request took {per_request * 1e6:,.0f} µs of worker CPU {against}"
            app = f", this app {app_cores:.1f}" if app_cores >= 0.05 else ""
            shares = (
                f"workers {server_cores:.1f}, load generator {client_cores:.1f}{app}, "
                f"other processes {p.others_cores:.1f}"
            )
            if len(alive) > p.cores:
                return _too_many(
                    len(alive), p.cores, shares, sum(w.preempted_per_s for w in alive) / f.server_rps, dearer
                )
            return f"Below prediction: the {p.cores} cores are full ({shares}) and {dearer}."
    if lagging is not None and lagging.loop_lag_ms >= LAG_MS:
        return (
            f"Below prediction: worker {lagging.pid}'s event loop ran {lagging.loop_lag_ms:,.0f} ms late: "
            "while it waits, no request on it moves."
        )
    return (
        f"Below prediction with cores to spare (workers {server_cores:.1f}, load generator "
        f"{client_cores:.1f}): the requests wait on something the prediction does not count; the "
        "per-worker shares and loop lag below are where to look."
    )


def _too_many(workers: int, cores: int, shares: str, preempted: float, dearer: str) -> str:
    """More busy workers than cores: they take turns, and each turn starts on caches the others filled
    (bench/scaling.py: ~1 preemption per request, worker CPU per request 2.3x at 16 per core)."""
    return (
        f"Below prediction: too many processes for the cores: {workers} workers take turns on {cores} "
        f"cores, all busy ({shares}). The workers were preempted {preempted:.1f} times per request, "
        f"and each turn starts on caches the others filled: {dearer}. One worker per core would "
        "serve more."
    )


def _idle(f: Figures) -> list[WorkerStats]:
    """Living workers that served nothing over the window while others served."""
    alive = [w for w in f.workers if w.alive]
    if len(alive) < 2 or f.server_rps <= 0:
        return []
    return [w for w in alive if w.share == 0]


def _pids(workers: list[WorkerStats]) -> str:
    return ", ".join(str(w.pid) for w in workers)


def _idle_notes(f: Figures) -> list[str]:
    idle = _idle(f)
    if not idle:
        return []
    who = f"Worker{plural(len(idle))} {_pids(idle)} served no requests"
    pinning = "keep-alive connections stay with the worker that accepted them"
    if f.load.connection == "forever":
        return [
            f"{who}: {pinning}, and with connection 'forever' this load opens no new ones after it "
            "started, so a worker added later gets nothing (wrk does the same). Connection '1s' or "
            "'per-request' hands it its share."
        ]
    return [
        f"{who} yet: {pinning}; each user opens a new one about every "
        f"{'request' if f.load.connection == 'per-request' else 'second'}, and a worker just added gets "
        "its share as they do."
    ]


def _idle_below(f: Figures) -> str | None:
    """Below prediction because some workers get no load: say so rather than blame the GIL or cores."""
    idle = _idle(f)
    if not idle:
        return None
    serving = sum(1 for w in f.workers if w.alive) - len(idle)
    verb = "has" if len(idle) == 1 else "have"
    return (
        f"Below prediction: the prediction counts every worker, but only {serving} of them served: "
        f"worker{plural(len(idle))} {_pids(idle)} {verb} no connections, so the others do all the work."
    )


def _worker_notes(f: Figures) -> list[str]:
    lines: list[str] = []
    alive = [w for w in f.workers if w.alive]
    # After a death the shares tell of who inherited the dead worker's users, not of accept().
    if len(alive) >= 2 and f.server_rps > 0 and not f.worker_died:
        shares = sorted(w.share for w in alive)
        # A worker with nothing at all is told by _idle_notes: keep-alive pinning, not accept.
        if shares[0] > 0 and shares[-1] / shares[0] >= IMBALANCE:
            lines.append(
                f"Uneven accept: the busiest worker takes {_pct(shares[-1])}, the idlest {_pct(shares[0])}. "
                "Workers accept() from one shared socket and keep-alive connections stay where they "
                "landed; gunicorn with reuse_port lets the kernel spread them."
            )
    lagging = [w for w in alive if w.loop_lag_ms >= LAG_MS]
    if lagging:
        worst = max(lagging, key=lambda w: w.loop_lag_ms)
        if f.load.endpoint in ("io/blocking", "cpu/async"):
            cause = "a blocking call inside async def stalls every request on that worker"
        elif f.load.endpoint == "cpu/sync":
            cause = "threadpool threads running Python hold the GIL, and the loop waits its turn"
        else:
            # These handlers never hold the loop that long: the process waited for a core.
            cause = "the process waited for a core (the machine is busy), not for the handler"
        lines.append(f"Event loop late by up to {worst.loop_lag_ms:,.0f} ms in worker {worst.pid}: {cause}.")
    waiting = sum(w.pool_waiting for w in alive)
    if waiting:
        lines.append(f"{waiting:,} requests wait for a threadpool token: more tokens (or async) would help.")
    return lines


def telemetry_warning(lost: int, rejected: int, datagrams: int) -> str | None:
    """Lost datagrams are our workers' records that never arrived: server-side counts miss them.
    Rejected ones failed the session token or the wire format, so they came from no worker of this
    session and are left out of every figure: they change nothing but are worth knowing about."""
    parts: list[str] = []
    if lost:
        parts.append(
            f"{lost:,} datagrams lost (of {datagrams + lost:,} sent): "
            "server-side numbers undercount by their requests"
        )
    if rejected:
        parts.append(
            f"{rejected:,} datagrams rejected (they failed the token or format check, so they are not "
            "this session's workers' records: ignored, no figure changes)"
        )
    return "Telemetry: " + "; ".join(parts) + "." if parts else None
