"""Soak: does any process grow while the Lab runs at the load ceiling for a long time?

A real Lab in this process (collector thread, metrics, snapshots at 20 Hz: what the GUI process runs,
without the widgets) drives the load ceiling of bench/gui_frames.py: 2,000 closed-loop users on
`/io/async?ms=0`, 2 uvicorn workers. Every ``--every`` seconds it samples the RSS of every process: this
one (the Lab), the master, each worker and the load process. At the end it prints, per process, RSS at
start, at the start of the last stretch (the last 5 minutes by default) and at the end, and the growth
over that last stretch; the target is < 5 % there. The first minutes are warm-up by design (the plots'
series fill for SERIES_HISTORY_S, allocators reach their working set), which is why growth is judged
over the last stretch only.

``--tracemalloc`` also diffs Python allocations in this process between the start of the last stretch
and the end (top 15 lines by growth): what grows, and where it was allocated. It slows the Lab a little.

    .venv/bin/python bench/soak.py [--minutes 10] [--last 5] [--every 5] [--tracemalloc] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import tracemalloc
from dataclasses import dataclass, field

import psutil

from asgiscope.server.lab.session import Lab
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario

TARGET_GROWTH = 0.05
SCENARIO = Scenario(server="uvicorn", workers=2)
LOAD = LoadSpec(endpoint="io/async", ms=0, users=2000)


@dataclass(slots=True)
class Track:
    """RSS samples of one process, by role; a worker that is replaced ends one track, starts another."""

    role: str
    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)  # (t s, rss MB)

    def at(self, t: float) -> float:
        """RSS at the first sample at or after ``t`` (the last one if none)."""
        for ts, mb in self.samples:
            if ts >= t:
                return mb
        return self.samples[-1][1]


def rss_mb(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).memory_info().rss) / 1e6
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def roles(lab: Lab) -> dict[int, str]:
    snap = lab.snapshot()
    out = {os.getpid(): "lab"}
    for p in snap.processes:
        if p.role in ("master", "load"):
            out[p.pid] = p.role
    for w in snap.workers:
        if w.alive:
            out[w.pid] = f"worker {w.pid}"
    return out


async def soak(minutes: float, last_min: float, every_s: float, trace: bool) -> dict[str, object]:
    tracks: dict[int, Track] = {}
    total_s, last_s = minutes * 60.0, min(last_min, minutes) * 60.0
    before = None
    rates: list[float] = []
    async with Lab(SCENARIO, LOAD) as lab:
        await lab.start_load()
        t0 = time.monotonic()
        while (t := time.monotonic() - t0) < total_s:
            for pid, role in roles(lab).items():
                mb = rss_mb(pid)
                if mb is not None:
                    tracks.setdefault(pid, Track(role, pid)).samples.append((t, mb))
            rates.append(lab.snapshot().client_rps)
            if trace and before is None and t >= total_s - last_s:
                before = tracemalloc.take_snapshot()
            await asyncio.sleep(every_s)
        snap = lab.snapshot()
        after = tracemalloc.take_snapshot() if trace else None
        await lab.stop_load()
    stretch_from = total_s - last_s
    rows = []
    for tr in tracks.values():
        if not tr.samples or tr.samples[-1][0] < stretch_from:
            continue  # a process that ended before the last stretch (a replaced worker)
        start, mid, end = tr.samples[0][1], tr.at(stretch_from), tr.samples[-1][1]
        rows.append(
            {
                "role": tr.role,
                "pid": tr.pid,
                "start_mb": start,
                "stretch_start_mb": mid,
                "end_mb": end,
                "growth_last": (end - mid) / mid if mid else 0.0,
            }
        )
    report: dict[str, object] = {
        "minutes": minutes,
        "last_minutes": last_s / 60.0,
        "scenario": SCENARIO.to_dict(),
        "load": {"endpoint": LOAD.endpoint, "ms": LOAD.ms, "users": LOAD.users},
        "client_rps_median": sorted(rates)[len(rates) // 2] if rates else 0.0,
        "client_requests": snap.requests,
        "server_rps_last": snap.server_rps,
        "telemetry": {"received": snap.telemetry.received, "lost": snap.telemetry.lost},
        "load_average_1min": os.getloadavg()[0],
        "processes": rows,
    }
    if before is not None and after is not None:
        top = after.compare_to(before, "lineno")[:15]
        report["tracemalloc_top"] = [str(s) for s in top]
    return report


def print_report(report: dict[str, object]) -> None:
    last = report["last_minutes"]
    print(f"soak: {report['minutes']} min at {report['load']} on {report['scenario']}")
    print(
        f"client req/s median {report['client_rps_median']:,.0f}, "
        f"{report['client_requests']:,} requests, telemetry {report['telemetry']}, "
        f"1-min load average at the end {report['load_average_1min']:.1f}"
    )
    print(f"{'process':<16} {'start MB':>9} {'-' + str(last) + ' min MB':>12} {'end MB':>8} {'growth':>8}")
    worst = 0.0
    rows = report["processes"]
    assert isinstance(rows, list)
    for r in rows:
        worst = max(worst, r["growth_last"])
        print(
            f"{r['role']:<16} {r['start_mb']:>9.1f} {r['stretch_start_mb']:>12.1f} "
            f"{r['end_mb']:>8.1f} {r['growth_last']:>+8.1%}"
        )
    verdict = "within" if worst < TARGET_GROWTH else "ABOVE"
    print(f"worst growth over the last {last} min: {worst:+.1%} ({verdict} the {TARGET_GROWTH:.0%} target)")
    for line in report.get("tracemalloc_top", []):  # type: ignore[attr-defined]
        print("  ", line)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    p.add_argument("--last", type=float, default=5.0, help="judge growth over the last N minutes (default 5)")
    p.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples (default 5)")
    p.add_argument("--tracemalloc", action="store_true", help="diff Python allocations in the Lab process")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    ns = p.parse_args()
    if ns.minutes <= 0 or ns.last <= 0 or ns.every <= 0:
        p.error("--minutes, --last and --every must be above 0")
    if ns.tracemalloc:
        tracemalloc.start(10)
    report = asyncio.run(soak(ns.minutes, ns.last, ns.every, ns.tracemalloc))
    print_report(report)
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
