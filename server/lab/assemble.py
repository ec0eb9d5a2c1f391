"""Assembling a Snapshot: the session's own facts plus what the metrics measured, judged in words."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from asgiscope.server.lab.insight import Figures, client_bound, insights
from asgiscope.server.lab.metrics import Metrics
from asgiscope.server.lab.procstats import ProcSampler
from asgiscope.server.lab.snapshot import (
    LabState,
    Marker,
    ProcessStats,
    Snapshot,
    Telemetry,
    TreeEvent,
    WorkerStats,
)
from asgiscope.server.launch.tree import TreeInfo
from asgiscope.server.limits import MARKER_HORIZON_S
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Prediction


@dataclass(frozen=True, slots=True)
class LabFacts:
    """What the Lab knows that the metrics do not."""

    t: float  # session seconds
    state: LabState
    message: str
    scenario: Scenario
    load: LoadSpec
    load_on: bool
    warm: bool  # the load has run longer than one window
    url: str
    info: TreeInfo | None
    load_pids: tuple[int, ...]  # the load processes, one or more
    telemetry: Telemetry
    prediction: Prediction
    events: tuple[TreeEvent, ...]
    dead: tuple[int, ...]  # workers that exited a moment ago: shown as dead for a while
    markers: tuple[Marker, ...]
    failures: tuple[TreeEvent, ...] = ()  # what died since the load was turned on
    cores: int = 0


def assemble(m: Metrics, procs: ProcSampler, now: float, s: LabFacts) -> Snapshot:
    client = m.client(now)
    info = s.info
    pids = list(info.worker_pids) if info else []
    m.forget_workers(set(pids))
    me = os.getpid()
    samples = procs.sample(([info.master_pid] if info else []) + pids + list(s.load_pids) + [me], now)
    workers = [
        replace(
            w,
            cpu_percent=samples[w.pid].cpu_percent,
            rss_mb=samples[w.pid].rss_mb,
            preempted_per_s=samples[w.pid].preempted_per_s,
        )
        for w in m.workers(now, pids)
    ]
    # A worker that just died stays visible (alive=False) so an audience sees it go and its replacement
    # come; it is appended after the measurements above, which cover living workers only.
    live = set(pids)
    gone = m.gone()
    served = {w.pid: w.requests for w in gone}
    workers += [
        WorkerStats(pid=pid, alive=False, requests=served.get(pid, 0))
        for pid in dict.fromkeys(s.dead)
        if pid not in live
    ]
    processes: list[ProcessStats] = []
    if info:
        ms = samples[info.master_pid]
        processes.append(ProcessStats("master", ms.pid, ms.cpu_percent, ms.rss_mb))
    processes += [ProcessStats("worker", w.pid, w.cpu_percent, w.rss_mb) for w in workers if w.alive]
    for load_pid in s.load_pids:
        ls = samples[load_pid]
        processes.append(ProcessStats("load", ls.pid, ls.cpu_percent, ls.rss_mb))
    processes.append(ProcessStats("gui", me, samples[me].cpu_percent, samples[me].rss_mb))

    server_rps = m.server_rps(now)
    figures = Figures(
        load=s.load,
        load_running=s.load_on,
        client_rps=client.rps,
        server_rps=server_rps,
        sent_rps=client.sent_rps,
        client_cpu_percent=client.cpu_percent,
        client_wait_percent=client.wait_percent,
        client_processes=client.per_process,
        overflow=client.overflow,
        prediction=s.prediction,
        workers=tuple(workers),
        warm=s.warm,
        failures=s.failures,
        window_s=m.window_s,
        cores=s.cores,
        gui_cpu_percent=samples[me].cpu_percent,
    )
    bound = client_bound(figures)
    if s.state not in ("idle", "stopped") and m.series.due(s.t):
        nan = float("nan")
        on = s.load_on
        m.series.record(
            s.t,
            {
                "client_rps": client.rps if on else nan,
                "server_rps": server_rps,
                "predicted_rps": s.prediction.throughput_rps if on else nan,
                "p50_ms": client.latency.p50_ms if on else nan,
                "p99_ms": client.latency.p99_ms if on else nan,
            },
            {_cpu_label(p, len(s.load_pids)): p.cpu_percent for p in processes},
            {w.pid: w.loop_lag_ms for w in workers if w.alive},
        )
    return Snapshot(
        t=s.t,
        state=s.state,
        message=s.message,
        scenario=s.scenario,
        load=s.load,
        load_running=s.load_on,
        url=s.url,
        client_rps=client.rps,
        window_s=m.window_s,
        latency=client.latency,
        latency_total=client.latency_total,
        requests=client.requests,
        errors=client.errors,
        in_flight=client.in_flight,
        overflow=client.overflow,
        client_cpu_percent=client.cpu_percent,
        client_wait_percent=client.wait_percent,
        server_rps=server_rps,
        server_requests=m.server_requests,
        prediction=s.prediction,
        client_bound=bound,
        insights=insights(figures, bound),
        master_pid=info.master_pid if info else 0,
        restarts=info.restarts if info else 0,
        workers=tuple(workers),
        gone=tuple(gone),
        processes=tuple(processes),
        events=s.events,
        telemetry=s.telemetry,
        markers=tuple(mk for mk in s.markers if mk.t >= s.t - MARKER_HORIZON_S),
        series=m.series.series(),
    )


def _cpu_label(p: ProcessStats, loads: int) -> str:
    """The CPU plot's series name: workers by pid, and load processes too when there are several."""
    if p.role == "worker" or (p.role == "load" and loads > 1):
        return f"{p.role} {p.pid}"
    return p.role
