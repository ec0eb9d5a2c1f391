"""Server CPU per request at /hello for each framework and worker class, side by side in one run.

One worker, an open loop at a fixed rate every pair sustains (so each process wakes about as often),
the default ~1 s connections: the worker's CPU seconds (psutil) over the requests it served. gunicorn's
sync worker closes every connection, so its figure includes a connect (accept + close) per request:
that is what a sync worker costs. Also "queued" (closed loop, many users: the worker never sleeps) for
the figure with no wake-ups in it. Usage: python bench/framework_costs.py [--duration 5] [--rate 400]
"""

from __future__ import annotations

import argparse
import asyncio

from costs import measure

from asgiscope.server.calibrate import work_seconds
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario

PAIRS: dict[str, Scenario] = {
    "fastapi uvicorn": Scenario(workers=1),
    "fastapi gunicorn+uvicorn": Scenario(server="gunicorn", workers=1),
    "flask gunicorn sync": Scenario(server="gunicorn", framework="flask", worker_class="sync", workers=1),
    "flask gunicorn gthread": Scenario(
        server="gunicorn", framework="flask", worker_class="gthread", workers=1
    ),
    "django gunicorn sync": Scenario(server="gunicorn", framework="django", worker_class="sync", workers=1),
    "django gunicorn gthread": Scenario(
        server="gunicorn", framework="django", worker_class="gthread", workers=1
    ),
    "django uvicorn (ASGI)": Scenario(framework="django", workers=1),
}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--rate", type=float, default=400.0)
    ap.add_argument("--users", type=int, default=50)
    args = ap.parse_args()
    print(f"speed score: reference work took {work_seconds() * 1e3:.1f} ms")
    print(f"{'pair':28} {'open µs/req':>12} {'x fastapi':>10} {'queued µs/req':>14} {'queued rps':>11}")
    base_open = base_queued = 0.0
    for name, scenario in PAIRS.items():
        opened = await measure(
            scenario, LoadSpec("hello", 0, mode="open", rate=args.rate), args.warmup, args.duration
        )
        queued = await measure(scenario, LoadSpec("hello", 0, users=args.users), args.warmup, args.duration)
        if not base_open:
            base_open, base_queued = opened.server_us, queued.server_us
        print(
            f"{name:28} {opened.server_us:12.0f} {opened.server_us / base_open:10.2f} "
            f"{queued.server_us:14.0f} {queued.rps:11.0f}   (x{queued.server_us / base_queued:.2f}; "
            f"others {opened.others:.2f}/{queued.others:.2f} cores)",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
