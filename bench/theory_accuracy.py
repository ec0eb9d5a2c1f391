"""Measured vs predicted throughput, one run, side by side: the canonical I/O scenarios, then a sweep of
users from 10 to 2,000 at small handler times (/hello, io/async 1 and 5 ms: 2 workers, raw engine), where
the CPU costs per request and their fall with the rate decide the prediction.

Target: every ratio within 5 % of 1. ``--repeat`` runs each case again and prints the spread.
Usage: python bench/theory_accuracy.py [--duration 8] [--only canonical|sweep] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio

from quiet import Others, wait_for_quiet

from asgiscope.server.lab.session import Lab
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario

CASES: list[tuple[str, Scenario, LoadSpec]] = [
    ("async io, 1 worker, 100 users x 100 ms", Scenario(workers=1), LoadSpec("io/async", 100, users=100)),
    ("async io, 2 workers, 400 users x 100 ms", Scenario(workers=2), LoadSpec("io/async", 100, users=400)),
    (
        "sync io, 1 worker, 8 tokens, 100 users",
        Scenario(workers=1, tokens=8),
        LoadSpec("io/sync", 100, users=100),
    ),
    ("sync io, 2 workers, 40 tokens, 50 users", Scenario(workers=2), LoadSpec("io/sync", 100, users=50)),
    ("blocking io, 2 workers, 20 users", Scenario(workers=2), LoadSpec("io/blocking", 100, users=20)),
    ("blocking io, 4 workers, 20 users", Scenario(workers=4), LoadSpec("io/blocking", 100, users=20)),
    ("open loop 300/s, async io 50 ms", Scenario(workers=1), LoadSpec("io/async", 50, mode="open", rate=300)),
]


SWEEP_USERS = (10, 50, 200, 1000, 2000)
SWEEP: list[tuple[str, Scenario, LoadSpec]] = [
    (f"{label}, {users} users", Scenario(workers=2), LoadSpec(endpoint, ms, users=users))
    for label, endpoint, ms in (
        ("hello", "hello", 0),
        ("io/async 1 ms", "io/async", 1),
        ("io/async 5 ms", "io/async", 5),
    )
    for users in SWEEP_USERS
]


async def measure(
    scenario: Scenario, load: LoadSpec, warmup: float, duration: float
) -> tuple[float, float, float, float]:
    """Measured and predicted req/s, the speed factor, and the cores other processes used meanwhile."""
    async with Lab(scenario, load) as lab:
        await lab.start_load()
        await asyncio.sleep(warmup)
        first = lab.snapshot()
        others = Others([p.pid for p in first.processes])
        await asyncio.sleep(duration)
        last = lab.snapshot()
        busy = others.cores()
        assert last.prediction is not None
        measured = (last.requests - first.requests) / (last.t - first.t)
        return measured, last.prediction.throughput_rps, last.prediction.cpu_speed, busy


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--only", choices=("canonical", "sweep"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--quiet", type=float, default=0.0, help="wait for others to use < this many cores")
    ap.add_argument("--retries", type=int, default=3, help="re-run a case others disturbed")
    args = ap.parse_args()
    cases = (CASES if args.only != "sweep" else []) + (SWEEP if args.only != "canonical" else [])
    print(
        f"{'scenario':44}{'measured':>10}{'predicted':>11}{'ratio':>8}{'spread':>14}{'others':>8}{'speed':>7}"
    )
    worst = 0.0
    for name, scenario, load in cases:
        ratios: list[float] = []
        busiest = 0.0
        for _ in range(args.repeat):
            for _attempt in range(args.retries + 1):
                if args.quiet:
                    await wait_for_quiet(args.quiet)
                measured, predicted, speed, busy = await measure(scenario, load, args.warmup, args.duration)
                if not args.quiet or busy < args.quiet:
                    break
            ratios.append(measured / predicted)
            busiest = max(busiest, busy)
        ratio = sorted(ratios)[len(ratios) // 2]  # the median run
        worst = max(worst, abs(ratio - 1))
        spread = f"{min(ratios):.3f}-{max(ratios):.3f}" if len(ratios) > 1 else ""
        print(
            f"{name:44}{ratio * predicted:>10,.1f}{predicted:>11,.1f}{ratio:>8.3f}{spread:>14}"
            f"{busiest:>8.2f}{speed:>7.2f}",
            flush=True,
        )
    print(f"worst deviation: {worst * 100:.1f}% (target <= 5%) -> {'OK' if worst <= 0.05 else 'MISSED'}")
    print("others: cores used by other processes while measuring (worst run); speed: calibrate.py factor")


if __name__ == "__main__":
    asyncio.run(main())
