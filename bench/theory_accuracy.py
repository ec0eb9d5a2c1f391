"""Measured vs predicted throughput for the canonical I/O scenarios, one run, side by side.

Target: every ratio within 5 % of 1. Usage: python bench/theory_accuracy.py [--duration 8]
"""

from __future__ import annotations

import argparse
import asyncio

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


async def measure(scenario: Scenario, load: LoadSpec, warmup: float, duration: float) -> tuple[float, float]:
    async with Lab(scenario, load) as lab:
        await lab.start_load()
        await asyncio.sleep(warmup)
        first = lab.snapshot()
        await asyncio.sleep(duration)
        last = lab.snapshot()
        assert last.prediction is not None
        return (last.requests - first.requests) / (last.t - first.t), last.prediction.throughput_rps


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    args = ap.parse_args()
    print(f"{'scenario':44}{'measured':>10}{'predicted':>11}{'ratio':>8}")
    worst = 0.0
    for name, scenario, load in CASES:
        measured, predicted = await measure(scenario, load, args.warmup, args.duration)
        ratio = measured / predicted
        worst = max(worst, abs(ratio - 1))
        print(f"{name:44}{measured:>10,.1f}{predicted:>11,.1f}{ratio:>8.3f}", flush=True)
    print(f"worst deviation: {worst * 100:.1f}% (target <= 5%) -> {'OK' if worst <= 0.05 else 'MISSED'}")


if __name__ == "__main__":
    asyncio.run(main())
