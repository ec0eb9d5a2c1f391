"""Per-thread CPU from inside a worker: the THREADS record on the wire, its plausibility check, the
reader of /proc (or psutil), and the probe that emits its samples through a real emitter and collector."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time

import numpy as np

from asgiscope.server import protocol
from asgiscope.server.demo.app import busy
from asgiscope.server.demo.emitter import Emitter
from asgiscope.server.demo.probes import Probes
from asgiscope.server.demo.threadcpu import Sample, ThreadCpu, default_reader
from asgiscope.server.lab.collector import Collector
from asgiscope.server.lab.plausible import check
from asgiscope.server.protocol import RECORD, made_ns, of_kind

TOKEN = bytes(range(protocol.TOKEN_BYTES))


def records(*rows: tuple[int, int, int, int, int, int, int]) -> np.ndarray:
    datagram = protocol.encode(TOKEN, 7, 0, b"".join(RECORD.pack(*r) for r in rows), len(rows))
    return protocol.decode(datagram, TOKEN).records


def test_a_threads_record_reads_back_under_its_own_names() -> None:
    got = records(
        (protocol.KIND_THREADS, 0, 0, 4242, 5_000, 1_234_567, 0),
        (protocol.KIND_LAG, 0, 0, 0, 6_000, 10, 0),
        (protocol.KIND_THREADS, 0, 0, 4243, 7_000, 89, 0),
    )
    threads = of_kind(got, protocol.KIND_THREADS)
    assert threads["thread"].tolist() == [4242, 4243]
    assert threads["t_ns"].tolist() == [5_000, 7_000]
    assert threads["cpu_ns"].tolist() == [1_234_567, 89]
    assert made_ns(got).tolist() == [5_000, 6_000, 7_000]  # made when sampled


def test_impossible_thread_cpu_is_refused_as_implausible() -> None:
    now = time.monotonic_ns()
    got = records(
        (protocol.KIND_THREADS, 0, 0, 1, now, 5_000_000, 0),  # real
        (protocol.KIND_THREADS, 0, 0, 2, now, -1, 0),
        (protocol.KIND_THREADS, 0, 0, 3, now, now + 1, 0),  # more CPU than the clock has run
    )
    verdict = check(got, now - 1_000_000, now)
    assert verdict is not None
    ok, counts = verdict
    assert ok.tolist() == [True, False, False] and counts == {"cpu": 2}


def by_tid(samples: list[Sample]) -> dict[int, int]:
    return {tid: cpu for tid, _, cpu in samples}


def test_the_reader_sees_a_busy_thread_gain_cpu_and_leaves_itself_out() -> None:
    read = default_reader()
    start = threading.Event()
    done = threading.Event()
    tid: list[int] = []

    def spin() -> None:
        tid.append(threading.get_native_id())
        start.wait()
        busy(50)
        done.set()
        start.clear()
        start.wait()  # stay alive until the second read

    t = threading.Thread(target=spin)
    t.start()
    while not tid:
        time.sleep(0.001)
    me = threading.get_native_id()
    before = by_tid(read(me))
    start.set()
    done.wait()
    after = read(me)
    start.set()
    t.join()
    assert me not in before and me not in by_tid(after)  # the reader's own thread is skipped
    gained = by_tid(after)[tid[0]] - before[tid[0]]
    assert gained >= 40_000_000  # busy(50) spins 50 ms of its own CPU time (10 ms tick resolution)
    assert all(t_ns <= time.monotonic_ns() for _, t_ns, _ in after)


def test_thread_cpu_reads_in_its_own_thread_only_when_asked() -> None:
    calls: list[int] = []

    def read(skip: int) -> list[Sample]:
        calls.append(skip)
        return [(1, 2, 3)]

    sampler = ThreadCpu(read)
    sampler.start()
    try:
        assert sampler.take() is None
        sampler.request()
        deadline = time.monotonic() + 5
        while (got := sampler.take()) is None:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        assert got == [(1, 2, 3)] and sampler.take() is None
        assert calls and calls[0] != threading.get_native_id()  # read in the sampler's thread
    finally:
        sampler.stop()


async def test_the_probe_emits_every_threads_cpu_a_few_times_a_second() -> None:
    token = secrets.token_bytes(protocol.TOKEN_BYTES)
    with Collector(token) as collector:
        emitter = Emitter(collector.address, token)
        probes = Probes(emitter, lambda: 1, interval=0.005, threads=ThreadCpu())
        probes.start()
        try:
            await asyncio.sleep(1.2)  # busy: a sample every 0.25 s
        finally:
            await probes.stop()
            emitter.close()
        await asyncio.sleep(0.1)
        got = np.concatenate([b.records for b in collector.drain()])
    threads = of_kind(got, protocol.KIND_THREADS)
    loop_thread = threading.get_native_id()
    mine = threads[threads["thread"] == loop_thread]
    assert 3 <= len(mine) <= 6  # ~4 a second, not one per tick
    assert np.all(np.diff(mine["cpu_ns"]) >= 0) and np.all(np.diff(mine["t_ns"]) > 0)
