"""The collector on its own: raw datagrams from a plain UDP socket, no server."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from asgiscope.server import protocol
from asgiscope.server.demo.emitter import MAX_AGE_NS, Emitter
from asgiscope.server.lab.collector import RCVBUF, Collector, CollectorStats, SequenceTracker
from tests.waiting import wait_for

TOKEN = secrets.token_bytes(protocol.TOKEN_BYTES)


def datagram(seq: int, *, pid: int = 4242, token: bytes = TOKEN, count: int = 2) -> bytes:
    # real times: the collector refuses records made before it started or after they arrived
    now = time.monotonic_ns()
    records = b"".join(
        # the status carries the datagram's seq (c is when a def handler got its token: 0 = none)
        protocol.RECORD.pack(protocol.KIND_REQUEST, 1, 200 + seq, 0, now - 1000, now - 10 + i, 0)
        for i in range(count)
    )
    return protocol.encode(token, pid, seq, records, count)


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector(TOKEN) as c:
        yield c


@pytest.fixture
def sender(collector: Collector) -> Iterator[Callable[[bytes], None]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:

        def send(data: bytes) -> None:
            s.sendto(data, collector.address)

        yield send


def test_accepts_and_drains_in_order(collector: Collector, sender: Callable[[bytes], None]) -> None:
    for seq in range(3):
        sender(datagram(seq, count=seq + 1))
    wait_for(lambda: collector.stats().datagrams == 3)
    batches = collector.drain()
    assert [(b.pid, b.seq, len(b.records)) for b in batches] == [(4242, 0, 1), (4242, 1, 2), (4242, 2, 3)]
    assert batches[2].records["status"].tolist() == [202, 202, 202]  # the datagram's seq, as sent
    assert collector.drain() == []  # drained means gone
    assert collector.stats() == CollectorStats(records=6, datagrams=3)


def test_gap_counts_lost(collector: Collector, sender: Callable[[bytes], None]) -> None:
    for seq in (0, 1, 3):
        sender(datagram(seq))
    wait_for(lambda: collector.stats().datagrams == 3)
    assert collector.stats().lost == 1


def test_pids_are_tracked_separately(collector: Collector, sender: Callable[[bytes], None]) -> None:
    for pid, seq in [(1, 0), (2, 0), (1, 1), (2, 1), (1, 2), (2, 5)]:
        sender(datagram(seq, pid=pid))
    wait_for(lambda: collector.stats().datagrams == 6)
    assert collector.stats().lost == 3


def test_forged_and_malformed_datagrams_are_rejected(
    collector: Collector, sender: Callable[[bytes], None]
) -> None:
    sender(datagram(0, token=secrets.token_bytes(protocol.TOKEN_BYTES)))  # forged: wrong token
    sender(b"ASG1")  # short
    sender(b"XXXX" + datagram(0)[4:])  # magic
    sender(datagram(0)[:-1])  # length does not match count
    sender(datagram(0))  # the one good datagram
    wait_for(lambda: collector.stats().datagrams + collector.stats().rejected == 5)
    stats = collector.stats()
    assert stats.rejected == 4
    assert stats.rejected_by_reason == {"token": 1, "short": 1, "magic": 1, "length": 1}
    assert [b.seq for b in collector.drain()] == [0]
    # A forged datagram never enters sequence tracking either.
    assert stats.lost == 0


def test_restarted_pid_starts_a_new_stream(collector: Collector, sender: Callable[[bytes], None]) -> None:
    for seq in (0, 1, 2, 0, 1):  # a new process reused pid 4242
        sender(datagram(seq))
    wait_for(lambda: collector.stats().datagrams == 5)
    stats = collector.stats()
    assert (stats.lost, stats.restarts) == (0, 1)


def test_sequence_tracker_first_seen_late_counts_the_missing_start() -> None:
    t = SequenceTracker()
    t.see(7, 3)  # datagrams 0..2 of pid 7 never arrived
    t.see(7, 4)
    t.see(7, 2)  # backwards: a new process with the same pid, 0..1 lost
    assert (t.lost, t.restarts) == (5, 1)


def test_emitter_batches_to_collector(collector: Collector) -> None:
    emitter = Emitter(collector.address, TOKEN, pid=99)
    try:
        now = time.monotonic_ns()
        for i in range(64 * 3 + 5):
            emitter.record(protocol.KIND_LAG, 0, 0, 0, now + i, i * 10, 0)
        assert emitter.pending == 5  # three full datagrams went out on their own
        emitter.flush()
    finally:
        emitter.close()
    wait_for(lambda: collector.stats().datagrams == 4)
    batches = collector.drain()
    assert [len(b.records) for b in batches] == [64, 64, 64, 5]
    assert [b.seq for b in batches] == [0, 1, 2, 3]
    a = np.concatenate([b.records for b in batches])["a"]
    assert (a - now).tolist() == list(range(64 * 3 + 5))
    assert (emitter.sent, emitter.dropped) == (4, 0)


def test_emitter_counts_drops_without_blocking_and_advances_seq() -> None:
    # Nobody listens on this port: the kernel answers with ICMP port unreachable and the next send
    # on the connected socket fails. The emitter must count it and move on, never raise or block.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        address = s.getsockname()
    emitter = Emitter(address, TOKEN, batch=1)
    start = time.perf_counter()
    for _ in range(10):
        emitter.record(protocol.KIND_LAG, 0, 0, 0, 0, 0, 0)
    elapsed = time.perf_counter() - start
    emitter.close()
    assert emitter.seq == 10
    assert emitter.sent + emitter.dropped == 10
    assert emitter.dropped >= 1
    assert elapsed < 0.5


def test_stop_is_idempotent_and_releases_the_port() -> None:
    c = Collector(TOKEN).start()
    address = c.address
    c.stop()
    c.stop()
    with pytest.raises(RuntimeError):
        c.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(address)  # the port is free again


def test_rejects_bad_token_length() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Collector(b"short")


def test_receive_buffer_is_as_large_as_the_kernel_allows() -> None:
    rmem_max = Path("/proc/sys/net/core/rmem_max")
    cap = int(rmem_max.read_text()) if rmem_max.exists() else RCVBUF
    with Collector(TOKEN) as c:
        # Linux doubles the requested size (bookkeeping) and caps the request at rmem_max.
        assert c.rcvbuf >= min(RCVBUF, cap)


def test_emitter_flushes_a_record_older_than_max_age_on_the_next_record(collector: Collector) -> None:
    # A loop blocked by back-to-back handlers runs its flush timer late; records still go out.
    emitter = Emitter(collector.address, TOKEN)
    try:
        t = time.monotonic_ns() - 2 * MAX_AGE_NS  # the three records end within the session, in the past
        emitter.record(protocol.KIND_REQUEST, 1, 200, 0, t + 1_000, t + 2_000, 0)
        emitter.record(protocol.KIND_REQUEST, 1, 200, 0, t + 3_000, t + 4_000, 0)
        assert emitter.pending == 2
        emitter.record(protocol.KIND_REQUEST, 1, 200, 0, t + 5_000, t + 2_000 + MAX_AGE_NS, 0)
        assert (emitter.pending, emitter.seq) == (0, 1)
    finally:
        emitter.close()
    wait_for(lambda: collector.stats().datagrams == 1)
    assert [len(b.records) for b in collector.drain()] == [3]
