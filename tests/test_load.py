"""The load generator against a real uvicorn server on 127.0.0.1: real processes, no mocks."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from asgiscope.server.demo.config import WorkerConfig
from asgiscope.server.load import hist
from asgiscope.server.load.group import LoadGroup, split_spec
from asgiscope.server.load.handle import LoadProcess
from asgiscope.server.load.spec import LoadReport, LoadSpec
from tests.uvicorn_proc import free_port, run_server

WARMUP_S = 0.5
_SERVER_ARGS = ("asgiscope.server.demo.app:app_factory", "--factory", "--host", "127.0.0.1", "--workers", "1")


@dataclass
class Server:
    url: str
    log: Path

    def count(self, request_line: str) -> int:
        """Server-side count from uvicorn's access log: one line per response it sent."""
        needle = f'"GET {request_line} HTTP/1.1" 200'
        return sum(needle in line for line in self.log.read_text().splitlines())


def _start_server(log: Path) -> Iterator[Server]:
    """The demo app with its access log (one line per response) in ``log``."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", *_SERVER_ARGS, "--port", str(port)]
    with run_server(WorkerConfig(watch_parent=False), cmd, port=port, stdout=log) as srv:
        yield Server(srv.url, log)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start_server(tmp_path_factory.mktemp("server") / "access.log")


@pytest.fixture
def blocked_server(tmp_path: Path) -> Iterator[Server]:
    # Its own server: a blocked loop with a queue behind it must not slow the other tests.
    yield from _start_server(tmp_path / "access.log")


async def _collect(lp: LoadProcess | LoadGroup, seconds: float) -> list[LoadReport]:
    lp.drain()
    await asyncio.sleep(seconds)
    return lp.drain()


def _rate(reports: list[LoadReport]) -> float:
    return sum(r.completed for r in reports) / sum(r.interval_s for r in reports)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_closed_loop_users_live(server: Server) -> None:
    """10 users x 100 ms give ~100 req/s; raised live to 50 they give ~500 req/s (X = N / S)."""
    spec = LoadSpec(endpoint="io/async", ms=100, users=10)
    lp = LoadProcess(server.url, spec)
    await lp.start()
    try:
        await asyncio.sleep(WARMUP_S)
        low = _rate(await _collect(lp, 1.5))
        await lp.update(spec.with_changes(users=50))
        await asyncio.sleep(WARMUP_S)
        reports = await _collect(lp, 2.0)
        high = _rate(reports)
        assert 80 <= low <= 120, low
        assert 400 <= high <= 600, high
        assert 4.0 <= high / low <= 6.0, (low, high)
        assert all(r.users == 50 for r in reports)
        assert all(r.interval_s <= 0.15 for r in reports), [r.interval_s for r in reports]
        assert not any(r.errors for r in reports)
        p50_ms = hist.merge_histograms(reports).get_value_at_percentile(50) / 1000
        assert 100 <= p50_ms < 150, p50_ms
    finally:
        await lp.stop()


async def test_open_loop_rate_below_capacity(server: Server) -> None:
    lp = LoadProcess(server.url, LoadSpec(mode="open", rate=200.0, endpoint="io/async", ms=50))
    await lp.start()
    try:
        await asyncio.sleep(WARMUP_S)
        reports = await _collect(lp, 2.0)
        rate = _rate(reports)
        assert 180 <= rate <= 220, rate
        intended = sum(r.intended for r in reports) / sum(r.interval_s for r in reports)
        assert 190 <= intended <= 210, intended
        assert sum(r.overflow for r in reports) == 0
        assert all(r.users == 0 for r in reports)
    finally:
        await lp.stop()


async def test_open_loop_does_not_hide_a_blocked_server(blocked_server: Server) -> None:
    """100/s at a loop-blocking 50 ms endpoint (capacity 20/s): latency from the intended send time
    climbs as the queue builds, then sends past the in-flight cap are counted as overflow."""
    spec = LoadSpec(mode="open", rate=100.0, endpoint="io/blocking", ms=50, max_in_flight=20)
    lp = LoadProcess(blocked_server.url, spec)
    await lp.start()
    try:
        reports = await _collect(lp, 3.0)
        early = hist.merge_histograms(reports[:5])
        late = hist.merge_histograms(reports[-10:])
        # The tail, not the median: a blocked uvicorn loop serves its queue out of order, so some
        # requests come back quickly while others wait seconds (the mean follows Little's law).
        early_ms = early.get_value_at_percentile(99) / 1000
        late_ms = late.get_value_at_percentile(99) / 1000
        assert late_ms > 800, late_ms  # 20 in flight at 20/s: ~1 s on average, more in the tail
        assert late_ms > 3 * early_ms, (early_ms, late_ms)
        assert sum(r.overflow for r in reports[-10:]) > 50
        assert 14 <= _rate(reports[-20:]) <= 24  # the server's capacity, not the offered rate
        assert max(r.in_flight for r in reports) <= 20
    finally:
        await lp.stop()


async def test_client_count_equals_server_count(server: Server) -> None:
    spec = LoadSpec(endpoint="io/async", ms=23, users=20)  # a path no other test uses
    lp = LoadProcess(server.url, spec)
    await lp.start()
    try:
        reports = await run_then_pause(lp, spec, 1.5)
        assert reports[-1].sent == 0 and reports[-1].in_flight == 0
        assert lp.alive  # paused, not stopped
    finally:
        await lp.stop()
    client = sum(r.completed for r in reports)
    assert client > 200
    assert sum(r.sent for r in reports) == client
    assert client == server.count("/io/async?ms=23")


async def run_then_pause(lp: LoadProcess, spec: LoadSpec, seconds: float) -> list[LoadReport]:
    """Every report of ``seconds`` of load, then of the pause until nothing is in flight."""
    await asyncio.sleep(seconds)
    await lp.update(spec.with_changes(running=False))
    reports = lp.drain()  # everything since the start
    for _ in range(30):  # retired users finish their current request first
        await asyncio.sleep(0.1)
        reports += lp.drain()
        if reports[-1].in_flight == 0 and reports[-1].users == 0:
            break
    await asyncio.sleep(0.3)
    return reports + lp.drain()


async def test_httpx_engine_and_live_engine_switch(server: Server) -> None:
    # httpx costs ~1 ms of client CPU per request here: 10 users in step keep that batch cost small.
    spec = LoadSpec(endpoint="io/async", ms=100, users=10, engine="httpx")
    lp = LoadProcess(server.url, spec)
    await lp.start()
    try:
        await asyncio.sleep(WARMUP_S)
        reports = await _collect(lp, 1.5)
        assert 80 <= _rate(reports) <= 110, _rate(reports)
        assert not any(r.errors for r in reports)
        await lp.update(spec.with_changes(engine="aiohttp", users=20))
        await asyncio.sleep(WARMUP_S)
        reports = await _collect(lp, 1.0)
        assert 160 <= _rate(reports) <= 220, _rate(reports)
        assert not any(r.errors for r in reports)
    finally:
        await lp.stop()


async def test_live_endpoint_change(server: Server) -> None:
    spec = LoadSpec(endpoint="hello", users=4)
    lp = LoadProcess(server.url, spec)
    await lp.start()
    try:
        await lp.update(spec.with_changes(endpoint="io/async", ms=200))
        await asyncio.sleep(0.3)
        reports = await _collect(lp, 1.2)
        p50_ms = hist.merge_histograms(reports).get_value_at_percentile(50) / 1000
        assert 200 <= p50_ms < 260, p50_ms
    finally:
        await lp.stop()


async def test_status_errors_are_counted_by_kind(server: Server) -> None:
    lp = LoadProcess(server.url + "/nowhere", LoadSpec(endpoint="hello", users=2))
    await lp.start()
    try:
        reports = await _collect(lp, 0.5)
        completed = sum(r.completed for r in reports)
        assert completed > 0
        assert sum(r.errors.get("status_4xx", 0) for r in reports) == completed
        assert sum(r.ok for r in reports) == 0
    finally:
        await lp.stop()


async def test_bad_url_counts_connect_errors(server: Server) -> None:
    lp = LoadProcess(f"http://127.0.0.1:{free_port()}", LoadSpec(users=5))
    await lp.start()
    try:
        reports = await _collect(lp, 0.6)
        assert lp.alive
        assert sum(r.errors.get("connect", 0) for r in reports) > 10
        assert sum(r.completed for r in reports) == 0
        assert max(r.cpu_percent for r in reports[1:]) < 60  # backs off, does not spin
    finally:
        await lp.stop()
    assert lp.exit_code == 0


async def test_stop_leaves_no_process(server: Server) -> None:
    lp = LoadProcess(server.url, LoadSpec(users=10))
    await lp.start()
    pid = lp.pid
    assert pid is not None and lp.alive
    started = time.monotonic()
    await lp.stop()
    await lp.stop()  # idempotent
    assert time.monotonic() - started < 2.0
    assert not lp.alive and lp.exit_code == 0
    assert _gone(pid)
    assert "loop=uvloop" in lp.stderr_tail or "loop=asyncio" in lp.stderr_tail


def test_closing_stdin_ends_the_process(server: Server) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "asgiscope.server.load.main", "--url", server.url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    first = LoadReport.from_json(proc.stdout.readline().decode())
    assert first.interval_s <= 0.15
    proc.stdin.close()
    assert proc.wait(2) == 0


def test_owner_killed_child_exits(server: Server) -> None:
    """The orphan-proofing: SIGKILL the owner, its load process goes with it (stdin EOF)."""
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, server.url], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    child = int(owner.stdout.readline())
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 3
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)


_OWNER = """
import asyncio, sys
from asgiscope.server.load.handle import LoadProcess
from asgiscope.server.load.spec import LoadSpec

async def main():
    lp = LoadProcess(sys.argv[1], LoadSpec(users=5))
    await lp.start()
    print(lp.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_bad_arguments_exit_2_with_a_message() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "asgiscope.server.load.main",
            "--url",
            "http://x",
            "--spec",
            '{"users": 0}',
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 2
    assert "users" in done.stderr


async def test_group_splits_users(server: Server) -> None:
    assert [p.users for p in split_spec(LoadSpec(users=5), 2)] == [3, 2]
    assert [p.running for p in split_spec(LoadSpec(users=1), 2)] == [True, False]
    group = LoadGroup(server.url, LoadSpec(endpoint="io/async", ms=100, users=40), processes=2)
    await group.start()
    try:
        assert len(set(group.pids)) == 2 and group.alive
        await asyncio.sleep(WARMUP_S)
        reports = await _collect(group, 1.5)
        completed = sum(r.completed for r in reports)
        assert 320 <= completed / 1.5 <= 480, completed
        assert hist.merge_histograms(reports).get_total_count() == completed
    finally:
        await group.stop()
    assert group.exit_code == 0


def test_histogram_round_trip() -> None:
    h = hist.new_histogram()
    for us in (150, 1_000, 99_000, 120_000_000):  # the last is clamped, not dropped
        hist.record_us(h, us)
    back = hist.decode(hist.encode(h))
    assert back.get_total_count() == 4
    assert back.get_max_value() >= 59_000_000
    assert back.get_value_at_percentile(50) == h.get_value_at_percentile(50)
    assert hist.decode("").get_total_count() == 0
