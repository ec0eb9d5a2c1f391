"""The CPU costs per request that server/theory.py's ``Costs`` holds, measured here, beside the speed score.

Each case runs a real scenario through the Lab below the CPU knee and divides CPU seconds (psutil, per
process) by requests: the workers' CPU by the server's requests, the load process's by the client's, this
process's (the Lab's collector) by the server's. The fixed work of ``server/calibrate.py`` is timed in the
same run, so the printed costs and ``REFERENCE_WORK_S`` belong together. Usage:
python bench/costs.py [--duration 6]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

import psutil

from asgiscope.server.calibrate import work_seconds
from asgiscope.server.lab.session import Lab
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario


@dataclass
class Cost:
    server_us: float  # worker CPU per server request
    client_us: float  # load process CPU per client request
    lab_us: float  # this process's CPU per server request
    rps: float


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            continue
    return total


async def measure(scenario: Scenario, load: LoadSpec, warmup: float, duration: float) -> Cost:
    me = psutil.Process()
    async with Lab(scenario, load) as lab:
        await lab.start_load()
        await asyncio.sleep(warmup)
        first = lab.snapshot()
        workers = [w.pid for w in first.workers if w.alive]
        loaders = [p.pid for p in first.processes if p.role == "load"]
        w0, l0, m0, t0 = _cpu(workers), _cpu(loaders), me.cpu_times(), time.monotonic()
        await asyncio.sleep(duration)
        last = lab.snapshot()
        w1, l1, m1, t1 = _cpu(workers), _cpu(loaders), me.cpu_times(), time.monotonic()
    served = max(1, last.server_requests - first.server_requests)
    answered = max(1, last.requests - first.requests)
    mine = (m1.user + m1.system) - (m0.user + m0.system)
    return Cost((w1 - w0) / served * 1e6, (l1 - l0) / answered * 1e6, mine / served * 1e6, served / (t1 - t0))


CASES: list[tuple[str, Scenario, LoadSpec]] = [
    ("hello h11", Scenario(workers=1), LoadSpec("hello", 0, mode="open", rate=1500)),
    ("hello httptools", Scenario(workers=1, http="httptools"), LoadSpec("hello", 0, mode="open", rate=1500)),
    ("io/async 10 ms", Scenario(workers=1), LoadSpec("io/async", 10, mode="open", rate=1500)),
    ("io/sync 10 ms", Scenario(workers=1), LoadSpec("io/sync", 10, mode="open", rate=1500)),
    ("io/blocking 1 ms", Scenario(workers=1), LoadSpec("io/blocking", 1, mode="open", rate=300)),
    ("closed raw", Scenario(workers=2), LoadSpec("io/async", 20, users=40)),
    ("closed aiohttp", Scenario(workers=2), LoadSpec("io/async", 20, users=40, engine="aiohttp")),
    ("closed httpx", Scenario(workers=2), LoadSpec("io/async", 20, users=40, engine="httpx")),
    ("open raw", Scenario(workers=2), LoadSpec("io/async", 20, mode="open", rate=1500)),
]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=6.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    args = ap.parse_args()
    before = work_seconds()
    print(f"{'case':20}{'req/s':>9}{'server us':>11}{'client us':>11}{'lab us':>9}")
    got: dict[str, Cost] = {}
    for name, scenario, load in CASES:
        got[name] = c = await measure(scenario, load, args.warmup, args.duration)
        print(f"{name:20}{c.rps:>9,.0f}{c.server_us:>11.1f}{c.client_us:>11.1f}{c.lab_us:>9.1f}", flush=True)
    after = work_seconds()
    base = got["hello h11"].server_us
    print("\nCosts (µs) for server/theory.py:")
    print(f"  server: h11 {base:.0f}, httptools {got['hello httptools'].server_us:.0f}")
    for name, key in (("io/async", "io/async 10 ms"), ("io/sync", "io/sync 10 ms"), ("io/blocking", "io/blocking 1 ms")):
        print(f"  endpoint {name}: +{got[key].server_us - base:.0f}")
    for engine in ("raw", "aiohttp", "httpx"):
        print(f"  client {engine}: {got['closed ' + engine].client_us:.0f}")
    print(f"  open loop extra: {got['open raw'].client_us - got['closed raw'].client_us:.0f}")
    print(f"  lab: {got['hello h11'].lab_us:.0f}")
    print(f"REFERENCE_WORK_S: {before * 1e3:.3f} ms before, {after * 1e3:.3f} ms after")


if __name__ == "__main__":
    asyncio.run(main())
