"""The scaling sweep: workers 1, 2, 4, 8, 16, 32 at ``/hello`` and at ``io/async``, measured beside
predicted at each step, through the Lab (workers scale live, as the app's slider does).

Per step: client throughput over the measured seconds, the prediction and its limit, the load
processes the Lab ran (``--load-processes``, default auto: as many as the client bound needs) and their
CPU, the cores other processes used meanwhile (bench/quiet.py) and the machine's load average.
On a machine with fewer cores than workers the steps past the cores show that more workers do not
help; the load side is where a machine with many cores would bind first (issue 12).

    .venv/bin/python bench/scaling.py [--warmup 3] [--duration 5] [--workers 1,2,4,8,16,32]
        [--hello-users 200] [--io-users 500] [--io-ms 5] [--load-processes auto|N] [--only hello|io]
        [--priority]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass

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
            others = Others([p.pid for p in first.processes])
            await asyncio.sleep(duration)
            busy = others.cores()
            last = lab.snapshot()
            w1, l1, t1 = cpu_seconds(wpids), cpu_seconds(lpids), time.monotonic()
            dt = t1 - t0
            p = last.prediction
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
                )
            )
            print(_row(steps[-1]), flush=True)
    return steps


HEADER = (
    f"{'case':<18}{'workers':>8}{'measured':>10}{'predicted':>10}{'ratio':>7}  {'limit':<8}"
    f"{'load procs':>10}{'client':>8}{'server':>8}{'others':>8}{'loadavg':>8}"
)


def _row(s: Step) -> str:
    ratio = s.measured_rps / s.predicted_rps if s.predicted_rps else float("nan")
    return (
        f"{s.case:<18}{s.workers:>8}{s.measured_rps:>10,.0f}{s.predicted_rps:>10,.0f}{ratio:>7.2f}"
        f"  {s.limit:<8}"
        f"{s.load_processes:>10}{s.client_cores:>8.2f}{s.server_cores:>8.2f}{s.others_cores:>8.2f}"
        f"{s.loadavg_1m:>8.2f}"
    )


async def main(args: argparse.Namespace) -> None:
    workers = [int(w) for w in args.workers.split(",")]
    procs = LOAD_PROCESSES.parse("load_processes", args.load_processes)
    cases = {
        f"hello {args.hello_users} users": LoadSpec("hello", 0, users=args.hello_users, load_processes=procs),
        f"io/async {args.io_ms} ms {args.io_users}": LoadSpec(
            "io/async", args.io_ms, users=args.io_users, load_processes=procs
        ),
    }
    if args.only:
        cases = {name: load for name, load in cases.items() if name.startswith(args.only)}
    print(f"{os.cpu_count()} cores; load average at start {os.getloadavg()}", flush=True)
    print(HEADER, flush=True)
    steps = []
    for case, load in cases.items():
        steps += await sweep(case, load, workers, args.warmup, args.duration, args.priority)
    print(json.dumps([asdict(s) for s in steps]))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--workers", default="1,2,4,8,16,32")
    ap.add_argument("--hello-users", type=int, default=200)
    ap.add_argument("--io-users", type=int, default=500)
    ap.add_argument("--io-ms", type=int, default=5)
    ap.add_argument("--load-processes", default="auto")
    ap.add_argument("--only", default="", help="only the cases whose name starts with this (hello, io)")
    ap.add_argument("--priority", action="store_true", help="boost our processes' autogroups (root only)")
    asyncio.run(main(ap.parse_args()))
