"""CPU per new connection, server side and client side: ``/hello`` with a new connection per request
beside the same load on connections kept forever, one run, side by side.

The difference in CPU per request between the two is what one connect costs (TCP handshake and
close on loopback, the server's accept and protocol set-up, the client's connect); ``theory.Costs``
uses these figures. Usage: python bench/connect_cost.py [--duration 6] [--users 20]
"""

from __future__ import annotations

import argparse
import asyncio

from asgiscope.server.lab.others import cpu_seconds
from asgiscope.server.lab.session import Lab
from asgiscope.server.load.spec import Connection, Engine, LoadSpec
from asgiscope.server.scenario import Scenario


async def measure(
    engine: Engine, connection: Connection, users: int, warmup: float, duration: float
) -> tuple[float, float, float]:
    """(client req/s, server CPU µs per request, client CPU µs per request)."""
    load = LoadSpec("hello", users=users, engine=engine, connection=connection)
    async with Lab(Scenario(workers=1), load) as lab:
        await lab.start_load()
        await asyncio.sleep(warmup)
        first = lab.snapshot()
        workers = [p.pid for p in first.processes if p.role == "worker"]
        clients = [p.pid for p in first.processes if p.role == "load"]
        server0, client0 = cpu_seconds(workers), cpu_seconds(clients)
        await asyncio.sleep(duration)
        server1, client1 = cpu_seconds(workers), cpu_seconds(clients)
        last = lab.snapshot()
        served = last.server_requests - first.server_requests
        answered = last.requests - first.requests
        return (
            answered / (last.t - first.t),
            (server1 - server0) / served * 1e6,
            (client1 - client0) / answered * 1e6,
        )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=6.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--engines", default="raw,aiohttp")
    args = ap.parse_args()
    print(f"/hello, 1 uvicorn worker (h11), {args.users} users, {args.duration:g} s each")
    print(f"{'engine':9}{'connection':13}{'req/s':>9}{'server µs/req':>15}{'client µs/req':>15}")
    for engine in args.engines.split(","):
        rows = {}
        for connection in ("forever", "per-request"):
            rows[connection] = row = await measure(engine, connection, args.users, args.warmup, args.duration)  # type: ignore[arg-type]
            print(f"{engine:9}{connection:13}{row[0]:>9,.0f}{row[1]:>15,.0f}{row[2]:>15,.0f}", flush=True)
        server = rows["per-request"][1] - rows["forever"][1]
        client = rows["per-request"][2] - rows["forever"][2]
        print(f"{engine:9}{'one connect':13}{'':>9}{server:>15,.0f}{client:>15,.0f}")


if __name__ == "__main__":
    asyncio.run(main())
