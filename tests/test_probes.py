"""The probe's pacing, in-process on a plain asyncio loop with a real emitter and collector: fast while
requests are in flight, slow once idle, and woken by a request in time to measure a blocked loop."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable

import numpy as np

from asgiscope.server import protocol
from asgiscope.server.demo.emitter import Emitter
from asgiscope.server.demo.probes import Probes
from asgiscope.server.lab.collector import Collector

# An idle tick far longer than any test waits: a record after a wake cannot come from its timer.
LONG_S = 60.0


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10.0):
        while not condition():  # noqa: ASYNC110 -- polling state another task changes
            await asyncio.sleep(0.005)


def lags(collector: Collector) -> np.ndarray:
    records = [b.records for b in collector.drain()]
    if not records:
        return np.empty(0, dtype=protocol.RECORD_DTYPE)
    all_records = np.concatenate(records)
    return all_records[all_records["kind"] == protocol.KIND_LAG]


async def test_idle_after_quiet_ticks_fast_while_in_flight_and_woken_by_a_request() -> None:
    token = secrets.token_bytes(protocol.TOKEN_BYTES)
    in_flight = [1]
    with Collector(token) as collector:
        emitter = Emitter(collector.address, token)
        probes = Probes(emitter, lambda: in_flight[0], interval=0.005, idle_interval=LONG_S, idle_after=0.05)
        probes.start()
        try:
            # a request in flight keeps it ticking fast, for as long as it lasts
            await asyncio.sleep(0.3)
            assert not probes.idle
            in_flight[0] = 0
            await until(lambda: probes.idle)
            await asyncio.sleep(0.05)
            lags(collector)  # what the busy ticks sent
            # a request starts: the probe wakes, and a loop blocked right after is measured whole
            probes.wake()
            assert not probes.idle
            time.sleep(0.05)  # noqa: ASYNC251 -- the blocked loop under test
            seen: list[np.ndarray] = []
            await until(lambda: bool(seen.append(lags(collector)) or sum(map(len, seen))))
            first = np.sort(np.concatenate(seen), order="a")[0]
            assert first["b"] >= 50_000_000  # the woken tick, not a timer LONG_S away
            # back to fast ticks, then idle again once nothing is in flight
            await until(lambda: probes.idle)
        finally:
            await probes.stop()
            emitter.close()


async def test_wake_without_an_idle_tick_is_harmless() -> None:
    token = secrets.token_bytes(protocol.TOKEN_BYTES)
    with Collector(token) as collector:
        emitter = Emitter(collector.address, token)
        probes = Probes(emitter, lambda: 1, interval=0.005, idle_interval=LONG_S)
        probes.wake()  # not started yet
        probes.start()
        try:
            await asyncio.sleep(0.05)
            probes.wake()  # ticking fast: nothing to end
            await asyncio.sleep(0.05)
            assert not probes.idle
            assert len(lags(collector)) >= 5
        finally:
            await probes.stop()
            emitter.close()


async def test_requests_between_ticks_keep_it_fast() -> None:
    # Short requests start and end between two ticks, so no tick ever sees one in flight; the
    # middleware's wake() is what tells the probe they happened.
    token = secrets.token_bytes(protocol.TOKEN_BYTES)
    with Collector(token) as collector:
        emitter = Emitter(collector.address, token)
        probes = Probes(emitter, lambda: 0, interval=0.005, idle_interval=LONG_S, idle_after=0.1)
        probes.start()
        try:
            for _ in range(30):  # 0.6 s of a request every 20 ms, six times idle_after
                await asyncio.sleep(0.02)
                assert not probes.idle
                if probes.listening:
                    probes.wake()
            await until(lambda: probes.idle)  # and idle once they stop
        finally:
            await probes.stop()
            emitter.close()
