"""The two ways to drive load: closed loop (N users) and open loop (rate R, no coordinated omission).

Both read the target URL from a shared ``Target`` at every send, so changing the endpoint or its ``ms``
takes effect on the next request without disturbing anything in flight.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from asgiscope.server.load.churn import Churn
from asgiscope.server.load.engines import HttpEngine
from asgiscope.server.load.recorder import Recorder

# After a transport failure (refused, reset) a user waits this long: a dead server must not turn the
# load process into a busy loop that eats the core the server needs.
ERROR_BACKOFF_S = 0.01
# New users start staggered, not all in the same instant (Locust's spawn rate): a burst of connects is
# accepted whole by whichever worker wakes first (asyncio accepts the entire backlog per wake-up), which
# can leave another worker with no connection at all for the rest of the run.
SPAWN_GAP_S = 0.002
SPAWN_RAMP_MAX_S = 0.5


@dataclass(slots=True)
class Target:
    url: str
    churn: Churn  # which request is a slot's connection's last


async def send(
    engine: HttpEngine, recorder: Recorder, slot: int, url: str, start: float, last: bool = False
) -> bool:
    """One request, tallied. ``start`` is a ``perf_counter`` time: the actual or the intended send time;
    ``last`` ends the slot's connection after it.

    Returns False on a transport failure. Never raises, except cancellation. A GET that died with a
    reused connection before any byte of its response is sent once more, as HTTP clients do (RFC 9112
    9.3.1), but the failure is counted first: a worker that died with requests on it must show.
    """
    for attempt in (1, 2):
        recorder.sent()
        try:
            status = await engine.get(slot, url, last)
        except asyncio.CancelledError:
            recorder.cancelled()
            raise
        except Exception as exc:  # any failure is a measurement, never a crash
            recorder.failure(engine.classify(exc))
            if attempt == 1 and engine.resendable(exc):
                continue
            return False
        recorder.response(status, time.perf_counter() - start)
        return True
    return False


async def _settle(tasks: set[asyncio.Task[None]], grace_s: float) -> None:
    """Let in-flight requests finish (so client and server counts agree), then cancel stragglers."""
    if not tasks:
        return
    _done, pending = await asyncio.wait(set(tasks), timeout=grace_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)


class _User:
    __slots__ = ("retired", "slot")

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.retired = False


class ClosedLoop:
    """N virtual users, each sends, awaits the whole response, and sends again."""

    def __init__(self, engine: HttpEngine, recorder: Recorder, target: Target) -> None:
        self._engine = engine
        self._recorder = recorder
        self._target = target
        self._active: list[_User] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def users(self) -> int:
        return len(self._active)

    def set_users(self, n: int) -> None:
        """Add or retire users; the others carry on undisturbed."""
        while len(self._active) > n:
            # Retired users finish their current request first: no half-sent request is abandoned.
            self._active.pop().retired = True
        if n > len(self._active):
            self._engine.prepare(n)  # httpx: one client per user, built before the user starts
            first = len(self._active)
            gap = min(SPAWN_GAP_S, SPAWN_RAMP_MAX_S / (n - first))
            for slot in range(first, n):
                user = _User(slot)
                self._active.append(user)
                task = asyncio.create_task(self._run(user, (slot - first) * gap))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _run(self, user: _User, delay_s: float) -> None:
        engine, recorder, target = self._engine, self._recorder, self._target
        if delay_s:
            await asyncio.sleep(delay_s)
        while not user.retired:
            last = target.churn.last(user.slot)
            if not await send(engine, recorder, user.slot, target.url, time.perf_counter(), last):
                await asyncio.sleep(ERROR_BACKOFF_S)

    async def retire(self, grace_s: float) -> None:
        self.set_users(0)
        await _settle(self._tasks, grace_s)


class OpenLoop:
    """Requests due at t0 + i/rate, whether or not earlier ones have come back.

    Latency runs from the intended send time, so a stalled server shows up as growing latency instead
    of being hidden by a client that politely stopped sending (coordinated omission). In-flight
    requests are capped; a send due while at the cap is counted as overflow and not made.
    """

    def __init__(self, engine: HttpEngine, recorder: Recorder, target: Target) -> None:
        self._engine = engine
        self._recorder = recorder
        self._target = target
        self._rate = 1.0
        self._max_in_flight = 1
        self._scheduler: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()
        # httpx needs a client per concurrent request: reuse free slots (LIFO keeps connections warm).
        self._free_slots: list[int] = []
        self._next_slot = 0

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def configure(self, rate: float, max_in_flight: int) -> None:
        """Start, or change rate/cap live. A rate change restarts the schedule from now."""
        self._max_in_flight = max_in_flight
        if self._scheduler is not None and rate == self._rate:
            return
        self._rate = rate
        self.stop()
        self._scheduler = asyncio.create_task(self._schedule(time.perf_counter()))

    def stop(self) -> None:
        """Stop scheduling; requests in flight complete."""
        if self._scheduler is not None:
            self._scheduler.cancel()
            self._scheduler = None

    async def _schedule(self, origin: float) -> None:
        rate, recorder = self._rate, self._recorder
        index = 0
        while True:
            delay = origin + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter()
            # Everything due by now goes out in this wake-up: the loop's timer resolution (~1 ms)
            # must not cap the rate, and a late wake-up is charged to latency, not forgiven.
            while (due := origin + index / rate) <= now:
                index += 1
                recorder.intended()
                if len(self._requests) >= self._max_in_flight:
                    recorder.overflow()
                    continue
                slot = self._free_slots.pop() if self._free_slots else self._take_new_slot()
                task = asyncio.create_task(self._request(slot, self._target.url, due))
                self._requests.add(task)
                task.add_done_callback(self._requests.discard)

    def _take_new_slot(self) -> int:
        self._next_slot += 1
        return self._next_slot - 1

    async def _request(self, slot: int, url: str, intended: float) -> None:
        try:
            await send(self._engine, self._recorder, slot, url, intended, self._target.churn.last(slot))
        finally:
            self._free_slots.append(slot)

    async def retire(self, grace_s: float) -> None:
        self.stop()
        await _settle(self._requests, grace_s)
