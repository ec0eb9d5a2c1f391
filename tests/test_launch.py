"""The launcher against real servers on 127.0.0.1: real processes, real HTTP, both server kinds."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psutil
import pytest

from asgiscope.server.launch import LaunchError, ServerTree
from asgiscope.server.launch.proctree import tree_pids, wait_gone
from asgiscope.server.launch.ready import poll_until
from asgiscope.server.limits import NotAllowedError
from asgiscope.server.scenario import Scenario, ServerKind

KINDS: list[ServerKind] = ["uvicorn", "gunicorn"]


def leftovers(pids: set[int]) -> set[int]:
    return wait_gone(pids, 3.0)


@asynccontextmanager
async def running(scenario: Scenario, **kwargs: Any) -> AsyncIterator[ServerTree]:
    """A started tree that is stopped afterwards, and proven gone (master, workers, helpers)."""
    tree = ServerTree(scenario, **kwargs)
    await tree.start()
    pids: set[int] = set()
    try:
        pids = tree_pids(tree.info().master_pid)
        yield tree
    finally:
        pids |= tree_pids(tree.info().master_pid) | set(tree.tree_pids_seen())
        await tree.stop()
        await tree.stop()  # idempotent
        assert not tree.alive
        assert leftovers(pids) == set()


async def get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


@pytest.mark.parametrize("kind", KINDS)
async def test_every_route_answers_from_the_right_thread(kind: ServerKind) -> None:
    async with running(Scenario(server=kind, workers=1, tokens=2)) as tree, httpx.AsyncClient() as client:
        info = tree.info()
        assert tree.alive and len(info.worker_pids) == 1 and info.master_pid not in info.worker_pids
        (worker,) = info.worker_pids
        hello = await get_json(client, f"{tree.url}/hello")
        assert hello["pid"] == worker  # the master never serves
        loop_tid = hello["tid"]
        for route in ("/io/async", "/io/blocking", "/cpu/async"):  # async def: on the event loop thread
            data = await get_json(client, f"{tree.url}{route}?ms=5")
            assert (data["route"], data["pid"], data["tid"]) == (route, worker, loop_tid)
        for route in ("/io/sync", "/cpu/sync"):  # def: in the threadpool
            data = await get_json(client, f"{tree.url}{route}?ms=5")
            assert data["pid"] == worker and data["tid"] != loop_tid
        assert (await client.get(f"{tree.url}/io/async?ms=10001")).status_code == 422

        # The scenario's tokens reach the worker: 6 concurrent sync sleeps share 2 threadpool threads.
        started = time.monotonic()
        replies = await asyncio.gather(*(get_json(client, f"{tree.url}/io/sync?ms=200") for _ in range(6)))
        assert len({r["tid"] for r in replies}) <= 2
        assert time.monotonic() - started >= 0.55  # 3 rounds of 200 ms, not 1


async def hammer(url: str, stop: asyncio.Event) -> tuple[int, list[str]]:
    """Fresh connection per request (Connection: close) so each one goes through the accept queue."""
    ok, errors = 0, []
    async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        while not stop.is_set():
            try:
                response = await client.get(f"{url}/hello", headers={"Connection": "close"})
                if response.status_code == 200:
                    ok += 1
                else:
                    errors.append(str(response.status_code))
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            await asyncio.sleep(0.005)
    return ok, errors


@pytest.mark.parametrize("kind", KINDS)
async def test_live_scaling_1_3_1_keeps_serving(kind: ServerKind) -> None:
    async with running(Scenario(server=kind, workers=1)) as tree:
        first = tree.info().worker_pids
        stop = asyncio.Event()
        load = asyncio.create_task(hammer(tree.url, stop))
        await asyncio.sleep(0.3)
        await tree.scale(3)
        assert len(tree.info().worker_pids) == 3 and tree.scenario.workers == 3
        await asyncio.sleep(1.0)  # let the new workers boot and serve a little
        await tree.scale(1)
        await asyncio.sleep(0.3)
        stop.set()
        ok, errors = await load
        info = tree.info()
        # A connection accepted by a worker in the instant it starts retiring is closed unanswered
        # (uvicorn treats a connection with no request read yet as idle at shutdown): at most one
        # such loss per retiring worker, and nothing else.
        assert ok > 20
        assert len(errors) <= 2 and all("disconnected without sending" in e for e in errors), errors
        assert len(info.worker_pids) == 1 and tree.scenario == Scenario(server=kind, workers=1)
        # uvicorn retires the newest workers, gunicorn the oldest: either way two exits, no restarts.
        survivor = first if kind == "uvicorn" else info.worker_pids
        assert info.worker_pids == survivor
        assert len(info.exits) == 2 and info.restarts == 0
        reasons = [(e.kind, e.reason) for e in tree.poll()]
        assert reasons.count(("start", "scale")) == 2 and reasons.count(("start", "boot")) == 1

        with pytest.raises(NotAllowedError, match="workers=0"):
            await tree.scale(0)
        with pytest.raises(NotAllowedError, match="workers=33"):
            await tree.scale(33)
        assert len(tree.info().worker_pids) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_killed_worker_is_replaced_and_reported(kind: ServerKind) -> None:
    async with running(Scenario(server=kind, workers=2)) as tree:
        victim = tree.info().worker_pids[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while (info := tree.info()).restarts < 1 or len(info.worker_pids) < 2:
            assert time.monotonic() < deadline, info
            await asyncio.sleep(0.05)
        assert victim not in info.worker_pids
        assert [(e.pid, e.code) for e in info.exits] == [(victim, -signal.SIGKILL)]
        replaced = [e for e in tree.poll() if e.kind == "start" and e.reason == "replace"]
        assert len(replaced) == 1 and replaced[0].pid in info.worker_pids
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{tree.url}/hello")).status_code == 200


async def test_restart_on_the_same_port_with_another_kind() -> None:
    async with running(Scenario(server="uvicorn", workers=1)) as tree, httpx.AsyncClient() as client:
        port = tree.port
        for _ in range(20):  # closed by the server: its side of the port collects TIME_WAIT entries
            await client.get(f"{tree.url}/hello", headers={"Connection": "close"})
    async with running(Scenario(server="gunicorn", workers=1), port=port) as tree, httpx.AsyncClient() as c:
        assert tree.port == port
        assert (await c.get(f"http://127.0.0.1:{port}/hello")).status_code == 200


@pytest.mark.parametrize(
    "scenario", [Scenario(server="uvicorn"), Scenario(server="gunicorn", socket="reuse_port")], ids=str
)
async def test_a_taken_port_fails_clearly_and_starts_nothing(scenario: Scenario) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        before = set(psutil.Process().children(recursive=True))
        tree = ServerTree(scenario, port=port)
        with pytest.raises(LaunchError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
            await tree.start()
        assert tree.master_pid is None and not tree.alive
        assert set(psutil.Process().children(recursive=True)) == before


@pytest.mark.parametrize("kind", KINDS)
async def test_a_master_crash_during_startup_raises_and_cleans_up(kind: ServerKind) -> None:
    tree = ServerTree(Scenario(server=kind, workers=2))
    starting = asyncio.create_task(tree.start())
    # Crash the master once it has started a worker.
    assert await poll_until(lambda: bool(tree.master_pid and len(tree_pids(tree.master_pid)) >= 2), 20, 0.01)
    assert tree.master_pid is not None
    pids = tree_pids(tree.master_pid)
    os.kill(tree.master_pid, signal.SIGKILL)
    with pytest.raises(LaunchError, match="exited during startup; master exit code -9"):
        await starting
    assert not tree.alive and leftovers(pids | set(tree.tree_pids_seen())) == set()


async def test_not_ready_in_time_raises_with_stderr_tail_and_cleans_up() -> None:
    tree = ServerTree(Scenario(workers=1), ready_timeout=0.2)
    with pytest.raises(LaunchError, match=r"not ready within 0.2 s \(.*\)\n--- server stderr \(tail\) ---"):
        await tree.start()
    assert leftovers(set(tree.tree_pids_seen())) == set()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"workers": 0}, "workers=0 is not allowed: workers must be a whole number from 1 to 32"),
        ({"tokens": 1001}, "tokens=1001 is not allowed"),
        ({"loop": "trio"}, "loop='trio' is not allowed: loop must be one of 'asyncio', 'uvloop'"),
        ({"server": "hypercorn"}, "server='hypercorn' is not allowed"),
        ({"socket": "reuse_port"}, "reuse_port needs gunicorn"),
    ],
)
def test_invalid_scenarios_are_refused_before_anything_starts(changes: dict[str, Any], message: str) -> None:
    before = set(psutil.Process().children(recursive=True))
    with pytest.raises(NotAllowedError, match=message.replace("(", r"\(")):
        ServerTree(Scenario(**changes))
    assert set(psutil.Process().children(recursive=True)) == before


OWNER = """
import asyncio, json, sys
from asgiscope.server.launch import ServerTree
from asgiscope.server.launch.proctree import tree_pids
from asgiscope.server.scenario import Scenario

async def main():
    tree = ServerTree(Scenario(server=sys.argv[1], workers=2))
    await tree.start()
    print(json.dumps(sorted(tree_pids(tree.info().master_pid))), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


@pytest.mark.parametrize("kind", KINDS)
def test_no_process_of_the_tree_survives_a_sigkilled_owner(kind: ServerKind) -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, kind], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    line = owner.stdout.readline()
    assert line, "the owner did not start its tree"
    pids = set(json.loads(line))
    assert len(pids) >= 3  # master and two workers (uvicorn adds multiprocessing's resource tracker)
    owner.kill()
    owner.wait()
    assert wait_gone(pids, 3.0) == set()


@pytest.mark.parametrize("kind", KINDS)
async def test_workers_exit_when_their_master_is_sigkilled(kind: ServerKind) -> None:
    tree = ServerTree(Scenario(server=kind, workers=2))
    await tree.start()
    workers = set(tree.info().worker_pids)
    os.kill(tree.info().master_pid, signal.SIGKILL)
    started = time.monotonic()
    left = wait_gone(workers, 3.0)  # their own lifeline: nobody kills them for us
    elapsed = time.monotonic() - started
    await tree.stop()
    assert left == set() and elapsed < 1.5
