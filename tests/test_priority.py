"""The priority policy (server/priority.py) on real process trees: what the app asks for is what the
master, every worker (scaled in or not), every load process and a replaced one run at; the server
session's autogroup niceness only with ``WINDOW_FIRST`` (where Linux has autogroups); ``asgiscope run``'s
default changes nothing."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from asgiscope.server.lab.session import Lab
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.launch.tree import ServerTree
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.priority import (
    BELOW_WINDOW,
    MAX_NICE,
    SAME,
    WINDOW_FIRST,
    Priority,
    own_session_nice,
)
from asgiscope.server.scenario import Scenario
from tests.waiting import until_snapshot

needs_niceness = pytest.mark.skipif(not hasattr(os, "getpriority"), reason="this OS has no niceness")


def _nice(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def _autogroup(pid: int) -> str | None:
    """``/autogroup-N nice K`` for pid, or None where the kernel has no autogroups."""
    try:
        return Path(f"/proc/{pid}/autogroup").read_text().strip()
    except OSError:
        return None


def _roles(snap: Snapshot, role: str) -> list[int]:
    return [p.pid for p in snap.processes if p.role == role]


async def _until(lab: Lab, ok: Callable[[Snapshot], bool], within_s: float = 15.0) -> Snapshot:
    return await until_snapshot(lab, ok, within_s)


def test_the_policy_is_relative_and_capped() -> None:
    assert SAME.nice == 0 and BELOW_WINDOW.nice == 10
    assert SAME.session_nice() is None and BELOW_WINDOW.session_nice() is None
    assert BELOW_WINDOW.niceness_for(0) == 10
    assert BELOW_WINDOW.niceness_for(5) == 15  # an app already started nicer keeps its distance
    assert BELOW_WINDOW.niceness_for(15) == MAX_NICE
    assert SAME.niceness_for(3) == 3
    assert Priority(0).niceness_for(-5) == -5


def test_the_session_niceness_reads_the_boot_session_as_nice_0(tmp_path: Path) -> None:
    # A process init started without setsid (CI's) reads an empty autogroup file.
    f = tmp_path / "autogroup"
    f.write_text("/autogroup-4256 nice 3\n")
    assert own_session_nice(str(f)) == 3
    f.write_text("")
    assert own_session_nice(str(f)) == 0
    assert own_session_nice(str(tmp_path / "missing")) is None


@needs_niceness
async def test_the_lab_starts_servers_and_load_below_the_window() -> None:
    own = _nice(0)
    want = BELOW_WINDOW.niceness_for(own)
    load = LoadSpec(endpoint="io/async", ms=20, users=10, load_processes=2)
    lab = Lab(Scenario(workers=2), load, priority=BELOW_WINDOW)
    async with lab:
        await lab.start_load()
        snap = await _until(lab, lambda s: len(_roles(s, "load")) == 2 and s.client_rps > 0)
        master, workers, loads = snap.master_pid, _roles(snap, "worker"), _roles(snap, "load")
        assert len(workers) == 2
        assert {pid: _nice(pid) for pid in [master, *workers, *loads]} == dict.fromkeys(
            [master, *workers, *loads], want
        )
        assert _nice(0) == own  # the window's process keeps its priority

        # A worker scaled in inherits it from the master.
        await lab.apply(lab.scenario.with_changes(workers=3))
        snap = await _until(lab, lambda s: len(_roles(s, "worker")) == 3)
        assert [_nice(pid) for pid in _roles(snap, "worker")] == [want] * 3

        # A load process the watchdog starts in place of a dead one gets it too.
        os.kill(loads[1], signal.SIGKILL)  # a process this test's Lab started
        snap = await _until(lab, lambda s: any(e.kind == "load_respawned" for e in s.events))
        born = next(e.pid for e in snap.events if e.kind == "load_respawned")
        assert born not in loads and _nice(born) == want

        # With autogroups (Linux): the server's session keeps the kernel's default weight; the load
        # shares our session, where its niceness is what puts the window first.
        mine = _autogroup(os.getpid())
        if mine is None:
            return  # no autogroups here (turned off, or not Linux): niceness ranks every process
        server = _autogroup(master)
        assert server != mine and server == _autogroup(workers[-1])
        assert str(server).endswith(" nice 0")
        assert all(_autogroup(pid) == mine for pid in (loads[0], born))


@needs_niceness
async def test_run_and_default_labs_start_everything_at_our_priority() -> None:
    own = _nice(0)
    lab = Lab(Scenario(workers=1), LoadSpec(endpoint="hello", users=2))
    async with lab:
        await lab.start_load()
        snap = await _until(lab, lambda s: bool(_roles(s, "load")) and bool(_roles(s, "worker")))
        pids = [snap.master_pid, *_roles(snap, "worker"), *_roles(snap, "load")]
        assert [_nice(pid) for pid in pids] == [own] * len(pids)
        server = _autogroup(snap.master_pid)
        if server is not None:
            assert server.endswith(" nice 0")  # a new session's, left at the kernel's default


@needs_niceness
async def test_window_first_also_lowers_the_server_session() -> None:
    # gunicorn's workers are forked: they take the master's niceness and session as well.
    tree = ServerTree(Scenario(server="gunicorn", workers=2), priority=WINDOW_FIRST)
    await tree.start()
    try:
        info = tree.info()
        pids = [info.master_pid, *info.worker_pids]
        assert len(pids) == 3
        want = WINDOW_FIRST.niceness_for(_nice(0))
        assert [psutil.Process(pid).nice() for pid in pids] == [want] * 3
        mine = _autogroup(os.getpid())
        if mine is None:
            return  # no autogroups here: nothing else to lower
        # Empty in the boot session (see own_session_nice): that group weighs as nice 0.
        session = WINDOW_FIRST.niceness_for(int(mine.split()[-1]) if mine else 0)
        assert {str(_autogroup(pid)).split()[-1] for pid in pids} == {str(session)}
        assert _autogroup(os.getpid()) == mine  # ours is untouched
    finally:
        await tree.stop()
