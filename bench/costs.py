"""The CPU costs per request that server/theory.py's ``Costs`` holds, fitted here, beside the speed score.

Each case runs a real scenario through the Lab and divides CPU seconds (psutil, per process) by
requests: the workers' CPU by the server's requests, the load process's by the client's, this
process's (the Lab's collector) by the server's. CPU per request falls as the rate rises (a process
that wakes for every request pays for each wake-up; a busy one serves many per wake-up), so every
kind of process is measured at several rates and fitted to theory.py's curve
``c(x) = (busy + wake) / (1 + wake * x)`` (x: that process's requests per second) by a straight line
through ``1 / c`` against ``x``. The fixed work of ``server/calibrate.py`` is timed in the same run,
so the printed costs and ``REFERENCE_WORK_S`` belong together. Usage:
python bench/costs.py [--duration 5] [--repeat 3] [--priority] [--quiet CORES] [--only NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

import psutil
from quiet import Others, boost, cpu_seconds, start_load, wait_for_quiet

from asgiscope.server.calibrate import work_seconds
from asgiscope.server.lab.session import Lab
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario


@dataclass
class Cost:
    server_us: float  # worker CPU per server request
    client_us: float  # load process CPU per client request
    lab_us: float  # this process's CPU per server request
    rps: float  # client requests per second
    workers: int
    others: float  # cores other processes used meanwhile
    predicted_rps: float = float("nan")  # the Lab's prediction at the end


async def measure(
    scenario: Scenario, load: LoadSpec, warmup: float, duration: float, priority: bool = False
) -> Cost:
    me = psutil.Process()
    async with Lab(scenario, load) as lab:
        await start_load(lab, priority)
        await asyncio.sleep(warmup)
        first = lab.snapshot()
        workers = [w.pid for w in first.workers if w.alive]
        loaders = [p.pid for p in first.processes if p.role == "load"]
        w0, l0, m0, t0 = cpu_seconds(workers), cpu_seconds(loaders), me.cpu_times(), time.monotonic()
        others = Others([p.pid for p in first.processes])
        await asyncio.sleep(duration)
        busy = others.cores()
        last = lab.snapshot()
        w1, l1, m1, t1 = cpu_seconds(workers), cpu_seconds(loaders), me.cpu_times(), time.monotonic()
    served = max(1, last.server_requests - first.server_requests)
    answered = max(1, last.requests - first.requests)
    mine = (m1.user + m1.system) - (m0.user + m0.system)
    return Cost(
        (w1 - w0) / served * 1e6,
        (l1 - l0) / answered * 1e6,
        mine / served * 1e6,
        answered / (t1 - t0),
        len(workers),
        busy,
        last.prediction.throughput_rps if last.prediction is not None else float("nan"),
    )


W2, HT = Scenario(workers=2), Scenario(workers=2, http="httptools")


def closed(endpoint: str, ms: int, users: int, engine: str = "raw") -> LoadSpec:
    return LoadSpec(endpoint, ms, users=users, engine=engine)  # type: ignore[arg-type]


def opened(endpoint: str, ms: int, rate: float) -> LoadSpec:
    return LoadSpec(endpoint, ms, mode="open", rate=rate)  # type: ignore[arg-type]


# Each case is "alone" (a few users: a process mostly sleeps between requests, so a request finds it
# asleep with probability 1 - its CPU fraction) or "queued" (many users: requests wait at every process,
# none sleeps, so the wake part vanishes), and feeds curves: "server:<kind>", "client:<engine>", "open".
CASES: dict[str, tuple[Scenario, LoadSpec, str, tuple[str, ...]]] = {
    "hello open 600": (W2, opened("hello", 0, 600), "alone", ("open",)),
    "hello 1 user": (W2, closed("hello", 0, 1), "alone", ("server:h11", "client:raw", "lab")),
    "hello 200 users": (W2, closed("hello", 0, 200), "queued", ("server:h11", "client:raw", "lab")),
    "io/async 5 ms 4 users": (
        W2,
        closed("io/async", 5, 4),
        "alone",
        ("server:io/async", "client:raw", "lab"),
    ),
    "io/async 5 ms 400 users": (
        W2,
        closed("io/async", 5, 400),
        "queued",
        ("server:io/async", "client:raw", "lab"),
    ),
    "httptools 1 user": (HT, closed("hello", 0, 1), "alone", ("server:httptools",)),
    "httptools 200 users": (HT, closed("hello", 0, 200), "queued", ("server:httptools",)),
    "io/sync 10 ms 4 users": (W2, closed("io/sync", 10, 4), "alone", ("server:io/sync",)),
    "io/sync 10 ms 200 users": (W2, closed("io/sync", 10, 200), "queued", ("server:io/sync",)),
    "io/blocking 1 ms 20 users": (W2, closed("io/blocking", 1, 20), "queued", ("server:io/blocking",)),
    "aiohttp 1 user": (HT, closed("hello", 0, 1, "aiohttp"), "alone", ("client:aiohttp",)),
    "aiohttp 200 users": (HT, closed("hello", 0, 200, "aiohttp"), "queued", ("client:aiohttp",)),
    "httpx 1 user": (W2, closed("hello", 0, 1, "httpx"), "alone", ("client:httpx",)),
    "httpx 50 users": (W2, closed("hello", 0, 50, "httpx"), "queued", ("client:httpx",)),
}


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(busy, wake) in µs from (share of requests that found the process asleep, µs per request)."""
    if len(points) == 1:
        return points[0][1], 0.0
    xs = [p for p, _ in points]
    ys = [c for _, c in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return my - slope * mx, slope


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--only", action="append", help="run only these cases (repeatable)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per case: the least CPU per request counts")
    ap.add_argument("--priority", action="store_true", help="run before other sessions (root, Linux)")
    ap.add_argument("--quiet", type=float, default=0.0, help="wait for others to use < this many cores")
    args = ap.parse_args()
    before = work_seconds()
    print(f"{'case':28}{'req/s':>9}{'server us':>11}{'client us':>11}{'lab us':>9}{'others':>8}")
    got: dict[str, Cost] = {}
    for name, (scenario, load, _, _) in CASES.items():
        if args.only and name not in args.only:
            continue
        if args.quiet:
            await wait_for_quiet(args.quiet)
        runs = [
            await measure(scenario, load, args.warmup, args.duration, args.priority)
            for _ in range(args.repeat)
        ]
        # Other processes only ever add CPU per request (cold caches, preemption): the least is the truest.
        got[name] = c = Cost(
            min(r.server_us for r in runs),
            min(r.client_us for r in runs),
            min(r.lab_us for r in runs),
            max(r.rps for r in runs),
            runs[0].workers,
            max(r.others for r in runs),
        )
        print(
            f"{name:28}{c.rps:>9,.0f}{c.server_us:>11.1f}{c.client_us:>11.1f}{c.lab_us:>9.1f}{c.others:>8.2f}",
            flush=True,
        )
    after = work_seconds()

    def points(curve: str) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for name, c in got.items():
            _, _, regime, feeds = CASES[name]
            if curve not in feeds:
                continue
            kind = curve.split(":")[0]
            rate = c.rps / c.workers if kind == "server" else c.rps
            us = {"server": c.server_us, "client": c.client_us, "lab": c.lab_us}[kind]
            asleep = max(0.0, 1.0 - rate * us * 1e-6) if regime == "alone" else 0.0
            out.append((asleep, us))
        return out

    print("\nFitted for server/theory.py: Cpu(busy µs, wake µs), c = busy + wake x P(asleep):")
    h11 = fit(points("server:h11")) if points("server:h11") else (0.0, 0.0)
    for curve in ("server:h11", "server:httptools", "client:raw", "client:aiohttp", "client:httpx", "lab"):
        if points(curve):
            busy, wake = fit(points(curve))
            print(f"  {curve:18} busy {busy:6.1f}  wake {wake:6.1f}")
    for ep in ("io/async", "io/sync", "io/blocking"):
        if points("server:" + ep):
            busy, wake = fit(points("server:" + ep))
            print(f"  endpoint {ep:9} busy {busy - h11[0]:+6.1f}  wake {wake - h11[1]:+6.1f}")
    if points("client:raw") and "hello open 600" in got:
        busy, wake = fit(points("client:raw"))
        c = got["hello open 600"]
        closed_us = (busy + wake) / (1 + wake * 1e-6 * c.rps)
        print(f"  open loop extra: {c.client_us - closed_us:+.1f}")
    print(f"REFERENCE_WORK_S: {before * 1e3:.3f} ms before, {after * 1e3:.3f} ms after")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    finally:
        boost([os.getpid()], 0)  # our session is the shell's too: give back its priority
