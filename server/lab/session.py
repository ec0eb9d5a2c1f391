"""The Lab: one headless session facade shared by the GUI and the CLI.

It applies scenarios (scaling live, restarting when it must), changes the load live and builds an
immutable Snapshot ``hz`` times a second. The processes are the Rig's, crash recovery is the
Watchdog's and the Snapshot is the SnapshotBuilder's; the Lab decides what happens when, one change
at a time. Plain asyncio: it runs the same under qasync.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time

from asgiscope.server.calibrate import speed_factor
from asgiscope.server.lab.builder import SnapshotBuilder
from asgiscope.server.lab.flow import FlowFrame, frame_at
from asgiscope.server.lab.flow_events import FlowEvents
from asgiscope.server.lab.flow_replay import Playhead
from asgiscope.server.lab.journal import LOAD_FIELDS, SCENARIO_FIELDS, Journal, describe_change
from asgiscope.server.lab.metrics import Metrics
from asgiscope.server.lab.rig import Rig
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.lab.trace_one import FIND_WAIT_S, find, send
from asgiscope.server.lab.traced import Traced
from asgiscope.server.lab.watchdog import Watchdog
from asgiscope.server.launch.tree import LaunchError
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.priority import SAME, Priority
from asgiscope.server.scenario import Scenario, check_endpoint
from asgiscope.server.supervision import gunicorn_timeout_s as gunicorn_timeout
from asgiscope.server.theory import Costs

# Tick period with the load off: the GUI polls at 5 Hz then, and a tick costs ~1-2 % of a core at 20 Hz.
IDLE_TICK_S = 0.2


class LabError(RuntimeError):
    pass


class Lab:
    def __init__(
        self,
        scenario: Scenario,
        load: LoadSpec,
        *,
        port: int = 0,
        hz: float = 20.0,
        cores: int | None = None,
        gunicorn_timeout_s: int | None = None,
        priority: Priority = SAME,
    ) -> None:
        """``gunicorn_timeout_s``: gunicorn's own default unless given (tests) or set by the internal
        test variable named in ``supervision``. ``priority``: what the servers and the load processes
        run at (``server.priority``; the desktop app asks for ``BELOW_WINDOW``)."""
        check_endpoint(scenario, load.endpoint)  # an async def route under WSGI: refused before anything
        self.scenario = scenario
        # What the load process is told; ``load.running`` is whether load is on, kept nowhere else.
        self.load = load.with_changes(running=False)
        self.hz = hz
        self.cores = cores or os.cpu_count() or 1
        self._t0 = time.monotonic()
        self._steady_since = 0.0  # since when load and server have been as they are now
        self._ops = asyncio.Lock()  # scenario/load changes apply one at a time, in order
        self._busy = False  # an op is restarting things: the watchdog keeps out
        self._wake = asyncio.Event()
        self._closing = False
        self._metrics = Metrics()
        self._flow = FlowEvents()  # the last 30 s, for the flow panel (fed each tick, drawn on demand)
        self._journal = Journal(self.now)
        timeout_s = gunicorn_timeout_s if gunicorn_timeout_s is not None else gunicorn_timeout(os.environ)
        self._rig = Rig(secrets.token_bytes(16), port, gunicorn_timeout_s=timeout_s, priority=priority)
        self._watchdog = Watchdog(self, self._rig, self._journal, self._ops)
        self._builder = SnapshotBuilder(
            self._metrics,
            self._rig,
            self._journal,
            cores=self.cores,
            t0=self._t0,
            gunicorn_timeout_s=timeout_s,
        )
        self._ticker: asyncio.Task[None] | None = None
        self._snap = self._build(time.monotonic())

    # ---- lifecycle ---------------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic() - self._t0

    @property
    def url(self) -> str:
        return self._rig.url

    def mark_steady(self) -> None:
        """Load and server are as they will stay: the measurement window starts filling afresh."""
        self._steady_since = time.monotonic()
        self._wake.set()

    async def start(self) -> None:
        self._journal.set_state(
            "starting", f"starting {self.scenario.server} with {self.scenario.workers} workers"
        )
        # Before any load: how fast this machine runs Python now scales the theory's CPU costs. In a
        # thread, so the window stays live; before the servers start, so nothing of ours competes.
        self._builder.costs = Costs().at_speed(await asyncio.to_thread(speed_factor))
        self._rig.start_collector()
        try:
            await self._rig.start_tree(self.scenario)
        except LaunchError as exc:
            self._journal.set_state("error", str(exc))
            raise LabError(str(exc)) from exc
        self._journal.set_state("running", "")
        self._ticker = asyncio.create_task(self._tick_forever(), name="lab-tick")

    async def close(self) -> None:
        self._journal.set_state("stopping", "stopping")
        self._closing = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._ticker
            self._ticker = None
        await self._watchdog.close()
        # An apply or load change in progress finishes first, so a tree it starts is stopped here,
        # not left behind; later ones see _closing and do nothing.
        async with self._ops:
            await self._rig.stop()
            self.load = self.load.with_changes(running=False)
            self._journal.set_state("stopped", "")
            self._snap = self._build(time.monotonic())

    async def __aenter__(self) -> Lab:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- scenario ----------------------------------------------------------------------------
    async def apply(self, scenario: Scenario) -> None:
        """Move to ``scenario``: scale live when only workers differ, else restart the tree."""
        check_endpoint(scenario, self.load.endpoint)
        async with self._ops:
            old, rig, journal = self.scenario, self._rig, self._journal
            if rig.collector is None:  # not started yet: start() will use it
                self.scenario = scenario
                return
            if self._closing or (scenario == old and rig.tree is not None):
                return
            label = describe_change(old, scenario, SCENARIO_FIELDS) or "start the server again"
            self._busy = True
            try:
                if rig.tree is None or old.needs_restart(scenario):
                    # No tree (a restart that failed and could not fall back) also starts afresh.
                    await self._restart(scenario, label)
                else:
                    journal.set_state("running", f"scaling: {label}")
                    await rig.tree.scale(scenario.workers)
                    self.scenario = scenario
                    self.mark_steady()
                    journal.event("scaled", rig.master_pid, label)
                    journal.set_state("running", "")
                if self.load.running:  # "auto" may want another number of load processes now
                    await rig.send_load(self.load, self._builder.load_processes(scenario, self.load))
            except LaunchError as exc:
                journal.set_state("error", f"could not apply {label}: {exc}")
                raise LabError(str(exc)) from exc
            finally:
                self._busy = False
            journal.marker(label)

    async def _restart(self, scenario: Scenario, label: str) -> None:
        self._journal.set_state("restarting", f"restarting: {label}")
        try:
            await self._rig.restart_tree(scenario, self.load)
        except LaunchError:
            # Leave a working server behind: bring the previous scenario back, then report.
            await self._rig.start_tree(self.scenario)
            await self._rig.resume_load(self.load)
            raise
        self.scenario = scenario
        self.mark_steady()
        self._journal.event("restarted", self._rig.master_pid, label)
        self._journal.set_state("running", "")

    # ---- load --------------------------------------------------------------------------------
    async def set_load(self, load: LoadSpec) -> None:
        """Change the load live; whether it is on is start_load's and stop_load's business."""
        check_endpoint(self.scenario, load.endpoint)
        async with self._ops:
            if self._closing:
                return
            new = load.with_changes(running=self.load.running)
            label = describe_change(self.load, new, LOAD_FIELDS)
            self.load = new
            await self._rig.send_load(new, self._builder.load_processes(self.scenario, new))
            if label and new.running:
                self._journal.marker(label)
                self.mark_steady()  # the window still holds the old load

    async def start_load(self) -> None:
        async with self._ops:
            if self.load.running or self._closing:
                return
            self._metrics.reset_client()
            self._journal.load_started()
            on = self.load.with_changes(running=True)
            await self._rig.ensure_load(on, self._builder.load_processes(self.scenario, on))
            self.load = self.load.with_changes(running=True)
            self.mark_steady()
            self._journal.marker("load on")

    async def stop_load(self) -> None:
        async with self._ops:
            if not self.load.running:
                return
            # First: a dead load process must not leave the load "on".
            self.load = self.load.with_changes(running=False)
            self._journal.marker("load off")
            self._wake.set()
            proc = self._rig.load_proc
            if proc is not None:
                await proc.update_alive(self.load)

    def reset_measurement(self) -> None:
        """Start cumulative client figures (count, percentiles, errors) afresh, e.g. after warm-up.
        Deaths since the load started still explain what the figures show, so they stay."""
        self._metrics.reset_client()

    # ---- ticks -------------------------------------------------------------------------------
    async def _tick_forever(self) -> None:
        while True:
            started = time.monotonic()
            self._tick(started)
            # With the load off nothing moves but the odd probe sample: tick at the GUI's idle pace and
            # let any change (mark_steady) wake the loop at once, so a start is never a tick late.
            period = 1.0 / self.hz
            if not (self.load.running or self._busy):
                period = max(period, IDLE_TICK_S)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, period - (time.monotonic() - started)))

    def _tick(self, now: float) -> None:
        rig = self._rig
        if rig.collector is not None:
            batches = rig.collector.drain()
            self._metrics.add_batches(batches, now)
            self._flow.add(batches)
        if rig.load_proc is not None:
            for pid, reports in rig.load_proc.drain_each():  # per process: its CPU is its own
                self._metrics.add_reports(reports, pid)
        if not self._busy:
            self._watchdog.check()
        snap = self._snap = self._build(now)
        failed = {e.pid for e in snap.events if e.failure}
        workers = tuple(w.pid for w in snap.workers if w.alive)
        self._flow.set_tree(
            int(now * 1e9), snap.master_pid, workers, snap.in_flight, failed, snap.scenario.worker_class
        )

    def snapshot(self) -> Snapshot:
        return self._snap

    async def send_one(self) -> Traced:
        """Send one real request of the load's route now and find it in its worker's telemetry; the
        flow panel then highlights it with its timings."""
        if not self._rig.url or self._rig.tree is None:
            raise LabError("the server is not running")
        try:
            sent = await send(self._rig.url, self.load.path)
        except (OSError, TimeoutError) as exc:
            raise LabError(f"the request failed: {exc}") from exc
        deadline = time.monotonic() + FIND_WAIT_S
        while (traced := find(self._flow, sent)) is None:
            if time.monotonic() > deadline:
                raise LabError("the worker's record of that request never arrived (telemetry lost)")
            self._wake.set()  # a tick now drains it, even with the load off
            await asyncio.sleep(0.05)
        self._flow.traced = traced
        return traced

    def flow_frame(self, playhead: Playhead) -> FlowFrame:
        """The flow panel's picture at ``playhead`` (live: far enough behind now that every request
        in flight then has reported). Cheap (~1 ms at the load ceiling): called per drawn frame."""
        now = time.monotonic()
        needed = self._metrics.server_lag_s(now) + self._snap.latency.max_ms / 1000 + 0.1
        now_ns = int(now * 1e9)
        playhead.follow(now_ns, int(needed * 1e9) if needed == needed else 0)  # NaN: no latency yet
        t = playhead.position(now_ns, self._flow.oldest)
        return frame_at(self._flow, t, transit_ns=playhead.transit_ns)

    def _build(self, now: float) -> Snapshot:
        return self._builder.build(now, self.scenario, self.load, self._steady_since)
