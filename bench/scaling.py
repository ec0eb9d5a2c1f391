"""The scaling sweep: workers 1, 2, 4, 8, 16, 32 at ``/hello`` and at ``io/async``, measured beside
predicted at each step, through the Lab (workers scale live, as the app's slider does).

Per step: client throughput over the measured seconds, the prediction and its limit, the load
processes the Lab ran (``--load-processes``, default auto: as many as the client bound needs) and their
CPU, the cores other processes used meanwhile (bench/quiet.py) and the machine's load average; and why
throughput falls past the cores: worker and client CPU per request (psutil user+sys / responses) beside
the worker CPU the prediction counts, context switches per request (every thread's, from
/proc/PID/task/*/status: voluntary = went to sleep, involuntary = preempted) of the workers and of the
load processes, and the cores left idle.

With ``--gui`` each io/async step is run again through the real app (offscreen, bench/gui_frames.py's
``run``): its frame interval p99 and the GUI process's CPU at that worker count.
On a machine with fewer cores than workers the steps past the cores show that more workers do not
help; the load side is where a machine with many cores would bind first (issue 12).

    .venv/bin/python bench/scaling.py [--warmup 3] [--duration 5] [--workers 1,2,4,8,16,32]
        [--hello-users 200] [--io-users 500] [--io-ms 5] [--load-processes auto|N] [--only hello|io]
        [--priority] [--gui] [--gui-seconds 8]        (--only gui --gui: the app's steps alone)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from quiet import Others, cpu_seconds, start_load

from asgiscope.server.lab.session import Lab
from asgiscope.server.limits import LOAD_PROCESSES
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario


@dataclass
class Step:
    case: str
    workers: int
    measured_rps: float
    predicted_rps: float
    limit: str
    load_processes: int
    client_cores: float  # the load processes' CPU over the step, in cores (psutil)
    server_cores: float  # the workers'
    others_cores: float  # every other process on the machine
    loadavg_1m: float
    client_bound: str | None
    worker_us: float = 0.0  # worker CPU per response, µs
    predicted_worker_us: float = 0.0  # what the prediction counts (at saturation)
    client_us: float = 0.0  # load processes' CPU per response, µs
    worker_vcs: float = 0.0  # workers' voluntary context switches per response
    worker_ics: float = 0.0  # involuntary (preempted)
    client_vcs: float = 0.0
    client_ics: float = 0.0
    idle_cores: float = 0.0  # cores nobody used (idle + iowait)
    insight: str = ""  # the Lab's "Below prediction" line at the end of the step, if it said one


def ctx_switches(pids: list[int]) -> tuple[int, int]:
    """Voluntary and involuntary context switches of every thread of ``pids`` (psutil's
    num_ctx_switches reads the main thread's line only)."""
    vol = inv = 0
    for pid in pids:
        for status in Path(f"/proc/{pid}/task").glob("*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    vol += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    inv += int(line.split()[1])
    return vol, inv


def idle_seconds() -> float:
    t = psutil.cpu_times()
    return float(t.idle + getattr(t, "iowait", 0.0))


async def sweep(
    case: str, load: LoadSpec, workers: list[int], warmup: float, duration: float, priority: bool
) -> list[Step]:
    steps = []
    async with Lab(Scenario(workers=workers[0]), load) as lab:
        await start_load(lab, priority)
        for w in workers:
            if w != lab.scenario.workers:
                await lab.apply(Scenario(workers=w))
            await asyncio.sleep(warmup)
            first = lab.snapshot()
            wpids = [x.pid for x in first.workers if x.alive]
            lpids = [p.pid for p in first.processes if p.role == "load"]
            w0, l0, t0 = cpu_seconds(wpids), cpu_seconds(lpids), time.monotonic()
            wc0, lc0, i0 = ctx_switches(wpids), ctx_switches(lpids), idle_seconds()
            others = Others([p.pid for p in first.processes])
            await asyncio.sleep(duration)
            busy = others.cores()
            last = lab.snapshot()
            w1, l1, t1 = cpu_seconds(wpids), cpu_seconds(lpids), time.monotonic()
            wc1, lc1, i1 = ctx_switches(wpids), ctx_switches(lpids), idle_seconds()
            dt = t1 - t0
            p = last.prediction
            done = max(last.requests - first.requests, 1)
            steps.append(
                Step(
                    case=case,
                    workers=w,
                    measured_rps=round((last.requests - first.requests) / (last.t - first.t), 1),
                    predicted_rps=round(p.throughput_rps, 1) if p else float("nan"),
                    limit=p.limit if p else "",
                    load_processes=len(lpids),
                    client_cores=round((l1 - l0) / dt, 2),
                    server_cores=round((w1 - w0) / dt, 2),
                    others_cores=round(busy, 2),
                    loadavg_1m=round(os.getloadavg()[0], 2),
                    client_bound=last.client_bound.reason if last.client_bound else None,
                    worker_us=round((w1 - w0) / done * 1e6, 1),
                    predicted_worker_us=round(p.server_cpu_s * 1e6, 1) if p else float("nan"),
                    client_us=round((l1 - l0) / done * 1e6, 1),
                    worker_vcs=round((wc1[0] - wc0[0]) / done, 3),
                    worker_ics=round((wc1[1] - wc0[1]) / done, 3),
                    client_vcs=round((lc1[0] - lc0[0]) / done, 3),
                    client_ics=round((lc1[1] - lc0[1]) / done, 3),
                    idle_cores=round((i1 - i0) / dt, 2),
                    insight=next((x for x in last.insights if x.startswith("Below prediction")), ""),
                )
            )
            print(_row(steps[-1]), flush=True)
            if steps[-1].insight:
                print(f"{'':<18}{steps[-1].insight}", flush=True)
    return steps


HEADER = (
    f"{'case':<18}{'workers':>8}{'measured':>10}{'predicted':>10}{'ratio':>7}  {'limit':<8}"
    f"{'load procs':>10}{'client':>8}{'server':>8}{'others':>8}{'idle':>6}{'loadavg':>8}"
    f"{'w µs':>6}{'pred':>6}{'c µs':>6}{'w vcs':>7}{'w ics':>7}{'c vcs':>7}{'c ics':>7}"
)


def _row(s: Step) -> str:
    ratio = s.measured_rps / s.predicted_rps if s.predicted_rps else float("nan")
    return (
        f"{s.case:<18}{s.workers:>8}{s.measured_rps:>10,.0f}{s.predicted_rps:>10,.0f}{ratio:>7.2f}"
        f"  {s.limit:<8}"
        f"{s.load_processes:>10}{s.client_cores:>8.2f}{s.server_cores:>8.2f}{s.others_cores:>8.2f}"
        f"{s.idle_cores:>6.2f}{s.loadavg_1m:>8.2f}"
        f"{s.worker_us:>6.0f}{s.predicted_worker_us:>6.0f}{s.client_us:>6.0f}"
        f"{s.worker_vcs:>7.2f}{s.worker_ics:>7.2f}{s.client_vcs:>7.2f}{s.client_ics:>7.2f}"
    )


def gui_steps(
    workers: list[int], users: int, ms: int, seconds: float, warmup: float
) -> list[dict[str, float]]:
    """The io/async case through the real app at each worker count: frame interval p99 and GUI CPU
    (bench/gui_frames.py runs the app offscreen with --frame-stats and measures the steady part)."""
    from gui_frames import run  # the app and Qt only when asked for

    rows = []
    print(f"{'GUI io/async':<18}{'workers':>8}{'frame p50':>10}{'p99':>7}{'max':>7}{'GUI CPU %':>10}"
          f"{'busiest worker %':>17}{'loadavg':>8}", flush=True)  # fmt: skip
    for w in workers:
        r = run(users, ms, seconds, warmup, 60.0, w, ["--lab-hz", "20"])
        r |= {"workers": w, "loadavg_1m": round(os.getloadavg()[0], 2)}
        rows.append(r)
        print(
            f"{'':<18}{w:>8}{r['interval_p50_ms']:>10.1f}{r['interval_p99_ms']:>7.1f}{r['interval_max_ms']:>7.0f}"
            f"{r['gui_cpu_percent']:>10.1f}{r['worker_cpu_percent']:>17.1f}{r['loadavg_1m']:>8.2f}",
            flush=True,
        )
    return rows


async def main(args: argparse.Namespace) -> None:
    workers = [int(w) for w in args.workers.split(",")]
    procs = LOAD_PROCESSES.parse("load_processes", args.load_processes)
    cases = {
        f"hello {args.hello_users} users": LoadSpec("hello", 0, users=args.hello_users, load_processes=procs),
        f"io/async {args.io_ms} ms {args.io_users}": LoadSpec(
            "io/async", args.io_ms, users=args.io_users, load_processes=procs
        ),
    }
    if args.only:  # "gui": none of the Lab's cases, only the app's steps (with --gui)
        cases = {name: load for name, load in cases.items() if name.startswith(args.only)}
    print(f"{os.cpu_count()} cores; load average at start {os.getloadavg()}", flush=True)
    print(HEADER, flush=True)
    steps = []
    for case, load in cases.items():
        steps += await sweep(case, load, workers, args.warmup, args.duration, args.priority)
    print(json.dumps([asdict(s) for s in steps]))
    if args.gui:
        print(json.dumps(gui_steps(workers, args.io_users, args.io_ms, args.gui_seconds, args.warmup + 2)))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--workers", default="1,2,4,8,16,32")
    ap.add_argument("--hello-users", type=int, default=200)
    ap.add_argument("--io-users", type=int, default=500)
    ap.add_argument("--io-ms", type=int, default=5)
    ap.add_argument("--load-processes", default="auto")
    ap.add_argument("--only", default="", help="hello or io: only that case; gui: only --gui's app steps")
    ap.add_argument("--priority", action="store_true", help="boost our processes' autogroups (root only)")
    ap.add_argument(
        "--gui", action="store_true", help="then the io/async steps through the app: frame p99, GUI CPU"
    )
    ap.add_argument("--gui-seconds", type=float, default=8.0)
    asyncio.run(main(ap.parse_args()))
