"""What uvloop and httptools really buy, measured side by side on one worker, beside the prediction.

asyncio + h11 (uvicorn's pure-Python defaults), httptools alone, uvloop alone, and uvloop + httptools
(``uvicorn[standard]``), at ``/hello`` (parsing and the loop are all the work) and at ``io/async`` with
many users (timers and many connections). One worker, so it saturates its core while the load generator
has the other. The four run in alternating rounds so each sees the same machine; the median round counts.
Printed: throughput, worker CPU per request, both as a factor over asyncio + h11, and the prediction.
Usage: python bench/loops.py [--rounds 3] [--duration 4] [--priority]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics

from costs import measure
from quiet import boost

from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario

COMBOS: list[tuple[str, Scenario]] = [
    ("asyncio + h11", Scenario(workers=1)),
    ("asyncio + httptools", Scenario(workers=1, http="httptools")),
    ("uvloop + h11", Scenario(workers=1, loop="uvloop")),
    ("uvloop + httptools", Scenario(workers=1, loop="uvloop", http="httptools")),
]
LOADS: list[tuple[str, LoadSpec]] = [
    ("/hello, 50 users", LoadSpec("hello", 0, users=50)),
    ("io/async 5 ms, 500 users", LoadSpec("io/async", 5, users=500)),
]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=4.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--priority", action="store_true", help="run before other sessions (root, Linux)")
    args = ap.parse_args()
    for load_name, load in LOADS:
        runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name, _ in COMBOS}
        for _ in range(args.rounds):
            for name, scenario in COMBOS:
                c = await measure(scenario, load, args.warmup, args.duration, args.priority)
                runs[name].append((c.rps, c.server_us, c.predicted_rps, c.others))
        print(f"\n{load_name}, 1 worker ({args.rounds} rounds, median)")
        print(f"{'':22}{'req/s':>9}{'x':>7}{'µs/req':>9}{'x':>7}{'predicted':>11}{'ratio':>7}{'others':>8}")
        base_rps = statistics.median(r[0] for r in runs["asyncio + h11"])
        base_us = statistics.median(r[1] for r in runs["asyncio + h11"])
        for name, _ in COMBOS:
            rps = statistics.median(r[0] for r in runs[name])
            us = statistics.median(r[1] for r in runs[name])
            pred = statistics.median(r[2] for r in runs[name])
            others = statistics.median(r[3] for r in runs[name])
            print(
                f"{name:22}{rps:>9,.0f}{rps / base_rps:>7.2f}{us:>9.1f}{base_us / us:>7.2f}"
                f"{pred:>11,.0f}{rps / pred:>7.3f}{others:>8.2f}",
                flush=True,
            )


if __name__ == "__main__":
    try:
        asyncio.run(main())
    finally:
        boost([os.getpid()], 0)
