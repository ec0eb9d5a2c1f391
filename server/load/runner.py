"""Applies LoadSpecs live inside the load process: one engine, one closed loop, one open loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from asgiscope.server.load.churn import Churn
from asgiscope.server.load.drivers import ClosedLoop, OpenLoop, Target
from asgiscope.server.load.engines import HttpEngine, make_engine
from asgiscope.server.load.recorder import Recorder
from asgiscope.server.load.spec import Engine, LoadSpec

# How long retired work may take to finish before it is cancelled (engine switch, shutdown).
SETTLE_S = 5.0


class Runner:
    def __init__(
        self,
        base_url: str,
        recorder: Recorder,
        engine_factory: Callable[[Engine], HttpEngine] = make_engine,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._recorder = recorder
        self._engine_factory = engine_factory
        self._target = Target(base_url, Churn())
        self._engine: HttpEngine | None = None
        self._closed: ClosedLoop | None = None
        self._open: OpenLoop | None = None
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def users(self) -> int:
        return self._closed.users if self._closed is not None else 0

    def apply(self, spec: LoadSpec) -> None:
        """Make the running load match ``spec``, touching only what changed."""
        self._target.url = self._base_url + spec.path
        self._target.churn.set_connection(spec.connection)
        if self._engine is None or self._engine.name != spec.engine:
            self._switch_engine(spec.engine)
        closed, open_ = self._closed, self._open
        assert closed is not None and open_ is not None
        if not spec.running:
            closed.set_users(0)
            open_.stop()
        elif spec.mode == "closed":
            open_.stop()
            closed.set_users(spec.users)
        else:
            closed.set_users(0)
            open_.configure(spec.rate, spec.max_in_flight)

    def _switch_engine(self, name: Engine) -> None:
        # The old engine's requests finish in the background, then its clients close; the new engine
        # starts at once, so the switch shows as a change of numbers, not a gap.
        if self._engine is not None and self._closed is not None and self._open is not None:
            task = asyncio.create_task(self._retire(self._engine, self._closed, self._open))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
        self._engine = self._engine_factory(name)
        self._closed = ClosedLoop(self._engine, self._recorder, self._target)
        self._open = OpenLoop(self._engine, self._recorder, self._target)

    @staticmethod
    async def _retire(
        engine: HttpEngine, closed: ClosedLoop, open_: OpenLoop, grace_s: float = SETTLE_S
    ) -> None:
        await asyncio.gather(closed.retire(grace_s), open_.retire(grace_s))
        await engine.close()

    async def close(self, grace_s: float = 0.0) -> None:
        """Shut down quickly: the owner is gone, nobody is waiting for these results."""
        if self._engine is not None and self._closed is not None and self._open is not None:
            await self._retire(self._engine, self._closed, self._open, grace_s)
            self._engine = None
        for task in list(self._retiring):
            task.cancel()
        if self._retiring:
            await asyncio.wait(self._retiring, timeout=1.0)
