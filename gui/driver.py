"""The one place the GUI calls the Lab: turns control changes into Lab calls, in order, off the UI path.

Widgets never await. They tell the driver what they want (a scenario, a load, running or not); one
pump task on the qasync loop brings the Lab there step by step. Changes that arrive while a restart is
in flight are merged: only the latest wish is applied, so dragging a slider never queues restarts.
A failing call is reported in words and never raised into Qt. A change the Lab refuses is not taken as
applied: the wish goes back to what the Lab runs and ``on_refused`` gets the controls that show it, so
the panel and the settings come back to the truth.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from asgiscope.gui.model import Controls, controls_from
from asgiscope.server.lab.flow import FlowFrame
from asgiscope.server.lab.flow_replay import Playhead
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.lab.traced import Traced
from asgiscope.server.limits import NotAllowedError
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario, check_endpoint, endpoint_refusal

log = logging.getLogger(__name__)

# (words for a failure, the Lab call, mark it applied, forget a refused wish → whether the panel must change)
Step = tuple[str, Coroutine[Any, Any, None], Callable[[], None], Callable[[], bool]]


class LabLike(Protocol):
    """The part of ``server.lab.session.Lab`` the GUI uses (a recording fake stands in for tests)."""

    async def start(self) -> None: ...
    async def apply(self, scenario: Scenario) -> None: ...
    async def set_load(self, load: LoadSpec) -> None: ...
    async def start_load(self) -> None: ...
    async def stop_load(self) -> None: ...
    def snapshot(self) -> Snapshot: ...
    def flow_frame(self, playhead: Playhead) -> FlowFrame: ...
    async def send_one(self) -> Traced: ...
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
        # called with the controls that show what runs, after the Lab refused a change
        self.on_refused: Callable[[Controls], None] = lambda _controls: None
        # what the Lab has (as far as we told it) and what the controls want
        self._scenario = scenario
        self._load = load.with_changes(running=False)
        self._running = False
        self._want_scenario = scenario
        self._want_load = self._load
        self._want_running = False
        self._handler = controls_from(scenario, load).handler  # the panel's word for the shared CPU route
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

    def flow_frame(self, playhead: Playhead) -> FlowFrame:
        return self._lab.flow_frame(playhead)

    def send_one(self, done: Callable[[Traced], None]) -> None:
        """Send one real request now (off the UI path); ``done`` gets it as its worker recorded it."""

        async def go() -> None:
            try:
                traced = await self._lab.send_one()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.report(f"sending one request failed: {exc}")
                return
            done(traced)

        if not self._closed:
            self._spawn(go())

    # -- wishes (called from Qt slots; never block) ------------------------------------------------

    def start(self) -> None:
        """Start the server tree (no load yet)."""
        self._kick()

    def request(self, controls: Controls) -> None:
        """Bring the Lab to what the controls show."""
        try:
            scenario = controls.scenario()
            load = controls.load(running=False, base=self._want_load)
            check_endpoint(scenario, load.endpoint)
        except NotAllowedError as exc:  # a control offered what the server refuses: say so, roll back
            log.warning("refused controls: %s", exc)
            self.report(str(exc))
            # after the caller's own handling of this change (the window saves it right after)
            asyncio.get_running_loop().call_soon(self.on_refused, self.shown())
            return
        self._want_scenario, self._want_load, self._handler = scenario, load, controls.handler
        self._kick()

    def shown(self) -> Controls:
        """The controls for what the Lab has or is about to have (the wishes it has not refused)."""
        return controls_from(self._want_scenario, self._want_load, self._handler)

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
            what, call, done, refused = step
            try:
                await call
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed: %s", what, exc)
                if not self._started:
                    self.report(f"{what} failed: {exc}")
                    return  # nothing else can work; the next wish retries the start
                # Not applied: the wish goes back to what runs, so it is neither retried nor shown.
                if refused():
                    self.report(f"{what} failed: {exc} (the controls are back to what runs)")
                    self.on_refused(self.shown())
                else:
                    self.report(f"{what} failed: {exc}")
                continue
            done()

    def _next_step(self) -> Step | None:
        """What to ask the Lab next: words for a failure, the call, and what to do if it went or not.

        The "not" side (``refused``) forgets the wish only if no newer one replaced it meanwhile, and
        says whether it did (then the panel must be told).
        """
        if not self._started:
            return "starting the servers", self._lab.start(), self._mark_started, lambda: False
        # A WSGI scenario cannot run the async route the load still hits: the load (a def route the
        # running scenario serves too) moves first.
        load_first = endpoint_refusal(self._want_scenario, self._load.endpoint) is not None
        if self._want_scenario != self._scenario and not (load_first and self._want_load != self._load):
            scenario = self._want_scenario

            def applied() -> None:
                self._scenario = scenario

            def scenario_refused() -> bool:
                if self._want_scenario != scenario:
                    return False
                self._want_scenario = self._scenario
                return True

            return "applying the scenario", self._lab.apply(scenario), applied, scenario_refused
        if self._want_load != self._load:
            load = self._want_load

            def loaded() -> None:
                self._load = load

            def load_refused() -> bool:
                if self._want_load != load:
                    return False
                self._want_load = self._load
                return True

            call = self._lab.set_load(load.with_changes(running=self._running))
            return "changing the load", call, loaded, load_refused
        if self._want_running != self._running:
            running = self._want_running

            def switched() -> None:
                self._running = running

            def switch_refused() -> bool:
                if self._want_running == running:
                    self._want_running = self._running
                return False  # the Load menu follows the snapshot; the panel has nothing to undo

            call = self._lab.start_load() if running else self._lab.stop_load()
            return ("starting" if running else "stopping") + " the load", call, switched, switch_refused
        return None

    def _mark_started(self) -> None:
        self._started = True
