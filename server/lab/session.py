"""The Lab: one headless session facade shared by the GUI and the CLI.

It owns a collector, a server tree and (while load is on) a load process; it applies scenarios
(scaling live, restarting when it must), changes the load live, watches for crashes and recovers, and
builds an immutable Snapshot ``hz`` times a second. Plain asyncio: it runs the same under qasync.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections import deque

from asgiscope.server.lab.assemble import Session, assemble
from asgiscope.server.lab.collector import Collector
from asgiscope.server.lab.metrics import Metrics
from asgiscope.server.lab.procstats import ProcSampler
from asgiscope.server.lab.snapshot import (
    EventKind,
    LabState,
    Marker,
    Snapshot,
    Telemetry,
    TreeEvent,
)
from asgiscope.server.launch.tree import LaunchError, ServerTree, TelemetryTarget, TreeInfo
from asgiscope.server.load.client import LoadProcess
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Prediction, predict


class LabError(RuntimeError):
    pass


def describe_change(old: object, new: object, fields: tuple[str, ...]) -> str:
    """ "workers 2→4, loop asyncio→uvloop" for the fields that differ."""
    parts = [f"{f} {getattr(old, f)}→{getattr(new, f)}" for f in fields if getattr(old, f) != getattr(new, f)]
    return ", ".join(parts)


INFO_REFRESH_S = 1.0
LOAD_CRASHES_MAX = 3
DEAD_SHOWN_S = 5.0  # a worker that exited stays on screen, marked dead, this long
SCENARIO_FIELDS = ("server", "workers", "loop", "http", "tokens", "socket")
LOAD_FIELDS = ("endpoint", "ms", "mode", "users", "rate", "engine")


class Lab:
    def __init__(
        self,
        scenario: Scenario,
        load: LoadSpec,
        *,
        port: int = 0,
        hz: float = 20.0,
        cores: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.load = load.with_changes(running=False)
        self.hz = hz
        self.cores = cores or os.cpu_count() or 1
        self._port = port
        self._t0 = time.monotonic()
        self._token = secrets.token_bytes(16)
        self._collector: Collector | None = None
        self._tree: ServerTree | None = None
        self._load_proc: LoadProcess | None = None
        self._load_on = False
        self._steady_since = 0.0  # since when load and server have been as they are now
        self._ops = asyncio.Lock()  # scenario/load changes apply one at a time, in order
        self._busy = False  # an op is restarting things: the watchdog keeps out
        self._closing = False
        self._load_crashes: deque[float] = deque(maxlen=LOAD_CRASHES_MAX)
        self._state: LabState = "idle"
        self._message = ""
        self._metrics = Metrics()
        self._procs = ProcSampler()
        self._markers: deque[Marker] = deque(maxlen=200)
        self._events: deque[TreeEvent] = deque(maxlen=50)
        self._ticker: asyncio.Task[None] | None = None
        self._info: TreeInfo | None = None
        self._info_at = 0.0
        self._info_stale = True
        self._recovery: asyncio.Task[None] | None = None
        self._prediction_key: tuple[Scenario, LoadSpec] | None = None
        self._prediction: Prediction | None = None
        self._snap = self._build(time.monotonic())

    # ---- lifecycle ---------------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic() - self._t0

    @property
    def url(self) -> str:
        return self._tree.url if self._tree is not None else ""

    async def start(self) -> None:
        self._set_state("starting", f"starting {self.scenario.server} with {self.scenario.workers} workers")
        self._collector = Collector(self._token).start()
        try:
            await self._start_tree(self.scenario)
        except LaunchError as exc:
            self._set_state("error", str(exc))
            raise LabError(str(exc)) from exc
        self._set_state("running", "")
        self._ticker = asyncio.create_task(self._tick_forever(), name="lab-tick")

    async def close(self) -> None:
        self._set_state("stopping", "stopping")
        self._closing = True
        for task in (self._ticker, self._recovery):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._ticker = self._recovery = None
        # An apply or load change in progress finishes first, so a tree it starts is stopped here,
        # not left behind; later ones see _closing and do nothing.
        async with self._ops:
            await self._shut_down()

    async def _shut_down(self) -> None:
        if self._load_proc is not None:
            await self._load_proc.stop()
            self._load_proc = None
        self._load_on = False
        if self._tree is not None:
            await self._tree.stop()
        if self._collector is not None:
            self._collector.stop()
        self._set_state("stopped", "")
        self._snap = self._build(time.monotonic())

    async def __aenter__(self) -> Lab:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- server tree -------------------------------------------------------------------------
    async def _start_tree(self, scenario: Scenario) -> None:
        assert self._collector is not None
        host, port = self._collector.address
        tree = ServerTree(
            scenario,
            port=self._port,
            telemetry=TelemetryTarget(host=host, port=port, token_hex=self._token.hex()),
        )
        await tree.start()  # raises LaunchError after cleaning up
        self._tree = tree
        self._info_stale = True
        self._port = tree.port  # restarts reuse the port so the load keeps its URL

    async def apply(self, scenario: Scenario) -> None:
        """Move to ``scenario``: scale live when only workers differ, else restart the tree."""
        async with self._ops:
            old = self.scenario
            if self._collector is None:  # not started yet: start() will use it
                self.scenario = scenario
                return
            if self._closing or (scenario == old and self._tree is not None):
                return
            label = describe_change(old, scenario, SCENARIO_FIELDS) or "start the server again"
            self._busy = True
            try:
                if self._tree is None or old.needs_restart(scenario):
                    # No tree (a restart that failed and could not fall back) also starts afresh.
                    await self._restart(scenario, label)
                else:
                    self._set_state("running", f"scaling: {label}")
                    await self._tree.scale(scenario.workers)
                    self.scenario = scenario
                    self._steady_since = time.monotonic()
                    self._event("scaled", self._tree.master_pid or 0, label)
                    self._set_state("running", "")
            except LaunchError as exc:
                self._set_state("error", f"could not apply {label}: {exc}")
                raise LabError(str(exc)) from exc
            finally:
                self._busy = False
            self._marker(label)

    async def _restart(self, scenario: Scenario, label: str) -> None:
        self._set_state("restarting", f"restarting: {label}")
        await self._pause_load()
        if self._tree is not None:
            await self._tree.stop()
            self._tree = None
        try:
            await self._start_tree(scenario)
            self.scenario = scenario
            self._steady_since = time.monotonic()
        except LaunchError:
            # Leave a working server behind: bring the previous scenario back, then report.
            await self._start_tree(self.scenario)
            await self._resume_load()
            raise
        self._event("restarted", self._tree.master_pid or 0 if self._tree else 0, label)
        await self._resume_load()
        self._set_state("running", "")

    # ---- load --------------------------------------------------------------------------------
    async def set_load(self, load: LoadSpec) -> None:
        async with self._ops:
            if self._closing:
                return
            new = load.with_changes(running=self._load_on)
            label = describe_change(self.load, new, LOAD_FIELDS)
            self.load = new
            if self._load_proc is not None:
                await self._load_proc.update(new)
            if label and self._load_on:
                self._marker(label)
                self._steady_since = time.monotonic()  # the window still holds the old load

    async def start_load(self) -> None:
        async with self._ops:
            if self._load_on or self._closing:
                return
            self.load = self.load.with_changes(running=True)
            self._metrics.reset_client()
            await self._ensure_load_proc()
            self._load_on = True
            self._steady_since = time.monotonic()
            self._marker("load on")

    async def stop_load(self) -> None:
        async with self._ops:
            if not self._load_on:
                return
            self.load = self.load.with_changes(running=False)
            self._load_on = False  # first: a dead load process must not leave the load "on"
            self._marker("load off")
            if self._load_proc is not None and self._load_proc.alive:
                await self._load_proc.update(self.load)

    def reset_measurement(self) -> None:
        """Start cumulative client figures (count, percentiles, errors) afresh, e.g. after warm-up."""
        self._metrics.reset_client()

    async def _ensure_load_proc(self) -> None:
        if self._load_proc is not None and self._load_proc.alive:
            await self._load_proc.update(self.load)
            return
        if self._load_proc is not None:
            await self._load_proc.stop()
        proc = LoadProcess(self.url, self.load)
        await proc.start()
        self._load_proc = proc

    async def _pause_load(self) -> None:
        if self._load_on and self._load_proc is not None:
            await self._load_proc.update(self.load.with_changes(running=False))

    async def _resume_load(self) -> None:
        if self._load_on and self._load_proc is not None:
            await self._load_proc.update(self.load)

    # ---- watching ----------------------------------------------------------------------------
    async def _tick_forever(self) -> None:
        period = 1.0 / self.hz
        while True:
            started = time.monotonic()
            self._tick(started)
            await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))

    def _tick(self, now: float) -> None:
        if self._collector is not None:
            self._metrics.add_batches(self._collector.drain(), now)
        if self._load_proc is not None:
            self._metrics.add_reports(self._load_proc.drain())
        if not self._busy and self._recovery is None:
            self._watch(now)
        self._snap = self._build(now)

    def _watch(self, now: float) -> None:
        tree, proc = self._tree, self._load_proc
        if tree is not None and not tree.alive:
            self._event("crashed", tree.master_pid or 0, "the server master exited")
            self._recovery = asyncio.create_task(self._recover_tree(), name="lab-recover-tree")
            return
        if self._load_on and proc is not None and not proc.alive:
            detail = f"exit {proc.exit_code}: {proc.stderr_tail.strip()[-200:]}"
            self._event("crashed", proc.pid or 0, f"the load generator died ({detail})")
            self._recovery = asyncio.create_task(self._recover_load(), name="lab-recover-load")
            return
        if tree is not None:
            self._poll_tree(tree)

    def _tree_info(self, tree: ServerTree | None, now: float) -> TreeInfo | None:
        # Listing the master's children walks all of /proc (~15 ms here): refresh it when the master
        # reports a worker start or exit, or once a second as a backstop, not on every frame.
        if tree is None:
            return None
        if self._info is None or self._info_stale or now - self._info_at >= INFO_REFRESH_S:
            self._info, self._info_at, self._info_stale = tree.info(), now, False
        return self._info

    def _poll_tree(self, tree: ServerTree) -> None:
        # The master reports each worker start (and why) and each exit status it reaped.
        for ev in tree.poll():
            self._info_stale = True
            if ev.kind == "start":
                self._event("worker_started", ev.pid, ev.reason or "")
            else:
                self._event("worker_exited", ev.pid, f"exit code {ev.code}")

    async def _recover_tree(self) -> None:
        try:
            async with self._ops:
                self._set_state("restarting", "the server crashed: restarting it")
                await self._pause_load()
                if self._tree is not None:
                    await self._tree.stop()
                    self._tree = None
                await self._start_tree(self.scenario)
                await self._resume_load()
                self._event("restarted", self._tree.master_pid or 0 if self._tree else 0, "after a crash")
                self._steady_since = time.monotonic()
                self._set_state("running", "recovered from a server crash")
        except LaunchError as exc:
            self._set_state("error", f"the server crashed and could not be restarted: {exc}")
        finally:
            self._recovery = None

    async def _recover_load(self) -> None:
        try:
            async with self._ops:
                now = time.monotonic()
                self._load_crashes.append(now)
                if len(self._load_crashes) == LOAD_CRASHES_MAX and now - self._load_crashes[0] < 30.0:
                    # Dying again and again: respawning would only hide it.
                    self._load_on = False
                    self.load = self.load.with_changes(running=False)
                    self._set_state(
                        "error", f"the load generator crashed {LOAD_CRASHES_MAX} times in 30 s; load is off"
                    )
                    return
                await self._ensure_load_proc()
                self._message = "recovered from a load generator crash"
        except Exception as exc:  # a load process that cannot start is shown, not raised into the loop
            self._load_on = False
            self._set_state("error", f"the load generator could not be restarted: {exc}")
        finally:
            self._recovery = None

    # ---- snapshot ----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return self._snap

    def _set_state(self, state: LabState, message: str) -> None:
        self._state, self._message = state, message

    def _event(self, kind: EventKind, pid: int, detail: str = "") -> None:
        self._events.append(TreeEvent(self.now(), kind, pid, detail))

    def _marker(self, label: str) -> None:
        self._markers.append(Marker(self.now(), label))

    def _predict(self) -> Prediction:
        key = (self.scenario, self.load)
        if key != self._prediction_key or self._prediction is None:
            self._prediction = predict(self.scenario, self.load, cores=self.cores)
            self._prediction_key = key
        return self._prediction

    def _build(self, now: float) -> Snapshot:
        cstats = self._collector.stats() if self._collector is not None else None
        return assemble(
            self._metrics,
            self._procs,
            now,
            Session(
                t=now - self._t0,
                state=self._state,
                message=self._message,
                scenario=self.scenario,
                load=self.load,
                load_on=self._load_on,
                warm=self._load_on and now - self._steady_since > 1.5 * self._metrics.window_s,
                url=self.url,
                info=self._tree_info(self._tree, now),
                load_pid=self._load_proc.pid if self._load_proc is not None else None,
                telemetry=(
                    Telemetry(cstats.records, cstats.datagrams, cstats.lost, cstats.rejected)
                    if cstats
                    else Telemetry()
                ),
                prediction=self._predict(),
                events=tuple(self._events),
                dead=tuple(
                    e.pid
                    for e in self._events
                    if e.kind == "worker_exited" and e.t >= self.now() - DEAD_SHOWN_S
                ),
                markers=tuple(self._markers),
            ),
        )
