"""The one place the GUI calls the Lab: turns control changes into Lab calls, in order, off the UI path.

Widgets never await. They tell the driver what they want (a scenario, a load, running or not); one
pump task on the qasync loop brings the Lab there step by step. Changes that arrive while a restart is
in flight are merged: only the latest wish is applied, so dragging a slider never queues restarts.
A failing call is reported in words and never raised into Qt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from asgiscope.gui.model import Controls
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario

log = logging.getLogger(__name__)


class LabLike(Protocol):
    """The part of ``server.lab.session.Lab`` the GUI uses (a recording fake stands in for tests)."""

    async def start(self) -> None: ...
    async def apply(self, scenario: Scenario) -> None: ...
    async def set_load(self, load: LoadSpec) -> None: ...
    async def start_load(self) -> None: ...
    async def stop_load(self) -> None: ...
    def snapshot(self) -> Snapshot: ...
    async def close(self) -> None: ...


class LabDriver:
    def __init__(
        self,
        lab: LabLike,
        scenario: Scenario,
        load: LoadSpec,
        report: Callable[[str], None],
    ) -> None:
        self._lab = lab
        self.report = report  # replaceable: the window takes over once it exists
        # what the Lab has (as far as we told it) and what the controls want
        self._scenario = scenario
        self._load = load.with_changes(running=False)
        self._running = False
        self._want_scenario = scenario
        self._want_load = self._load
        self._want_running = False
        self._started = False
        self._closed = False
        self._pump_task: asyncio.Task[None] | None = None
        # references to every task we spawn: asyncio keeps only weak ones
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def lab(self) -> LabLike:
        return self._lab

    @property
    def started(self) -> bool:
        """Whether ``lab.start()`` has succeeded."""
        return self._started

    @property
    def want_running(self) -> bool:
        return self._want_running

    @property
    def busy(self) -> bool:
        return self._pump_task is not None and not self._pump_task.done()

    def snapshot(self) -> Snapshot:
        return self._lab.snapshot()

    # -- wishes (called from Qt slots; never block) ------------------------------------------------

    def start(self) -> None:
        """Start the server tree (no load yet)."""
        self._kick()

    def request(self, controls: Controls) -> None:
        """Bring the Lab to what the controls show."""
        self._want_scenario = controls.scenario()
        self._want_load = controls.load(running=False, base=self._want_load)
        self._kick()

    def set_running(self, running: bool) -> None:
        self._want_running = running
        self._kick()

    def toggle_running(self) -> None:
        self.set_running(not self._want_running)

    async def close(self) -> None:
        """Stop the pump, then stop load and servers. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._pump_task is not None and not self._pump_task.done():
            self._pump_task.cancel()
            try:
                await self._pump_task
            except asyncio.CancelledError:
                # ours, unless close() itself is being cancelled
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        try:
            await self._lab.close()
        except Exception as exc:  # closing must finish; say what went wrong
            log.exception("lab.close failed")
            self.report(f"closing the lab failed: {exc}")

    async def settle(self) -> None:
        """Wait until the Lab has what the controls want (tests, scripted runs)."""
        while self._pump_task is not None and not self._pump_task.done():
            await asyncio.shield(self._pump_task)

    # -- the pump ------------------------------------------------------------------------------------

    def _kick(self) -> None:
        if self._closed or self.busy:
            return
        self._pump_task = self._spawn(self._pump())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _pump(self) -> None:
        while not self._closed:
            step = self._next_step()
            if step is None:
                return
            what, call, done = step
            try:
                await call
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed: %s", what, exc)
                self.report(f"{what} failed: {exc}")
                if not self._started:
                    return  # nothing else can work; the next wish retries the start
            done()  # mark as attempted even on failure, so a bad wish is not retried forever

    def _next_step(self) -> tuple[str, Coroutine[Any, Any, None], Callable[[], None]] | None:
        if not self._started:
            return "starting the servers", self._lab.start(), self._mark_started
        if self._want_scenario != self._scenario:
            scenario = self._want_scenario

            def applied() -> None:
                self._scenario = scenario

            return "applying the scenario", self._lab.apply(scenario), applied
        if self._want_load != self._load:
            load = self._want_load

            def loaded() -> None:
                self._load = load

            return "changing the load", self._lab.set_load(load.with_changes(running=self._running)), loaded
        if self._want_running != self._running:
            running = self._want_running

            def switched() -> None:
                self._running = running

            call = self._lab.start_load() if running else self._lab.stop_load()
            return ("starting" if running else "stopping") + " the load", call, switched
        return None

    def _mark_started(self) -> None:
        self._started = True
