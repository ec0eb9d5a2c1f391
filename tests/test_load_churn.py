"""Connection churn: each engine opens as many connections as the connection kind says, seen by a real
server on 127.0.0.1 that counts the connections it accepts; and the pure logic of ``Churn``."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator
from typing import get_args

import pytest

from asgiscope.server.load.churn import JITTER, LIFETIME_S, Churn, connects_per_request
from asgiscope.server.load.drivers import ClosedLoop, Target
from asgiscope.server.load.engines import make_engine
from asgiscope.server.load.recorder import Recorder
from asgiscope.server.load.spec import Connection, Engine, LoadSpec


class _Counting:
    """HTTP/1.1 keep-alive server that honours ``Connection: close`` and counts what it accepted."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.connections = 0
        self.requests = 0
        self.closing = 0  # requests that asked for the connection to close
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self._server.close_clients()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                close = b"\r\nconnection: close\r\n" in head.lower()
                self.closing += close
                await asyncio.sleep(self.delay_s)
                extra = b"Connection: close\r\n" if close else b""
                writer.write(b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: 2\r\n\r\nok")
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def counting() -> AsyncIterator[tuple[_Counting, str]]:
    server = _Counting(delay_s=0.005)
    url = await server.start()
    yield server, url + "/ok"
    await server.stop()


async def _drive(
    url: str, engine_name: Engine, connection: Connection, users: int, seconds: float
) -> Recorder:
    engine = make_engine(engine_name)
    recorder = Recorder()
    loop = ClosedLoop(engine, recorder, Target(url, Churn(connection)))
    try:
        loop.set_users(users)
        await asyncio.sleep(seconds)
        await loop.retire(grace_s=2.0)
    finally:
        await engine.close()
    return recorder


@pytest.mark.parametrize("engine", get_args(Engine))
async def test_per_request_opens_one_connection_per_request(
    counting: tuple[_Counting, str], engine: Engine
) -> None:
    server, url = counting
    recorder = await _drive(url, engine, "per-request", users=4, seconds=0.6)
    report = recorder.report(users=0)
    assert report.errors == {} and report.ok > 20
    assert server.requests == report.ok == server.connections == server.closing


@pytest.mark.parametrize("engine", get_args(Engine))
async def test_forever_keeps_one_connection_per_user(counting: tuple[_Counting, str], engine: Engine) -> None:
    server, url = counting
    recorder = await _drive(url, engine, "forever", users=4, seconds=0.6)
    report = recorder.report(users=0)
    assert report.errors == {} and report.ok > 20
    assert server.requests == report.ok
    assert server.connections == 4 and server.closing == 0


@pytest.mark.parametrize("engine", get_args(Engine))
async def test_one_second_renews_each_connection_about_every_second(
    counting: tuple[_Counting, str], engine: Engine
) -> None:
    """4 users for 2.2 s: each connection lives 0.5-1.5 s, so each user opens 2 to 5 of them, while
    each sends ~200 requests (5 ms each): keep-alive still carries almost all of them."""
    server, url = counting
    recorder = await _drive(url, engine, "1s", users=4, seconds=2.2)
    report = recorder.report(users=0)
    assert report.errors == {} and server.requests == report.ok
    assert 4 * 2 <= server.connections <= 4 * 5 + 1, server.connections
    assert server.closing >= server.connections - 4
    assert server.connections < report.ok / 10


# -- the pure logic --------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_per_request_and_forever_need_no_clock() -> None:
    churn = Churn("per-request", clock=lambda: pytest.fail("no clock needed"))
    assert all(churn.last(slot) for slot in range(5))
    churn.set_connection("forever")
    assert not any(churn.last(slot) for slot in range(5))


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999])
def test_one_second_life_is_jittered_around_a_second(draw: float) -> None:
    clock = _Clock()
    churn = Churn("1s", clock=clock, draw=lambda: draw)
    life = LIFETIME_S["1s"] * (1 - JITTER + 2 * JITTER * draw)
    assert churn.last(0) is False  # the first request opens the connection and starts its life
    clock.t += life - 0.001
    assert churn.last(0) is False
    assert churn.last(1) is False  # another slot's life is its own
    clock.t += 0.002
    assert churn.last(0) is True  # past its life: this request is the connection's last
    assert churn.last(0) is False  # ... and the next one opens a new connection with a new life


def test_lives_are_spread_so_users_do_not_reconnect_together() -> None:
    draws = itertools.cycle([0.1, 0.4, 0.7, 0.95])
    clock = _Clock()
    churn = Churn("1s", clock=clock, draw=lambda: next(draws))
    for slot in range(4):
        churn.last(slot)
    ends = []
    for _ in range(200):
        clock.t += 0.01
        ends += [clock.t for slot in range(4) if churn.last(slot)]
        if len(ends) >= 4:
            break
    assert max(ends[:4]) - min(ends[:4]) >= 0.5


def test_changing_the_kind_forgets_lives_drawn_for_the_old_one() -> None:
    clock = _Clock()
    churn = Churn("1s", clock=clock, draw=lambda: 0.5)
    churn.last(0)
    churn.set_connection("forever")
    churn.set_connection("1s")
    clock.t += 0.9
    assert churn.last(0) is False  # a fresh life starts here, not the one drawn before


def test_connects_per_request() -> None:
    assert connects_per_request("per-request", 0.1) == 1.0
    assert connects_per_request("forever", 0.1) == 0.0
    assert connects_per_request("1s", 0.1) == pytest.approx(0.1 / 1.1)
    assert connects_per_request("1s", 0.0) == 0.0
    assert math.isclose(connects_per_request("1s", 1.0), 0.5)


def test_the_spec_takes_every_connection_kind_and_refuses_others() -> None:
    for kind in get_args(Connection):
        assert LoadSpec.from_json(LoadSpec(connection=kind).to_json()).connection == kind
    assert LoadSpec().connection == "1s"
    with pytest.raises(ValueError, match="connection='sometimes' is not allowed: connection must be one of"):
        LoadSpec(connection="sometimes")  # type: ignore[arg-type]
