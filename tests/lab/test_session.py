"""The Lab against real server trees and a real load process (plain asyncio, no Qt)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import psutil
import pytest

from asgiscope.server.lab.session import Lab, LabError
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario


async def settle(lab: Lab, seconds: float) -> Snapshot:
    await asyncio.sleep(seconds)
    return lab.snapshot()


def tree_pids(snap: Snapshot) -> list[int]:
    return [snap.master_pid, *(w.pid for w in snap.workers)]


async def test_raising_users_live_raises_throughput() -> None:
    lab = Lab(Scenario(workers=1), LoadSpec(endpoint="io/async", ms=100, users=10))
    async with lab:
        await lab.start_load()
        low = await settle(lab, 3.0)
        load_pid = next(p.pid for p in low.processes if p.role == "load")
        await lab.set_load(lab.load.with_changes(users=50))
        high = await settle(lab, 3.0)
        # The same load process took the change: nothing was restarted.
        assert next(p.pid for p in high.processes if p.role == "load") == load_pid
        assert low.client_rps == pytest.approx(100, rel=0.2)
        assert high.client_rps == pytest.approx(500, rel=0.2)
        assert high.client_rps / low.client_rps > 3.5
        assert any("users 10→50" in m.label for m in high.markers)
        # N / S = 500; on a machine other sessions keep busy the prediction bends a little below it
        assert high.prediction is not None and 500 * 0.85 <= high.prediction.throughput_rps <= 500 * 1.03
        assert high.server_rps == pytest.approx(high.client_rps, rel=0.2)


async def test_client_count_equals_server_count_and_nothing_is_lost() -> None:
    lab = Lab(Scenario(workers=2), LoadSpec(endpoint="io/async", ms=20, users=40))
    async with lab:
        before = (await settle(lab, 0.5)).server_requests  # the launcher's readiness probes
        await lab.start_load()
        await asyncio.sleep(3.0)
        await lab.stop_load()
        snap = await settle(lab, 1.0)
        assert snap.requests > 2000
        assert snap.server_requests - before == snap.requests
        assert snap.telemetry.lost == 0
        assert sum(w.requests for w in snap.workers) == snap.server_requests
        pids = tree_pids(snap)
    assert not [p for p in pids if psutil.pid_exists(p)]


async def test_scaling_and_restart_are_applied_and_marked() -> None:
    lab = Lab(Scenario(workers=1), LoadSpec(endpoint="io/async", ms=50, users=20))
    async with lab:
        await lab.start_load()
        await asyncio.sleep(1.0)
        await lab.apply(lab.scenario.with_changes(workers=2))
        snap = await settle(lab, 2.0)
        assert len(snap.workers) == 2
        assert any(m.label == "workers 1→2" for m in snap.markers)
        old_master = snap.master_pid
        await lab.apply(lab.scenario.with_changes(loop="uvloop", http="httptools"))
        snap = await settle(lab, 2.5)
        assert snap.master_pid != old_master
        assert snap.state == "running"
        assert snap.scenario.loop == "uvloop"
        assert any(e.kind == "restarted" for e in snap.events)
        assert snap.client_rps == pytest.approx(400, rel=0.25)  # load resumed on the same URL
        assert not psutil.pid_exists(old_master)


async def test_a_killed_worker_is_shown_and_replaced() -> None:
    lab = Lab(Scenario(workers=2), LoadSpec(endpoint="hello", users=5))
    async with lab:
        await asyncio.sleep(0.5)
        victim = lab.snapshot().workers[0].pid
        psutil.Process(victim).kill()
        for _ in range(40):
            snap = await settle(lab, 0.25)
            alive = [w.pid for w in snap.workers if w.alive]
            if len(alive) == 2 and victim not in alive:
                break
        alive = [w.pid for w in snap.workers if w.alive]
        assert victim not in alive
        assert len(alive) == 2
        assert any(e.kind == "worker_exited" and e.pid == victim for e in snap.events)
        # the dead worker stays on screen a moment, marked dead, beside its replacement
        dead = [w for w in snap.workers if not w.alive]
        assert [w.pid for w in dead] == [victim] or snap.t - next(
            e.t for e in snap.events if e.kind == "worker_exited"
        ) > 5.0


async def test_a_crashed_master_is_restarted() -> None:
    lab = Lab(Scenario(workers=1), LoadSpec(endpoint="hello", users=5))
    async with lab:
        await asyncio.sleep(0.5)
        first = lab.snapshot().master_pid
        psutil.Process(first).kill()
        for _ in range(80):
            snap = await settle(lab, 0.25)
            if snap.state == "running" and snap.master_pid not in (0, first):
                break
        assert snap.master_pid not in (0, first)
        assert any(e.kind == "crashed" for e in snap.events)
        assert "recovered" in snap.message


def server_processes() -> list[psutil.Process]:
    """Our descendants that belong to a server tree (masters, workers, their helpers)."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if any("asgiscope.server.launch" in a or "multiprocessing" in a for a in p.cmdline()):
                out.append(p)
        except psutil.Error:
            continue
    return out


@pytest.mark.parametrize("cancel_after", [0.05, 0.8])
async def test_closing_during_a_restart_leaves_no_server_behind(cancel_after: float) -> None:
    # The window closed mid-restart: the apply is cancelled wherever it is (stopping the old tree,
    # or waiting for the new one), and close() must still leave nothing running.
    lab = Lab(Scenario(workers=1), LoadSpec(endpoint="hello", users=2))
    await lab.start()
    try:
        apply = asyncio.create_task(lab.apply(lab.scenario.with_changes(http="httptools")))
        await asyncio.sleep(cancel_after)
        apply.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await apply
    finally:
        await lab.close()
    deadline = time.monotonic() + 3.0
    while (left := server_processes()) and time.monotonic() < deadline:  # noqa: ASYNC110 -- polling the OS
        await asyncio.sleep(0.1)
    assert not left, [(p.pid, p.cmdline()[:4]) for p in left]


async def test_apply_after_a_failed_restart_starts_the_server_again() -> None:
    lab = Lab(Scenario(workers=1), LoadSpec(endpoint="hello", users=2))
    async with lab:
        port = int(lab.url.rsplit(":", 1)[1])
        # Take the port away between the old tree's stop and the new tree's start: the restart and
        # its fall-back both fail, and the Lab is left without a server.
        lab._busy = True  # keep the crash watchdog from restarting it first (apply resets this)
        await lab._rig.tree.stop()  # type: ignore[union-attr]
        blocker = socket.socket()
        blocker.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # past TIME_WAIT; a listener still excludes
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        try:
            with pytest.raises(LabError):
                await lab.apply(lab.scenario.with_changes(http="httptools"))
            assert lab.snapshot().state == "error" or lab._rig.tree is None
        finally:
            blocker.close()
        await lab.apply(lab.scenario.with_changes(http="httptools"))
        snap = await settle(lab, 0.5)
        assert snap.state == "running" and snap.scenario.http == "httptools" and len(snap.workers) == 1
