"""Crash watching and recovery: a dead master brings the tree back, a dead load generator respawns.

Checked on every tick while no scenario or load change is in progress; one recovery at a time, under
the Lab's lock, so it never races a change the user asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Protocol

from asgiscope.server.lab.journal import Journal
from asgiscope.server.lab.rig import Rig
from asgiscope.server.launch.events import WorkerEvent, describe_exit
from asgiscope.server.launch.tree import LaunchError
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario

LOAD_CRASHES_MAX = 3
LOAD_CRASHES_WINDOW_S = 30.0


def timeout_kill(timeout_s: float | None) -> str:
    """What a WORKER TIMEOUT means, in the words the event and the insight both use."""
    within = f"{timeout_s:g} s" if timeout_s is not None else "gunicorn's timeout"
    return f"WORKER TIMEOUT, its event loop was blocked for {within} (no heartbeat), so gunicorn sent SIGABRT"


class Watched(Protocol):
    """What the watchdog needs of the Lab: what should run, and a way to say it runs as it should."""

    scenario: Scenario
    load: LoadSpec

    def mark_steady(self) -> None: ...


class Watchdog:
    def __init__(self, lab: Watched, rig: Rig, journal: Journal, ops: asyncio.Lock) -> None:
        self._lab = lab
        self._rig = rig
        self._journal = journal
        self._ops = ops
        self._recovery: asyncio.Task[None] | None = None
        self._load_crashes: deque[float] = deque(maxlen=LOAD_CRASHES_MAX)

    def check(self) -> None:
        if self._recovery is not None:
            return
        tree, proc = self._rig.tree, self._rig.load_proc
        if tree is not None and not tree.alive:
            self._journal.event("crashed", tree.master_pid or 0, "the server master exited")
            self._recovery = asyncio.create_task(self._recover_tree(), name="lab-recover-tree")
        elif self._lab.load.running and proc is not None and not proc.alive:
            # Each dead member is named; the others keep sending while it is replaced.
            for i in proc.dead():
                member = proc.members[i]
                lines = member.stderr_tail.strip().splitlines()
                if lines and lines[0].startswith("asgiscope-load pid="):  # its banner, not a complaint
                    lines = lines[1:]
                tail = "\n".join(lines)[-200:]
                detail = describe_exit(member.exit_code) + (f": {tail}" if tail else "")
                if proc.size > 1:
                    detail = f"{proc.name(i)}: {detail}"
                self._journal.event("load_died", member.pid or 0, detail, member.exit_code)
            self._recovery = asyncio.create_task(self._recover_load(), name="lab-recover-load")
        elif tree is not None:
            # The master reports each worker start (and why), each exit status it reaped and each
            # worker gunicorn killed for a missed heartbeat.
            for ev in tree.poll():
                self._worker_event(ev)

    def _worker_event(self, ev: WorkerEvent) -> None:
        if ev.kind == "start":
            self._journal.event("worker_started", ev.pid, ev.reason or "")
        elif ev.kind == "timeout":
            self._journal.event("worker_killed", ev.pid, timeout_kill(ev.timeout_s))
        elif ev.reason == "scale":
            self._journal.event("worker_retired", ev.pid, f"scaled down ({describe_exit(ev.code)})", ev.code)
        else:
            self._journal.event("worker_exited", ev.pid, describe_exit(ev.code), ev.code)

    async def close(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._recovery
        self._recovery = None

    async def _recover_tree(self) -> None:
        journal = self._journal
        try:
            async with self._ops:
                journal.set_state("restarting", "the server crashed: restarting it")
                await self._rig.restart_tree(self._lab.scenario, self._lab.load)
                journal.event("restarted", self._rig.master_pid, "after a crash")
                self._lab.mark_steady()
                journal.set_state("running", "recovered from a server crash")
        except LaunchError as exc:
            journal.set_state("error", f"the server crashed and could not be restarted: {exc}")
        finally:
            self._recovery = None

    async def _recover_load(self) -> None:
        lab = self._lab
        try:
            async with self._ops:
                now = time.monotonic()
                self._load_crashes.append(now)
                if (
                    len(self._load_crashes) == LOAD_CRASHES_MAX
                    and now - self._load_crashes[0] < LOAD_CRASHES_WINDOW_S
                ):
                    # Dying again and again: respawning would only hide it. The group's survivors stop
                    # too: "load is off" must be true.
                    lab.load = lab.load.with_changes(running=False)
                    if self._rig.load_proc is not None:
                        await self._rig.load_proc.stop()
                        self._rig.load_proc = None
                    self._journal.set_state(
                        "error",
                        f"the load generator crashed {LOAD_CRASHES_MAX} times in "
                        f"{LOAD_CRASHES_WINDOW_S:.0f} s; load is off",
                    )
                    return
                group = self._rig.load_proc
                if group is None:
                    return
                group.spec = lab.load
                old = {i: group.members[i].pid or 0 for i in group.dead()}
                for i, fresh in await group.respawn_dead():
                    which = f"load process {i + 1} of {group.size}, " if group.size > 1 else ""
                    self._journal.event(
                        "load_respawned",
                        fresh.pid or 0,
                        f"a new load generator ({which}replacing pid {old[i]}); the dead one's requests "
                        "in flight were not counted",
                    )
                self._journal.message = "recovered from a load generator crash"
        except Exception as exc:  # a load process that cannot start is shown, not raised into the loop
            lab.load = lab.load.with_changes(running=False)
            if self._rig.load_proc is not None:  # the survivors stop too: "load is off" must be true
                with contextlib.suppress(Exception):
                    await self._rig.load_proc.stop()
                self._rig.load_proc = None
            self._journal.set_state("error", f"the load generator could not be restarted: {exc}")
        finally:
            self._recovery = None
