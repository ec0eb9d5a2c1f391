"""Soak: does any process grow while the load ceiling runs for a long time?

The load ceiling of bench/gui_frames.py: 2,000 closed-loop users on `/io/async?ms=0`, 2 uvicorn workers.
By default a real Lab runs in this process (collector thread, metrics, snapshots at 20 Hz: what the GUI
process runs, without the widgets); ``--gui`` runs the real app offscreen instead (the Lab plus Qt and the
plots) and samples it from outside. Every ``--every`` seconds it samples the RSS of every process: the
Lab (or GUI) process, the master, each worker and the load process. At the end it prints, per process,
RSS at start, at the start of the last stretch (the last 5 minutes by default) and at the end, and the
growth over that last stretch; the target is < 5 % there. The first minutes are warm-up by design (the
plots' series fill for SERIES_HISTORY_S, allocators reach their working set), which is why growth is
judged over the last stretch only.

``--tracemalloc`` (Lab mode) also diffs Python allocations in this process between the start of the last
stretch and the end (top 15 lines by growth): what grows, and where it was allocated. It slows the Lab.

    .venv/bin/python bench/soak.py [--minutes 10] [--last 5] [--every 5] [--gui] [--tracemalloc] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from procs import reap

from asgiscope.server.lab.session import Lab
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
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


def app_roles(app: psutil.Process) -> dict[int, str]:
    """The app's tree from outside: the app, its load process, the master and the master's workers."""
    out = {app.pid: "gui"}
    try:
        for child in app.children():
            cmd = " ".join(child.cmdline())
            if "asgiscope.server.load" in cmd:
                out[child.pid] = "load"
            elif "asgiscope.server.launch" in cmd:
                out[child.pid] = "master"
                for worker in child.children():
                    # uvicorn's workers are spawned: multiprocessing starts its resource tracker too
                    tracker = "resource_tracker" in " ".join(worker.cmdline())
                    out[worker.pid] = "mp tracker" if tracker else f"worker {worker.pid}"
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        pass
    return out


@dataclass(slots=True)
class Sampler:
    total_s: float
    last_s: float
    every_s: float
    tracks: dict[int, Track] = field(default_factory=dict)

    def sample(self, t: float, roles: dict[int, str]) -> None:
        for pid, role in roles.items():
            mb = rss_mb(pid)
            if mb is not None:
                self.tracks.setdefault(pid, Track(role, pid)).samples.append((t, mb))

    def rows(self) -> list[dict[str, object]]:
        stretch_from = self.total_s - self.last_s
        rows: list[dict[str, object]] = []
        for tr in self.tracks.values():
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
        return rows


async def soak_lab(s: Sampler, trace: bool) -> dict[str, object]:
    before = None
    rates: list[float] = []
    async with Lab(SCENARIO, LOAD) as lab:
        await lab.start_load()
        t0 = time.monotonic()
        while (t := time.monotonic() - t0) < s.total_s:
            s.sample(t, roles(lab))
            rates.append(lab.snapshot().client_rps)
            if trace and before is None and t >= s.total_s - s.last_s:
                before = tracemalloc.take_snapshot()
            await asyncio.sleep(s.every_s)
        snap = lab.snapshot()
        after = tracemalloc.take_snapshot() if trace else None
        await lab.stop_load()
    report: dict[str, object] = {
        "client_rps_median": sorted(rates)[len(rates) // 2] if rates else 0.0,
        "client_requests": snap.requests,
        "telemetry": {"received": snap.telemetry.received, "lost": snap.telemetry.lost},
    }
    if before is not None and after is not None:
        report["tracemalloc_top"] = [str(d) for d in after.compare_to(before, "lineno")[:15]]
    return report


def soak_gui(s: Sampler) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
        cmd = [
            sys.executable, "-m", "asgiscope", "--autostart", "--reset",
            "--settings", str(Path(tmp) / "settings.ini"), "--quit-after", str(s.total_s + 5.0),
            "--users", str(LOAD.users), "--ms", str(LOAD.ms), "--workers", str(SCENARIO.workers),
            "--server", SCENARIO.server, "--handler", "await", "--work", "io", "--mode", "closed",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            app = psutil.Process(proc.pid)
            t0 = time.monotonic()
            while (t := time.monotonic() - t0) < s.total_s and proc.poll() is None:
                s.sample(t, app_roles(app))
                time.sleep(s.every_s)
            proc.wait(timeout=60)
        finally:
            reap(proc)
    if proc.returncode != 0:
        raise SystemExit(f"the app exited {proc.returncode}")
    return {}


def soak(minutes: float, last_min: float, every_s: float, *, gui: bool, trace: bool) -> dict[str, object]:
    s = Sampler(minutes * 60.0, min(last_min, minutes) * 60.0, every_s)
    extra = soak_gui(s) if gui else asyncio.run(soak_lab(s, trace))
    return {
        "mode": "gui" if gui else "lab",
        "minutes": minutes,
        "last_minutes": s.last_s / 60.0,
        "scenario": SCENARIO.to_dict(),
        "load": {"endpoint": LOAD.endpoint, "ms": LOAD.ms, "users": LOAD.users},
        "load_average_1min": os.getloadavg()[0],
        **extra,
        "processes": s.rows(),
    }


def print_report(report: dict[str, object]) -> None:
    last = report["last_minutes"]
    print(f"soak ({report['mode']}): {report['minutes']} min at {report['load']} on {report['scenario']}")
    if "client_rps_median" in report:
        print(
            f"client req/s median {report['client_rps_median']:,.0f}, "
            f"{report['client_requests']:,} requests, telemetry {report['telemetry']}"
        )
    print(f"1-min load average at the end {report['load_average_1min']:.1f}")
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
    p.add_argument(
        "--gui", action="store_true", help="soak the real app (offscreen) instead of a Lab in here"
    )
    p.add_argument("--tracemalloc", action="store_true", help="diff Python allocations in the Lab process")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    ns = p.parse_args()
    if ns.minutes <= 0 or ns.last <= 0 or ns.every <= 0:
        p.error("--minutes, --last and --every must be above 0")
    if ns.gui and ns.tracemalloc:
        p.error("--tracemalloc sees this process only: not with --gui")
    if ns.tracemalloc:
        tracemalloc.start(10)
    report = soak(ns.minutes, ns.last, ns.every, gui=ns.gui, trace=ns.tracemalloc)
    if ns.json:  # first: a long run's figures survive a mistake in printing them
        with open(ns.json, "w") as f:
            json.dump(report, f, indent=2)
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
