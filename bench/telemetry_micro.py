"""Micro-benchmarks for bench/telemetry_overhead.py: what each telemetry piece costs in-process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asgiscope.server import protocol
from asgiscope.server.demo.app import create_app
from asgiscope.server.demo.config import WorkerConfig
from asgiscope.server.demo.emitter import Emitter
from asgiscope.server.demo.probes import Probes
from asgiscope.server.demo.telemetry import instrument


def probe_tick_cost_us(address: tuple[str, int], token: bytes, seconds: float = 1.0) -> float:
    """CPU per probe tick (lag + pool records, and a flush every tick: the worst case), ticking as
    fast as the loop allows. A worker ticks 100 times a second and flushes on every second tick."""
    emitter = Emitter(address, token)

    async def run() -> float:
        probes = Probes(emitter, lambda: 0, interval=1e-9, flush=1e-9)
        start = time.process_time()
        probes.start()
        await asyncio.sleep(seconds)
        await probes.stop()
        return (time.process_time() - start) / max(emitter.seq, 1) * 1e6

    try:
        return asyncio.run(run())
    finally:
        emitter.close()


def emitter_cost_us(address: tuple[str, int], token: bytes, n: int = 500_000) -> float:
    """Per record, flushes (one datagram per 64 records) included."""
    emitter = Emitter(address, token)
    record = emitter.record
    start = time.perf_counter_ns()
    for i in range(n):
        record(protocol.KIND_REQUEST, 1, 200, 0, i, i, 0)
    elapsed = time.perf_counter_ns() - start
    emitter.close()
    return elapsed / n / 1000


def demo_app_cost_us(
    address: tuple[str, int], token: bytes, n: int = 5_000, reps: int = 15
) -> tuple[float, float]:
    """(bare, instrumented) µs per ``/hello`` through the demo FastAPI app, in-process: no server,
    no network. Alternating repetitions; the minimum of each is the least disturbed."""
    host, port = address
    config = WorkerConfig(telemetry_host=host, telemetry_port=port, token_hex=token.hex())

    async def no_body() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def nothing(message: Any) -> None:
        return None

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/hello",
            "raw_path": b"/hello",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2),
        }

    async def per_request(app: Any) -> float:
        start = time.perf_counter_ns()
        for _ in range(n):
            await app(scope(), no_body, nothing)
        return (time.perf_counter_ns() - start) / n / 1000

    async def run() -> tuple[float, float]:
        apps = [create_app(WorkerConfig()), create_app(config, wrap=instrument)]
        lifespans = []
        for app in apps:
            inbox: asyncio.Queue[Any] = asyncio.Queue()
            outbox: asyncio.Queue[Any] = asyncio.Queue()

            async def lifespan(app: Any = app, inbox: Any = inbox, outbox: Any = outbox) -> None:
                await app(
                    {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put
                )

            lifespans.append((asyncio.create_task(lifespan()), inbox, outbox))
            await inbox.put({"type": "lifespan.startup"})
            await outbox.get()
        times: list[list[float]] = [[], []]
        for _ in range(reps):
            for k, app in enumerate(apps):
                times[k].append(await per_request(app))
        for task, inbox, outbox in lifespans:
            await inbox.put({"type": "lifespan.shutdown"})
            await outbox.get()
            await task
        return min(times[0]), min(times[1])

    return asyncio.run(run())
