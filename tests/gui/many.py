"""Snapshots with many workers whose series differ (the per-worker views' tests and screenshots)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.scenario import Scenario, WorkerClass
from tests.gui.fakes import make_snapshot


def many_workers(count: int, *, t: float = 60.0, worker_class: WorkerClass = "uvicorn") -> Snapshot:
    """``count`` workers from pid 41001 with spread-out CPU and lag; the last one runs hot."""
    pids = tuple(41001 + i for i in range(count))
    snap = make_snapshot(t=t, pids=pids)
    s = snap.series
    n = len(s.t)
    rng = np.random.default_rng(count)
    cpu = {"master": np.full(n, 0.5), "load": np.full(n, 60.0), "gui": np.full(n, 40.0)}
    lag = {}
    for i, pid in enumerate(pids):
        hot = 3.0 if i == count - 1 and count > 2 else 1.0
        cpu[f"worker {pid}"] = np.clip(hot * (10 + 2 * i + rng.normal(0, 2, n)), 0, None)
        lag[pid] = np.clip(hot * (2 + 0.2 * i + rng.normal(0, 0.3, n)), 0, None)
    scenario = snap.scenario
    if worker_class != "uvicorn":  # WSGI: Flask on gunicorn's own workers
        scenario = Scenario(workers=count, server="gunicorn", framework="flask", worker_class=worker_class)
    return replace(snap, scenario=scenario, series=replace(s, cpu=cpu, loop_lag_ms=lag))
