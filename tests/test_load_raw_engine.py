"""The ``raw`` engine against real servers on 127.0.0.1: the demo app under uvicorn (through the real
load process), and a tiny hand-rolled HTTP server that misbehaves on purpose (chunked bodies, one
byte per write, ``Connection: close``, idle closes, a reply that never comes)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import uvloop

from asgiscope.server.load import hist, raw_engine
from asgiscope.server.load.aiohttp_engine import AiohttpEngine
from asgiscope.server.load.drivers import send
from asgiscope.server.load.engines import HttpEngine
from asgiscope.server.load.handle import LoadProcess
from asgiscope.server.load.raw_engine import RawEngine
from asgiscope.server.load.recorder import Recorder
from asgiscope.server.load.spec import LoadReport, LoadSpec
from tests.test_load import Server, _collect, _rate, _start_server, run_then_pause
from tests.uvicorn_proc import free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Its own demo server (terminated in the generator's finally), so its access log counts only ours.
    yield from _start_server(tmp_path_factory.mktemp("raw") / "access.log")


# -- the demo app, through the real load process (uvloop) ---------------------------------------


async def test_closed_loop_latency_and_counts_match_the_server(server: Server) -> None:
    """20 users x 100 ms: ~200 req/s at ~100 ms, and every response the server sent is counted once."""
    spec = LoadSpec(endpoint="io/async", ms=100, users=20, engine="raw")
    lp = LoadProcess(server.url, spec)
    await lp.start()
    try:
        reports = await run_then_pause(lp, spec, 1.5)
    finally:
        await lp.stop()
    assert not any(r.errors for r in reports)
    client = sum(r.completed for r in reports)
    assert sum(r.sent for r in reports) == client == sum(r.ok for r in reports)
    assert client == server.count("/io/async?ms=100")
    steady = [r for r in reports[5:] if r.users == 20]
    assert 160 <= _rate(steady) <= 220, _rate(steady)
    p50_ms = hist.merge_histograms(reports).get_value_at_percentile(50) / 1000
    assert 100 <= p50_ms < 130, p50_ms


async def test_open_loop_rate_is_met(server: Server) -> None:
    """Open loop borrows slots per request: connections are reused, the rate is met, no errors."""
    spec = LoadSpec(mode="open", rate=200.0, endpoint="io/async", ms=50, engine="raw")
    lp = LoadProcess(server.url, spec)
    await lp.start()
    try:
        await asyncio.sleep(0.5)
        reports = await _collect(lp, 1.5)
    finally:
        await lp.stop()
    assert 180 <= _rate(reports) <= 220, _rate(reports)
    assert not any(r.errors for r in reports) and sum(r.overflow for r in reports) == 0
    p50_ms = hist.merge_histograms(reports).get_value_at_percentile(50) / 1000
    assert 50 <= p50_ms < 75, p50_ms


async def test_404_is_counted_as_status_4xx(server: Server) -> None:
    lp = LoadProcess(server.url + "/nowhere", LoadSpec(endpoint="hello", users=2, engine="raw"))
    await lp.start()
    try:
        reports = await _collect(lp, 0.5)
    finally:
        await lp.stop()
    completed = sum(r.completed for r in reports)
    assert completed > 0
    assert sum(r.errors.get("status_4xx", 0) for r in reports) == completed
    assert sum(r.ok for r in reports) == 0


async def test_nothing_listening_counts_connect_errors() -> None:
    lp = LoadProcess(f"http://127.0.0.1:{free_port()}", LoadSpec(users=5, engine="raw"))
    await lp.start()
    try:
        reports = await _collect(lp, 0.6)
        assert lp.alive
    finally:
        await lp.stop()
    assert lp.exit_code == 0
    assert sum(r.errors.get("connect", 0) for r in reports) > 10
    assert set().union(*(r.errors for r in reports)) == {"connect"}
    assert sum(r.completed for r in reports) == 0


# -- a hand-rolled server that misbehaves on purpose --------------------------------------------

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
_SPLIT = (
    b"HTTP/1.1 201 Created\r\nX-Padding: " + b"p" * 40 + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n0\r\n\r\n"
)


class _Misbehaving:
    """Replies by path. ``responses`` counts complete responses sent, ``requests`` requests read."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                self.requests[path] += 1
                if not await self._reply(path, served, writer):
                    break
                self.responses[path] += 1
                served += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _reply(self, path: str, served: int, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False closes the connection (after counting the response if sent)."""
        if path == "/ok":
            writer.write(_OK)
        elif path == "/404":
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        elif path == "/chunked":
            writer.write(_CHUNKED)
        elif path == "/split":
            for i in range(len(_SPLIT)):  # one byte per write, a loop turn between: one per read
                writer.write(_SPLIT[i : i + 1])
                await writer.drain()
                await asyncio.sleep(0)
        elif path == "/close":
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
            self.responses[path] += 1
            return False
        elif path == "/eof-body":  # no framing at all: the body ends where the connection does
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
            self.responses[path] += 1
            return False
        elif path == "/idle-close":  # keep-alive, then closed soon after as idle
            writer.write(_OK)
            asyncio.get_running_loop().call_later(0.02, writer.close)
        elif path == "/drop-reused" and served:  # the race: closed as idle just as the request came
            return False
        elif path == "/drop-reused":
            writer.write(_OK)
        elif path == "/drop":
            return False
        elif path == "/truncated":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf.")
            return False
        elif path == "/double":  # a server out of step: two responses to one request
            writer.write(_OK + _OK)
        elif path == "/silent":
            await asyncio.sleep(10)
            return False
        else:
            raise AssertionError(path)
        await writer.drain()
        return True


async def _send(engine: HttpEngine, url: str, n: int = 1, pause_s: float = 0.0, slot: int = 0) -> LoadReport:
    """``n`` requests one after another on one slot, tallied the way the load loops do it."""
    recorder = Recorder()
    for _ in range(n):
        await send(engine, recorder, slot, url, time.perf_counter())
        await asyncio.sleep(pause_s)
    return recorder.report(users=1)


async def _misbehaving_scenarios() -> None:
    srv = _Misbehaving()
    base = await srv.start()
    engine = RawEngine()
    try:
        for path, status in (("/ok", 200), ("/404", 404), ("/chunked", 200), ("/split", 201)):
            assert await engine.get(0, base + path) == status
        r = await _send(engine, base + "/ok", 3)
        assert (r.completed, r.ok, r.errors) == (3, 3, {})
        assert srv.connections == 1  # one keep-alive connection carried all of the above
        r = await _send(engine, base + "/404", 2)
        assert (r.completed, r.ok, r.errors) == (2, 0, {"status_4xx": 2})
        r = await _send(engine, base + "/split", 3)
        assert (r.completed, r.ok) == (3, 3)
        assert srv.connections == 1

        cases: list[tuple[str, int, float, int, dict[str, int]]] = [
            # path, requests, pause between, ok, errors
            ("/close", 3, 0.0, 3, {}),  # Connection: close → a new connection for the next one
            ("/eof-body", 3, 0.0, 3, {}),
            ("/idle-close", 3, 0.1, 3, {}),  # the close is seen while idle: just reconnect
            # the close races our request (or the worker died): counted, then resent once
            ("/drop-reused", 4, 0.0, 4, {"disconnect": 3}),
            ("/drop", 2, 0.0, 0, {"disconnect": 2}),  # a fresh connection dropped: an error
            ("/truncated", 2, 0.0, 0, {"disconnect": 2}),
            ("/double", 3, 0.0, 3, {}),  # the extra response is not taken for the next request
        ]
        for slot, (path, n, pause_s, ok, errors) in enumerate(cases, start=1):
            connections = srv.connections  # a slot of its own: no connection to reuse at first
            r = await _send(engine, base + path, n, pause_s, slot)
            attempts = ok + sum(errors.values())  # every attempt sent ends in a response or an error
            assert (r.completed, r.ok, r.errors, r.sent, r.in_flight) == (ok, ok, errors, attempts, 0), path
            assert srv.responses[path] == ok, path
            assert srv.connections - connections == n, path  # none of these can be reused
        assert srv.requests["/drop-reused"] == 4 + 3  # three resends
        assert srv.requests["/drop"] == 2  # a fresh connection is never resent on

        # A reused connection that is dropped, then the fresh one too: resent once, both counted.
        r = await _send(engine, base + "/drop")
        assert (r.completed, r.errors, r.sent) == (0, {"disconnect": 2}, 2)
        assert srv.requests["/drop"] == 2 + 2

        # Two requests on one slot at once get two connections, never a pipeline.
        connections = srv.connections
        both = await asyncio.gather(engine.get(9, base + "/ok"), engine.get(9, base + "/split"))
        assert list(both) == [200, 201] and srv.connections - connections == 2
    finally:
        await engine.close()
        await srv.stop()


def _run(coro: Callable[[], Coroutine[Any, Any, None]], loop: str) -> None:
    factory = uvloop.new_event_loop if loop == "uvloop" else None
    asyncio.run(coro(), loop_factory=factory)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_parser_and_connection_handling(loop: str) -> None:
    _run(_misbehaving_scenarios, loop)


async def _timeout_scenario() -> None:
    srv = _Misbehaving()
    base = await srv.start()
    engine = RawEngine()
    try:
        started = time.monotonic()
        r = await _send(engine, base + "/silent")
        assert (r.completed, r.errors, r.sent, r.in_flight) == (0, {"timeout": 1}, 1, 0)
        assert 0.2 <= time.monotonic() - started < 1.0
        assert await engine.get(0, base + "/ok") == 200  # the timed-out connection is not reused
    finally:
        await engine.close()
        await srv.stop()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_timeout_is_counted_as_timeout(loop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(raw_engine, "TOTAL_TIMEOUT_S", 0.2)
    _run(_timeout_scenario, loop)


async def test_bad_url_is_an_error_of_kind_other() -> None:
    engine = RawEngine()
    r = await _send(engine, "https://127.0.0.1:1/hello")
    assert r.errors == {"other": 1}
    await engine.close()


async def test_aiohttp_does_not_resend_silently() -> None:
    """aiohttp would resend a GET whose reused connection dropped and count nothing: each drop counts."""
    srv = _Misbehaving()
    base = await srv.start()
    engine = AiohttpEngine()
    try:
        r = await _send(engine, base + "/drop-reused", 4)
        assert (r.completed, r.ok, r.errors, r.sent) == (4, 4, {"disconnect": 3}, 7)
        assert srv.requests["/drop-reused"] == 4 + 3  # each drop resent once by the loop, and counted
    finally:
        await engine.close()
        await srv.stop()
