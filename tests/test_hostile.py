"""Hostile input: bad flags, malformed and forged telemetry. (Killed processes: tests/lab, failures.)

Bad flags run the real console script in a child Python with an audit hook that records every process
start and socket bind, so "nothing started" is observed, not assumed; the app must refuse before Qt is
even imported (so before any window). Datagrams go to a real Collector, then through a real Lab with a
real server and load, whose figures must still follow the real traffic after the junk.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from asgiscope.gui.model import workers_max
from asgiscope.server import protocol
from asgiscope.server.lab.collector import Collector, SequenceTracker
from asgiscope.server.lab.plausible import CLOCK_SLACK_NS, MAX_SEQ_GAP, PID_MAX, check
from asgiscope.server.lab.session import Lab
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from tests.waiting import wait_for

# ---- bad flags --------------------------------------------------------------------------------------

# Runs `asgiscope ARGV...` in this child; prints what it started and whether Qt was imported.
WATCHED = """
import json, sys
started = []
def hook(event, args):
    if event in ("subprocess.Popen", "os.fork", "os.posix_spawn", "os.exec", "socket.bind"):
        started.append(event)
sys.addaudithook(hook)
from asgiscope.gui.main import main
sys.argv = ["asgiscope", *sys.argv[1:]]
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
qt = sorted(m for m in sys.modules if m.startswith("PySide6"))
print(json.dumps({"code": code, "started": started, "qt": qt}))
"""

CORES = os.cpu_count() or 1
TOO_MANY_WORKERS = workers_max(CORES) + 1
MISSING = "/missing/dir/f.json"

# (argv, flag, value as the sentence quotes it, what is allowed)
BAD_FLAGS = [
    (["run", "--port", "65536"], "--port", "65536", "a whole number from 0 to 65535"),
    (["serve", "--port", "-1"], "--port", "-1", "a whole number from 0 to 65535"),
    (["--port", "65536"], "--port", "65536", "a whole number from 0 to 65535"),
    (["--fps", "0"], "--fps", "0.0", "a number from 1 to 240"),
    (["--fps", "nan"], "--fps", "nan", "a number from 1 to 240"),
    (["--lab-hz", "0"], "--lab-hz", "0.0", "a number from 1 to 100"),
    (["--lab-hz", "-1"], "--lab-hz", "-1.0", "a number from 1 to 100"),
    (["--quit-after", "-1"], "--quit-after", "-1.0", "a number from 0 to 86400"),
    (["--frame-stats", MISSING], "--frame-stats", repr(MISSING), "a file in a folder that exists"),
    (["--screenshot", "/missing/dir/s.png"], "--screenshot", "'/missing/dir/s.png'", "a file in a folder"),
    *[
        (
            [*tool, "--server", "uvicorn", "--socket", "reuse_port"],
            "--socket",
            "'reuse_port'",
            "'shared' with server 'uvicorn' (reuse_port needs gunicorn)",
        )
        for tool in ([], ["run"], ["serve"])
    ],
    # What the panel can show is what the app may run: past a slider's end is refused by its rule.
    (["--workers", str(TOO_MANY_WORKERS)], "--workers", str(TOO_MANY_WORKERS), "a whole number from 1 to"),
    (["--users", "5000"], "--users", "5000", "a whole number from 1 to 2000"),
    (["--ms", "5000"], "--ms", "5000", "a whole number from 0 to 1000"),
    (["--tokens", "900"], "--tokens", "900", "a whole number from 1 to 200"),
]


@pytest.mark.parametrize(("argv", "flag", "value", "allowed"), BAD_FLAGS, ids=lambda v: str(v))
def test_a_bad_flag_exits_2_with_one_sentence_before_anything_starts(
    argv: list[str], flag: str, value: str, allowed: str, tmp_path: object
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", WATCHED, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    outcome = json.loads(proc.stdout)
    assert outcome["code"] == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, proc.stderr
    # the one line: flag, value and what is allowed; anything else is argparse's usage above it
    assert f"error: {flag}={value} is not allowed: {flag.removeprefix('--')} must be {allowed}" in errors[0]
    others = [line for line in proc.stderr.splitlines() if line != errors[0]]
    assert all(line.startswith("usage:") or line.startswith(" ") for line in others), proc.stderr
    assert outcome["started"] == [], "a process or a socket was started before the refusal"
    assert outcome["qt"] == [], "the app imported Qt (so could open a window) before refusing"


# ---- telemetry: one collector, raw datagrams ----------------------------------------------------------

TOKEN = secrets.token_bytes(protocol.TOKEN_BYTES)
PID = 4242


def request(start_ns: int, end_ns: int, token_ns: int = 0) -> tuple[int, ...]:
    return (protocol.KIND_REQUEST, 1, 200, 0, start_ns, end_ns, token_ns)


def lag(t_ns: int, lag_ns: int) -> tuple[int, ...]:
    return (protocol.KIND_LAG, 0, 0, 0, t_ns, lag_ns, 0)


def pool(t_ns: int, tokens: int, borrowed: int, waiting: int) -> tuple[int, ...]:
    return (protocol.KIND_POOL, 0, 0, tokens, t_ns, borrowed, waiting)


def datagram(seq: int, records: list[tuple[int, ...]], *, pid: int = PID, token: bytes = TOKEN) -> bytes:
    packed = b"".join(protocol.RECORD.pack(*r) for r in records)
    return protocol.encode(token, pid, seq, packed, len(records))


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector(TOKEN) as c:
        yield c


@pytest.fixture
def send(collector: Collector) -> Iterator[Callable[[bytes], None]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        yield lambda data: s.sendto(data, collector.address) and None


def seen(c: Collector) -> int:
    st = c.stats()
    return st.datagrams + st.rejected


def test_a_sequence_jump_of_2_63_is_refused_and_the_stream_goes_on(
    collector: Collector, send: Callable[[bytes], None]
) -> None:
    now = time.monotonic_ns()
    good = [request(now - 2_000, now - 1_000)]
    send(datagram(0, good))
    send(datagram(1, good))
    send(datagram(2**63, good))  # a valid token, an impossible jump
    send(datagram(2**64 - 1, good, pid=PID + 1))  # a pid never seen, starting past any real count
    send(datagram(2, good))
    send(datagram(3, good))
    wait_for(lambda: seen(collector) == 6)
    stats = collector.stats()
    assert stats.lost == 0 and stats.restarts == 0
    assert stats.rejected_by_reason == {"seq": 2}
    assert [b.seq for b in collector.drain()] == [0, 1, 2, 3]


def test_a_real_gap_is_still_counted_as_lost(collector: Collector, send: Callable[[bytes], None]) -> None:
    now = time.monotonic_ns()
    good = [request(now - 2_000, now - 1_000)]
    send(datagram(0, good))
    send(datagram(1_000, good))  # 999 datagrams lost: a lot, but a worker can send that many
    wait_for(lambda: seen(collector) == 2)
    assert collector.stats().lost == 999


def test_impossible_pids_are_refused(collector: Collector, send: Callable[[bytes], None]) -> None:
    now = time.monotonic_ns()
    send(datagram(0, [request(now - 2_000, now - 1_000)], pid=0))
    send(datagram(0, [request(now - 2_000, now - 1_000)], pid=PID_MAX + 1))
    wait_for(lambda: seen(collector) == 2)
    assert collector.stats().rejected_by_reason == {"pid": 2}
    assert collector.drain() == []


def test_implausible_records_are_refused_and_counted_the_plausible_ones_kept(
    collector: Collector, send: Callable[[bytes], None]
) -> None:
    now = time.monotonic_ns()
    future = now + 10**9 * 86_400  # a day ahead: froze "server req/s" at 0 for the rest of a session
    records = [
        request(now - 2_000, now - 1_000),  # real
        request(now, future),
        (99, 0, 0, 0, now, now, 0),  # no such kind
        request(now - 1_000, now - 2_000),  # ends before it starts
        request(now - 2_000, now - 1_000, now),  # got its threadpool token after it ended
        request(1, 2),  # made long before the collector started
        lag(now - 1_000, 10**9 * 10**6),  # 10^9 ms of loop lag
        lag(now - 1_000, -5),
        lag(now - 1_000, 3_000_000),  # real: 3 ms
        pool(now - 1_000, tokens=40, borrowed=41, waiting=0),
        pool(now - 1_000, tokens=40, borrowed=12, waiting=3),  # real
    ]
    send(datagram(0, records))
    wait_for(lambda: seen(collector) == 1)
    stats = collector.stats()
    assert stats.implausible_by_reason == {
        "kind": 1,
        "past": 1,
        "future": 1,
        "duration": 2,
        "lag": 2,
        "pool": 1,
    }
    assert stats.implausible == 8 and stats.records == 11 and stats.lost == 0
    (batch,) = collector.drain()
    kept = batch.records
    assert kept["kind"].tolist() == [protocol.KIND_REQUEST, protocol.KIND_LAG, protocol.KIND_POOL]
    assert protocol.of_kind(kept, protocol.KIND_LAG)["lag_ns"].tolist() == [3_000_000]


def test_random_junk_never_stops_the_collector(collector: Collector, send: Callable[[bytes], None]) -> None:
    rng = random.Random(8)
    now = time.monotonic_ns()
    header = datagram(0, [])[: protocol.HEADER_SIZE]
    junk = [rng.randbytes(rng.randrange(0, 2_000)) for _ in range(300)]
    # a valid header with random records: every field anything at all
    junk += [
        protocol.encode(TOKEN, PID, 0, rng.randbytes(32 * n), n)
        for n in (rng.randrange(1, 64) for _ in range(100))
    ]
    junk += [header[:i] for i in range(protocol.HEADER_SIZE)]
    for data in junk:
        send(data)
    send(datagram(1, [request(now - 2_000, now - 1_000)], pid=PID + 7))
    wait_for(lambda: seen(collector) == len(junk) + 1)
    stats = collector.stats()
    assert stats.rejected >= 300  # the random bytes and the cut headers; the random records get checked
    assert stats.lost <= 1 + MAX_SEQ_GAP  # never 2^63: at most one plausible gap per stream
    # after the junk, a real datagram still comes through
    assert any(b.pid == PID + 7 for b in collector.drain())


def test_the_checks_let_real_records_through_untouched() -> None:
    now = time.monotonic_ns()
    born = now - 5 * 10**9
    real = np.frombuffer(
        b"".join(
            protocol.RECORD.pack(*r)
            for r in (
                request(born + 1, now),
                lag(now, now - born),  # the loop was stuck the whole session: possible
                pool(now, 1000, 1000, 0),
                (protocol.KIND_HELLO, 0, 0, 1, now + CLOCK_SLACK_NS, 1, 0),
            )
        ),
        dtype=protocol.RECORD_DTYPE,
    )
    assert check(real, born, now) is None


def test_sequence_tracker_ignores_a_jump_it_could_not_have_lost() -> None:
    t = SequenceTracker()
    assert t.see(1, 0) and t.see(1, 1)
    assert not t.see(1, 2**63)
    assert not t.see(2, 2**63)  # first seen that far in: not a worker of ours
    assert t.see(1, 2) and t.see(1, 0)  # a new process reusing the pid: a restart, nothing lost
    assert (t.lost, t.restarts) == (0, 1)


# ---- telemetry: a real Lab, a real server, real load, forged datagrams ------------------------------


async def test_after_forged_telemetry_server_rps_still_follows_the_real_traffic() -> None:
    lab = Lab(Scenario(workers=1), LoadSpec(endpoint="io/async", ms=10, users=10))
    async with lab:
        await lab.start_load()
        await asyncio.sleep(3.0)
        before = lab.snapshot()
        assert before.server_rps > 0
        worker = before.workers[0].pid
        collector = lab._rig.collector  # the session's own collector and token: a sender that knows them
        assert collector is not None
        token = lab._rig._token
        now = time.monotonic_ns()
        forged = [
            datagram(2**63, [request(now, now + 1)], pid=worker, token=token),  # the seq jump
            datagram(0, [request(now, now + 10**9 * 86_400)] * 64, pid=worker + 1, token=token),
            datagram(1, [lag(now, 10**9 * 10**6)] * 64, pid=worker + 1, token=token),
        ]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for data in forged:
                s.sendto(data, collector.address)
        await asyncio.sleep(3.0)
        after = lab.snapshot()
        await lab.stop_load()
    # the real traffic still shows, at the rate the client sees
    assert after.server_rps == pytest.approx(after.client_rps, rel=0.25)
    assert after.server_rps > 0.5 * before.server_rps
    # the junk is counted as junk, never as loss
    assert after.telemetry.lost == 0
    assert after.telemetry.rejected >= 1
    assert after.telemetry.implausible >= 128
    assert (
        max((float(np.nanmax(a)) for a in after.series.loop_lag_ms.values() if a.size), default=0.0) < 1_000
    )
