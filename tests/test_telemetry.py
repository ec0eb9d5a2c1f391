"""Telemetry end to end: a real demo server (uvicorn, and gunicorn's forked workers), real HTTP on
127.0.0.1, a real Collector. No mocks."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np
import pytest

from asgiscope.server import protocol
from asgiscope.server.demo.config import WorkerConfig
from asgiscope.server.demo.probes import IDLE_AFTER_S, IDLE_INTERVAL_S, INTERVAL_S
from asgiscope.server.demo.telemetry import instrument
from asgiscope.server.lab.collector import Collector
from tests.uvicorn_proc import Server, free_port, run_server, uvicorn_cmd

TOKENS = 8
ROUTE = protocol.ROUTE_IDS
# The probes flush every 10 ms; give the last datagrams time to land on a busy 2-core machine.
SETTLE_S = 0.25


@dataclass(frozen=True, slots=True)
class Rig:
    collector: Collector
    server: Server
    loop_tid: int  # from the worker's HELLO record
    parent_pid: int  # ditto


def worker_config(collector: Collector, token: bytes, tokens: int = TOKENS) -> WorkerConfig:
    host, port = collector.address
    return WorkerConfig(
        tokens=tokens, telemetry_host=host, telemetry_port=port, token_hex=token.hex(), watch_parent=False
    )


def records_of(batches: list[protocol.Batch]) -> np.ndarray:
    if not batches:
        return np.empty(0, dtype=protocol.RECORD_DTYPE)
    return np.concatenate([b.records for b in batches])


async def settle(collector: Collector) -> np.ndarray:
    await asyncio.sleep(SETTLE_S)
    return records_of(collector.drain())


def of_kind(records: np.ndarray, kind: int, since_ns: int = 0) -> np.ndarray:
    selected: np.ndarray = records[(records["kind"] == kind) & (records["a"] >= since_ns)]
    return selected


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    token = secrets.token_bytes(protocol.TOKEN_BYTES)
    with Collector(token) as collector, run_server(worker_config(collector, token)) as server:
        time.sleep(SETTLE_S)
        hello = of_kind(records_of(collector.drain()), protocol.KIND_HELLO)
        assert len(hello) == 1, hello
        yield Rig(
            collector=collector, server=server, loop_tid=int(hello[0]["tid"]), parent_pid=int(hello[0]["b"])
        )


@pytest.fixture
def fresh(rig: Rig) -> Rig:
    """The module's rig with whatever earlier tests left in the collector thrown away."""
    rig.collector.drain()
    return rig


async def fetch_all(url: str, paths: list[str], concurrency: int) -> list[tuple[int, Any]]:
    """GET every path with at most ``concurrency`` in flight; returns (status, json or None)."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    results: list[tuple[int, Any]] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(url, connector=connector) as session:

        async def user() -> None:
            while not queue.empty():
                path = queue.get_nowait()
                async with session.get(path) as r:
                    body = await r.json() if r.status == 200 else None
                    results.append((r.status, body))

        await asyncio.gather(*(user() for _ in range(concurrency)))
    return results


def test_instrument_is_a_no_op_when_telemetry_is_off() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    assert instrument(app, WorkerConfig()) is app


async def test_middleware_in_process_lifespan_status_and_final_flush() -> None:
    """The middleware around a bare ASGI app: probes start after the app's startup, a raising handler
    is recorded as 500, and shutdown flushes what is pending without waiting for the timer."""
    token = secrets.token_bytes(protocol.TOKEN_BYTES)
    order: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            assert (await receive())["type"] == "lifespan.startup"
            order.append("app startup")
            await send({"type": "lifespan.startup.complete"})
            assert (await receive())["type"] == "lifespan.shutdown"
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["path"] == "/cpu/sync":
            raise RuntimeError("handler failed")
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def no_body() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def sink(message: Any) -> None:
        return None

    with Collector(token) as collector:
        mw = instrument(app, worker_config(collector, token))
        inbox: asyncio.Queue[Any] = asyncio.Queue()
        outbox: asyncio.Queue[Any] = asyncio.Queue()

        async def reply(message: Any) -> None:
            order.append(message["type"])
            await outbox.put(message)

        async def lifespan() -> None:
            await mw({"type": "lifespan"}, inbox.get, reply)

        task = asyncio.create_task(lifespan())
        await inbox.put({"type": "lifespan.startup"})
        assert (await outbox.get())["type"] == "lifespan.startup.complete"
        assert order == ["app startup", "lifespan.startup.complete"]
        await mw({"type": "http", "path": "/hello"}, no_body, sink)
        with pytest.raises(RuntimeError):
            await mw({"type": "http", "path": "/cpu/sync"}, no_body, sink)
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await task
        await asyncio.sleep(0.1)  # only for the collector thread to read what shutdown flushed
        records = records_of(collector.drain())
    requests = of_kind(records, protocol.KIND_REQUEST)
    assert [(r["route"], r["status"]) for r in requests] == [
        (ROUTE["/hello"], 201),
        (ROUTE["/cpu/sync"], 500),
    ]
    [hello] = of_kind(records, protocol.KIND_HELLO)
    assert hello["b"] == os.getppid()
    assert collector.stats().lost == 0


def test_hello_announces_the_worker(rig: Rig) -> None:
    # python -m uvicorn with one worker serves in its own process: its parent is this test process.
    assert rig.parent_pid == os.getpid()
    assert rig.loop_tid == rig.server.pid  # the loop runs on the process's main thread


async def test_every_request_is_counted_once_without_loss(fresh: Rig) -> None:
    n = 2000
    lost_before = fresh.collector.stats().lost
    t0 = time.monotonic_ns()
    results = await fetch_all(fresh.server.url, ["/hello"] * n, concurrency=20)
    t1 = time.monotonic_ns()
    assert [s for s, _ in results] == [200] * n
    requests = of_kind(await settle(fresh.collector), protocol.KIND_REQUEST)
    assert len(requests) == n
    assert set(requests["route"].tolist()) == {ROUTE["/hello"]}
    assert set(requests["status"].tolist()) == {200}
    # Each record lies inside the client's window, and ends after it starts.
    assert requests["a"].min() >= t0 and requests["b"].max() <= t1
    assert (requests["b"] >= requests["a"]).all()
    assert fresh.collector.stats().lost == lost_before == 0


async def test_forged_datagram_is_rejected(fresh: Rig) -> None:
    before = fresh.collector.stats()
    forged_token = secrets.token_bytes(protocol.TOKEN_BYTES)
    record = protocol.RECORD.pack(protocol.KIND_REQUEST, 1, 200, 0, 1, 2, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(protocol.encode(forged_token, 1, 0, record, 1), fresh.collector.address)
    records = await settle(fresh.collector)
    after = fresh.collector.stats()
    assert after.rejected_by_reason.get("token", 0) == before.rejected_by_reason.get("token", 0) + 1
    assert not ((records["a"] == 1) & (records["b"] == 2)).any()


@pytest.mark.parametrize(
    ("path", "route", "status", "threadpool"),
    [
        ("/hello", "/hello", 200, False),
        ("/io/async?ms=20", "/io/async", 200, False),
        ("/io/sync?ms=20", "/io/sync", 200, True),
        ("/io/blocking?ms=20", "/io/blocking", 200, False),
        ("/cpu/async?ms=20", "/cpu/async", 200, False),
        ("/cpu/sync?ms=20", "/cpu/sync", 200, True),
        ("/io/sync?ms=-1", "/io/sync", 422, False),  # refused before reaching the threadpool
        ("/cpu/async?ms=10001", "/cpu/async", 422, False),
        ("/no/such/route", "other", 404, False),
    ],
)
async def test_route_response_and_record(
    fresh: Rig, path: str, route: str, status: int, threadpool: bool
) -> None:
    t0 = time.monotonic_ns()
    [(got_status, body)] = await fetch_all(fresh.server.url, [path], concurrency=1)
    assert got_status == status
    [rec] = of_kind(await settle(fresh.collector), protocol.KIND_REQUEST, since_ns=t0)
    assert (rec["route"], rec["status"]) == (ROUTE[route], status)
    if status == 200:
        assert body["route"] == route and body["pid"] == fresh.server.pid
        ms = int(path.split("ms=")[1]) if "ms=" in path else 0
        assert rec["b"] - rec["a"] >= ms * 1_000_000
    if threadpool:
        # The record names the thread the handler ran on: a pool thread, not the loop's.
        assert rec["tid"] == body["tid"] != fresh.loop_tid
        assert rec["tid"] != 0
        # ...and when it began there (it had its token): within the request, before its sleep.
        assert rec["a"] <= rec["c"] <= rec["b"] - ms * 1_000_000
    else:
        assert rec["tid"] == 0
        assert rec["c"] == 0  # no threadpool token
        if body is not None:
            assert body["tid"] == fresh.loop_tid


async def test_blocking_handler_shows_loop_lag(fresh: Rig) -> None:
    t0 = time.monotonic_ns()
    [(status, _)] = await fetch_all(fresh.server.url, ["/io/blocking?ms=200"], concurrency=1)
    assert status == 200
    records = await settle(fresh.collector)
    [req] = of_kind(records, protocol.KIND_REQUEST, since_ns=t0)
    lag = of_kind(records, protocol.KIND_LAG, since_ns=t0)
    # The probe's 10 ms timer overshoots by the block minus at most one interval.
    worst = lag[lag["b"].argmax()]
    assert worst["b"] >= 185_000_000
    assert worst["a"] >= req["a"]  # the lag is seen when the loop gets back, after the block began
    # Outside the block the loop is responsive: most ticks are on time (generous for a shared box).
    assert np.median(lag["b"]) < 20_000_000


async def test_an_idle_worker_probes_slowly_yet_measures_the_first_block_whole(fresh: Rig) -> None:
    # Nothing in flight for longer than IDLE_AFTER_S: the probe ticks every IDLE_INTERVAL_S.
    await asyncio.sleep(IDLE_AFTER_S + 2 * IDLE_INTERVAL_S)
    fresh.collector.drain()
    t0 = time.monotonic_ns()
    await asyncio.sleep(1.0)
    idle = of_kind(records_of(fresh.collector.drain()), protocol.KIND_LAG, since_ns=t0)
    assert 1 <= len(idle) <= 1.0 / IDLE_INTERVAL_S + 2  # a busy second has 1 / INTERVAL_S = 100

    [(status, _)] = await fetch_all(fresh.server.url, ["/io/blocking?ms=200"], concurrency=1)
    assert status == 200
    records = await settle(fresh.collector)
    [req] = of_kind(records, protocol.KIND_REQUEST)
    lag = np.sort(of_kind(records, protocol.KIND_LAG, since_ns=int(req["a"])), order="a")
    # The request woke the probe before its handler blocked the loop: the very first tick after it
    # began reports the whole block (time.sleep(0.2) sleeps at least that), once the loop is back.
    assert lag[0]["b"] >= 200_000_000
    assert lag[0]["a"] >= req["b"]
    # ...and the probe is fast again: ticks every INTERVAL_S after it, on time.
    assert len(lag) >= 5
    assert np.median(np.diff(lag["a"][1:])) < 5 * INTERVAL_S * 1e9


async def test_a_busy_worker_probes_fast(fresh: Rig) -> None:
    t0 = time.monotonic_ns()
    results = await fetch_all(fresh.server.url, ["/io/async?ms=50"] * 200, concurrency=10)
    t1 = time.monotonic_ns()
    assert [s for s, _ in results] == [200] * 200
    lag = of_kind(await settle(fresh.collector), protocol.KIND_LAG, since_ns=t0)
    lag = lag[lag["a"] <= t1]
    # 20 waves of 50 ms: ~100 ticks at INTERVAL_S, at most ~5 had it stayed idle.
    assert len(lag) >= 0.3 * (t1 - t0) / 1e9 / INTERVAL_S


async def test_threadpool_never_exceeds_its_tokens(fresh: Rig) -> None:
    n = 200
    t0 = time.monotonic_ns()
    results = await fetch_all(fresh.server.url, ["/io/sync?ms=200"] * n, concurrency=n)
    elapsed = (time.monotonic_ns() - t0) / 1e9
    assert [s for s, _ in results] == [200] * n
    records = await settle(fresh.collector)
    pool = of_kind(records, protocol.KIND_POOL, since_ns=t0)
    requests = of_kind(records, protocol.KIND_REQUEST, since_ns=t0)
    assert len(requests) == n
    assert set(pool["tid"].tolist()) == {TOKENS}  # total tokens, as set in the app's lifespan
    assert pool["b"].max() == TOKENS  # borrowed: the pool was full...
    assert pool["c"].max() > 0  # ...with requests queueing for a token
    assert pool["status"].max() > TOKENS  # in flight in the worker: more than the pool holds
    # anyio puts a thread back on its idle list before its token is released and reuses idle threads
    # (it retires them only after 10 s idle), so one burst never runs on more threads than tokens.
    tids = set(requests["tid"].tolist())
    assert 2 <= len(tids) <= TOKENS and 0 not in tids
    assert tids == {body["tid"] for _, body in results}
    # When each began in its thread: never more than TOKENS at once in a thread, and most of them
    # waited for a token far longer than the handler's 200 ms (the queue the flow panel draws).
    began, ended = requests["c"], requests["b"]
    assert (began >= requests["a"]).all() and (began <= ended).all()
    edges = sorted([(int(t), 1) for t in began] + [(int(t), -1) for t in ended])
    running = np.cumsum([d for _, d in edges])
    assert running.max() == TOKENS
    assert np.median(began - requests["a"]) > 200_000_000
    # 200 requests x 200 ms through 8 tokens take at least 25 waves of 200 ms.
    assert elapsed >= n / TOKENS * 0.2 * 0.95


def two_workers(kind: str, port: int) -> list[str]:
    if kind == "uvicorn":  # uvicorn's supervisor spawns its workers
        return uvicorn_cmd(port, ["--workers", "2"])
    return [  # gunicorn's arbiter forks them
        sys.executable,
        "-m",
        "gunicorn",
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        "--graceful-timeout",
        "2",
        "asgiscope.server.demo.app:app_factory()",
    ]


@pytest.mark.parametrize(
    "kind",
    [
        "uvicorn",
        pytest.param(
            "gunicorn", marks=pytest.mark.skipif(sys.platform == "win32", reason="gunicorn needs fcntl")
        ),
    ],
)
async def test_each_worker_of_a_tree_reports_without_loss(kind: str) -> None:
    token = secrets.token_bytes(protocol.TOKEN_BYTES)
    port = free_port()
    cmd = two_workers(kind, port)
    with Collector(token) as collector, run_server(worker_config(collector, token), cmd, port=port) as srv:
        # Readiness means one worker answered; wait until both announced themselves.
        deadline = time.monotonic() + 10
        hellos: dict[int, int] = {}
        while len(hellos) < 2:
            assert time.monotonic() < deadline, hellos
            for b in collector.drain():
                for r in b.records[b.records["kind"] == protocol.KIND_HELLO]:
                    hellos[b.pid] = int(r["b"])
            await asyncio.sleep(0.05)
        assert set(hellos.values()) == {srv.pid}  # children of the master we started
        t0 = time.monotonic_ns()
        results = await fetch_all(srv.url, ["/io/async?ms=5"] * 400, concurrency=20)
        assert [s for s, _ in results] == [200] * 400
        await asyncio.sleep(SETTLE_S)
        per_pid: dict[int, int] = {}
        for b in collector.drain():
            n = int(((b.records["kind"] == protocol.KIND_REQUEST) & (b.records["a"] >= t0)).sum())
            per_pid[b.pid] = per_pid.get(b.pid, 0) + n
        assert set(per_pid) <= set(hellos)
        assert sum(per_pid.values()) == 400
        assert per_pid == {pid: sum(1 for _, body in results if body["pid"] == pid) for pid in per_pid}
        assert collector.stats().lost == 0
