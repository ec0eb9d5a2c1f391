"""Per-worker probes on the worker's own event loop: loop lag, threadpool occupancy and, a few times a
second, the CPU time of each of the worker's threads (read off the loop by ``ThreadCpu``).

One periodic task does both on the same tick and flushes the emitter every ``FLUSH_S`` worth of
ticks, which gives the emitter its timer without a second task. Flushing every tick would double the
datagrams a busy worker sends (100/s instead of 50/s), and the collector pays ~10-40 µs per datagram.

Loop lag is timer overshoot: the task asks to sleep ``interval`` and measures how much later than
that it actually woke. While the loop is blocked for ``B`` ms the overshoot reaches ``B - interval``
to ``B`` ms, depending on where in the tick the block began.

An idle worker should cost next to nothing, so the probe ticks every ``INTERVAL_S`` only while
requests are about: once nothing has been in flight for ``IDLE_AFTER_S`` it ticks every
``IDLE_INTERVAL_S``. The middleware wakes it (``wake``) when a request starts, and the woken tick
measures how long the loop took to come back to the probe: a handler that blocks the loop from its
very first request is measured whole, not by a slow timer that happens to expire during the block.
Thread CPU is asked for every ``THREADS_EVERY_S`` while busy, every ``THREADS_IDLE_EVERY_S`` when idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Final

import anyio.to_thread

from asgiscope.server import protocol
from asgiscope.server.demo.emitter import Emitter
from asgiscope.server.demo.threadcpu import ThreadCpu

INTERVAL_S: Final = 0.010
IDLE_INTERVAL_S: Final = 0.25
IDLE_AFTER_S: Final = 1.0
FLUSH_S: Final = 0.020
THREADS_EVERY_S: Final = 0.25
THREADS_IDLE_EVERY_S: Final = 1.0
# A worker with hundreds of threads (tokens up to 1,000) takes ~14 µs a thread to read: ask less often,
# so the samples cost at most this share of a core, but at least every THREADS_MAX_GAP_S.
THREADS_COST_SHARE: Final = 0.005
THREADS_MAX_GAP_S: Final = 2.0
U16_MAX: Final = 0xFFFF
U32_MAX: Final = 0xFFFF_FFFF


class Probes:
    """Samples lag and the threadpool limiter every ``interval`` seconds while requests are about,
    every ``idle_interval`` seconds once none has been in flight for ``idle_after`` seconds."""

    def __init__(
        self,
        emitter: Emitter,
        in_flight: Callable[[], int],
        *,
        interval: float = INTERVAL_S,
        idle_interval: float = IDLE_INTERVAL_S,
        idle_after: float = IDLE_AFTER_S,
        flush: float = FLUSH_S,
        clock: Callable[[], int] = time.monotonic_ns,
        threads: ThreadCpu | None = None,
    ) -> None:
        self._emitter = emitter
        self._threads = threads
        self._in_flight = in_flight
        self._interval = interval
        self._idle_interval = idle_interval
        self._idle_after = max(1, round(idle_after / interval))  # in quiet ticks
        self._flush_every = max(1, round(flush / interval))  # in ticks
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        # True while the probe wants to hear of the next request: it sleeps a long idle tick, or saw
        # nothing in flight at its last tick. The middleware reads it on every request, so it is a
        # plain attribute (one load), and calls wake() only when it is set: at most once a tick.
        self.listening = False
        self._heard = False  # a request started since the last tick
        self._waiter: asyncio.Future[bool] | None = None
        self._woken_at = 0

    @property
    def idle(self) -> bool:
        """Whether the probe is sleeping a long idle tick."""
        return self._waiter is not None and not self._waiter.done()

    def start(self) -> None:
        """Start ticking on the running loop (call from the worker's lifespan startup)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="asgiscope-probes")
            if self._threads is not None:
                self._threads.start()

    def cancel(self) -> None:
        """Stop without waiting (for cleanup paths that cannot await)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        if self._threads is not None:
            self._threads.stop()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._threads is not None:
            self._threads.stop()

    def wake(self) -> None:
        """A request started: count it as activity, and end an idle tick now; that tick then reports
        how late the loop ran it. Called on the loop's thread, like everything here."""
        self.listening = False
        self._heard = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._woken_at = self._clock()
            waiter.set_result(True)

    async def _sleep_idle(self) -> int:
        """One idle tick; returns the lag it measured in ns."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        timer = loop.call_later(self._idle_interval, _release, waiter)
        self._waiter = waiter
        self.listening = True
        before = self._clock()
        try:
            woken = await waiter
        finally:
            timer.cancel()
            self._waiter = None
        now = self._clock()
        if woken:  # how long the loop took to get back here after the request began
            return max(0, now - self._woken_at)
        return max(0, now - before - int(self._idle_interval * 1e9))  # overshoot, as in a busy tick

    async def _run(self) -> None:
        # The limiter is a per-loop object: look it up from inside the loop, once. Its total_tokens
        # is read on every tick, so a change made after startup still shows.
        limiter = anyio.to_thread.current_default_thread_limiter()
        interval_ns = int(self._interval * 1e9)
        clock, record = self._clock, self._emitter.record
        tick = quiet = 0
        asked = 0  # when thread CPU was last asked for
        while True:
            idle = quiet >= self._idle_after
            if idle:
                lag = await self._sleep_idle()
                now = clock()
            else:
                before = clock()
                await asyncio.sleep(self._interval)
                now = clock()
                lag = max(0, now - before - interval_ns)
            record(protocol.KIND_LAG, 0, 0, 0, now, lag, 0)
            stats = limiter.statistics()
            in_flight = self._in_flight()
            record(
                protocol.KIND_POOL,
                0,
                min(in_flight, U16_MAX),
                _u32(stats.total_tokens),
                now,
                stats.borrowed_tokens,
                stats.tasks_waiting,
            )
            if self._threads is not None:
                asked = self._thread_cpu(now, idle, asked)
            heard, self._heard = self._heard, False
            quiet = 0 if in_flight or heard else quiet + 1
            # Nothing in flight: hear of the next request, even one that starts and ends between ticks.
            self.listening = not in_flight
            tick += 1
            # Records go out at once around idle ticks (the next tick is far off), and so does the
            # first busy tick's: the lag of a loop blocked by the request that woke the probe.
            if idle or quiet >= self._idle_after or tick % self._flush_every == 0:
                self._emitter.flush()

    def _thread_cpu(self, now: int, idle: bool, asked: int) -> int:
        """Emit the thread CPU sample read since the last tick; ask for the next one when it is due.
        Returns when it was last asked for."""
        threads = self._threads
        assert threads is not None
        sample = threads.take()
        if sample:
            record = self._emitter.record
            for tid, t_ns, cpu_ns in sample:
                record(protocol.KIND_THREADS, 0, 0, tid, t_ns, cpu_ns, 0)
        every = THREADS_IDLE_EVERY_S if idle else THREADS_EVERY_S
        gap_ns = min(max(every * 1e9, threads.cost_ns / THREADS_COST_SHARE), THREADS_MAX_GAP_S * 1e9)
        if now - asked >= gap_ns:
            threads.request()
            return now
        return asked


def _release(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


def _u32(tokens: float) -> int:
    # total_tokens may be math.inf (an unbounded limiter); the wire field is u32.
    return U32_MAX if tokens >= U32_MAX else int(tokens)
