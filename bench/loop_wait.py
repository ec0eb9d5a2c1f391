"""How late an awaited sleep ends, against the connections its event loop serves (theory.timer_lateness_s).

For each case it measures the throughput (theory_accuracy's measure: warm-up, then the Lab's requests over
``--duration``) and solves for the timer lateness that makes the theory's prediction, at the speeds the
Lab measured, meet it. The law the theory uses (``timer_lateness_s``: connections per worker and sleep
length) is printed beside it. Near the CPU knee the prediction hardly moves with the lateness, so a small
error in the throughput there reads as a large one here ("knee" in the last column, capped at 8 ms).

Usage: python bench/loop_wait.py [--duration 5] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os

from quiet import boost
from theory_accuracy import measure

from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Costs, predict, sleep_lateness_s

# (sleep ms, users, workers): 2 workers at 1, 5 and 20 ms from one connection each to the knee, then one
# worker and four at the same connections per worker as some of those.
GRID: list[tuple[int, int, int]] = [
    *((ms, users, 2) for ms in (1, 5, 20) for users in (2, 4, 10, 20, 50, 100)),
    (5, 10, 1),
    (5, 50, 4),
    (100, 100, 1),
]
CAP_S = 8e-3


def needed_lateness(
    scenario: Scenario, load: LoadSpec, speeds: tuple[float, float], measured: float
) -> float:
    """The mean lateness (s) at which the theory predicts ``measured`` req/s: bisection on a factor on
    the law (both its parts), since the prediction falls as the lateness grows."""
    law = Costs()
    unit = sleep_lateness_s(load, law, scenario.workers)

    def predicted(lateness: float) -> float:
        f = lateness / unit
        costs = dataclasses.replace(law, timer_slack_s=law.timer_slack_s * f, idle_wake_s=law.idle_wake_s * f)
        return predict(
            scenario, load, cores=os.cpu_count() or 1, costs=costs.at_speed(*speeds)
        ).throughput_rps

    lo, hi = 0.0, CAP_S
    if predicted(lo) <= measured:
        return lo
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if predicted(mid) > measured else (lo, mid)
    return lo


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=4.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--ms", type=int, nargs="*", help="only these sleeps")
    ap.add_argument("--most-users", type=int, default=10_000, help="only cases with at most this many users")
    args = ap.parse_args()
    law = Costs()
    print(
        f"{'ms':>4}{'users':>6}{'workers':>8}{'conns/w':>8}{'measured':>10}{'ratio':>7}{'needed':>8}{'law':>7}"
    )
    for ms, users, workers in GRID:
        if (args.ms and ms not in args.ms) or users > args.most_users:
            continue
        scenario, load = Scenario(workers=workers), LoadSpec("io/async", ms, users=users)
        for _ in range(args.repeat):
            measured, predicted, (server, client, _), others = await measure(
                scenario, load, args.warmup, args.duration
            )
            need = needed_lateness(scenario, load, (server, client), measured)
            knee = "  knee" if need >= CAP_S * 0.999 else ""
            print(
                f"{ms:>4}{users:>6}{workers:>8}{users / workers:>8.1f}{measured:>10,.0f}"
                f"{measured / predicted:>7.3f}{need * 1e3:>8.2f}"
                f"{sleep_lateness_s(load, law, scenario.workers) * 1e3:>7.2f}{knee}"
                f"{f'  others {others:.2f}' if others >= 0.1 else ''}",
                flush=True,
            )
    print("needed: the mean timer lateness (ms) at which the prediction meets the measurement;")
    print("law: the theory's, theory.timer_lateness_s")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    finally:
        boost([os.getpid()], 0)
