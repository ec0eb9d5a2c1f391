"""Judgement in plain words: is the client the bottleneck, and what should a talk audience notice?

Pure functions of figures the Snapshot already holds, so the GUI and the CLI say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from asgiscope.server.lab.snapshot import ClientBound, WorkerStats
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.theory import Prediction

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


def client_bound(f: Figures) -> ClientBound | None:
    if not f.load_running or not f.warm:
        return None
    if f.client_cpu_percent >= CLIENT_CPU_LIMIT:
        return ClientBound(
            f"the load generator used {f.client_cpu_percent:.0f}% of a core: it cannot send faster, "
            "so the server may be faster than shown"
        )
    if f.client_cpu_percent + f.client_wait_percent >= CLIENT_CPU_LIMIT:
        # Never idle, yet short of a core: the machine's other processes (the server too) hold the cores.
        return ClientBound(
            f"the load generator never idled: {f.client_cpu_percent:.0f}% of a core running and "
            f"{f.client_wait_percent:.0f}% waiting for one (every core is busy), so it cannot send faster "
            "and the server may be faster than shown"
        )
    if f.load.mode == "open" and f.sent_rps < (1 - OPEN_LOOP_MISS) * f.load.rate and f.overflow == 0:
        return ClientBound(f"the open loop sent {f.sent_rps:,.0f} of {f.load.rate:,.0f} req/s intended")
    return None


def last_window(window_s: float) -> str:
    """What a rate of the Snapshot is over, named wherever it is shown beside a whole-run average."""
    return f"Last {window_s:g} s"


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


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
    if p is not None and f.warm:
        ratio = f.client_rps / p.throughput_rps if p.throughput_rps > 0 else math.nan
        lines.append(
            f"{last_window(f.window_s)}: measured {f.client_rps:,.0f} req/s vs predicted "
            f"{p.throughput_rps:,.0f} ({_pct(ratio)}). Limit: {p.explanation}."
        )
        if ratio < 0.85 and bound is None:
            lines.append(_why_below(f))
    elif p is not None:
        lines.append(f"Warming up... predicted {p.explanation}.")
    lines.extend(_worker_notes(f))
    if f.overflow:
        lines.append(
            f"Open loop: {f.overflow:,} sends skipped because {f.load.max_in_flight:,} requests were "
            "already waiting: the server is past capacity and latency grows without bound."
        )
    return tuple(lines)


def _why_below(f: Figures) -> str:
    ep = f.load.endpoint
    if ep.startswith("cpu/"):
        return (
            "Below prediction: CPU work competes with the load generator and the GIL for the same cores; "
            "threads take turns, they do not run Python in parallel."
        )
    if ep == "hello":
        return "Below prediction: with no handler time, parsing and routing CPU (both sides) sets the pace."
    return (
        "Below prediction: something else binds. Check CPU % per process (cores), the per-worker share "
        "(uneven accept) and loop lag (a blocked loop)."
    )


def _worker_notes(f: Figures) -> list[str]:
    lines: list[str] = []
    alive = [w for w in f.workers if w.alive]
    if len(alive) >= 2 and f.server_rps > 0:
        shares = sorted(w.share for w in alive)
        if (shares[0] > 0 and shares[-1] / shares[0] >= IMBALANCE) or shares[0] == 0:
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
