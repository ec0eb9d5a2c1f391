"""``+1 worker`` until the new worker serves its share: connections kept forever beside the default churn.

For each case: one worker under load, then the Lab applies two (SIGTTIN, as the workers slider does),
and per-worker request counts are sampled every Lab tick (50 ms). Printed, counted from the scale
request: when the new worker served its first request (the worker's start: ~0.6 s on an idle machine,
seconds on a busy one), when its share over the last 0.5 s first reached 40 % (80 % of a fair half),
the time between the two (what connection churn decides), and the throughput over the 2 s before the
step beside the last 2 s watched. Target: share within 1 s of the worker's start with the default churn.
Usage: python bench/scale_step.py [--repeat 2] [--after 6]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics

from asgiscope.server.lab.session import Lab
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario

CASES: list[tuple[str, LoadSpec]] = [
    ("io/async 10 ms, 50 users", LoadSpec("io/async", 10, users=50)),
    ("cpu/async 5 ms, 8 users", LoadSpec("cpu/async", 5, users=8)),
]
WINDOW_S = 0.5
FAIR = 0.4


def _rate(a: Snapshot, b: Snapshot) -> float:
    return (b.requests - a.requests) / (b.t - a.t)


async def step(load: LoadSpec, after_s: float) -> tuple[float, float, float, float]:
    """(s to first request, s to 40 % share, req/s before, req/s after) for one scale step."""
    async with Lab(Scenario(workers=1), load) as lab:
        await lab.start_load()
        await asyncio.sleep(2.0)
        pre = lab.snapshot()
        await asyncio.sleep(2.0)
        at = lab.snapshot()
        old = {w.pid for w in at.workers}
        t0 = lab.now()
        await lab.apply(Scenario(workers=2))
        samples: list[tuple[float, dict[int, int], Snapshot]] = []
        while lab.now() - t0 < after_s:
            snap = lab.snapshot()
            samples.append((snap.t, {w.pid: w.requests for w in snap.workers if w.alive}, snap))
            await asyncio.sleep(1 / lab.hz)
    first = share = math.inf
    for i, (t, counts, _) in enumerate(samples):
        new = sum(n for pid, n in counts.items() if pid not in old)
        if new and first == math.inf:
            first = t - t0
        j = next((k for k in range(i, -1, -1) if t - samples[k][0] >= WINDOW_S), None)
        if j is None or share != math.inf:
            continue
        back = samples[j][1]
        done = {pid: n - back.get(pid, 0) for pid, n in counts.items()}
        total = sum(done.values())
        if total and sum(n for pid, n in done.items() if pid not in old) / total >= FAIR:
            share = t - t0
    later = [s for t, _, s in samples if t - t0 >= after_s - 2.0]
    return first, share, _rate(pre, at), _rate(later[0], later[-1]) if len(later) > 1 else math.nan


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--after", type=float, default=6.0, help="seconds watched after the step")
    args = ap.parse_args()
    print(
        f"{'case':26}{'connection':12}{'first req s':>12}{'40% share s':>12}{'ramp s':>8}"
        f"{'req/s before':>14}{'after':>8}"
    )
    for name, load in CASES:
        for connection in ("forever", "1s"):
            runs = [
                await step(load.with_changes(connection=connection), args.after) for _ in range(args.repeat)
            ]
            for first, share, before, after in runs:
                print(
                    f"{name:26}{connection:12}{first:>12.2f}{share:>12.2f}{share - first:>8.2f}"
                    f"{before:>14,.0f}{after:>8,.0f}",
                    flush=True,
                )
            ramp = statistics.median(r[1] - r[0] for r in runs)
            verdict = "never" if not math.isfinite(ramp) else f"{ramp:.2f} s (target < 1 s)"
            print(f"{'':26}{connection:12} median from first request to share: {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
