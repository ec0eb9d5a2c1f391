"""Per-worker probes on the worker's own event loop: loop lag and threadpool occupancy.

One periodic task does both on the same tick and flushes the emitter every ``FLUSH_S`` worth of
ticks, which gives the emitter its timer without a second task. Flushing every tick would double the
datagrams an idle worker sends (100/s instead of 50/s), and the collector pays ~10-40 µs per datagram.

Loop lag is timer overshoot: the task asks to sleep ``interval`` and measures how much later than
that it actually woke. While the loop is blocked for ``B`` ms the overshoot reaches ``B - interval``
to ``B`` ms, depending on where in the tick the block began.
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

INTERVAL_S: Final = 0.010
FLUSH_S: Final = 0.020
U16_MAX: Final = 0xFFFF
U32_MAX: Final = 0xFFFF_FFFF


class Probes:
    """Samples lag and the threadpool limiter every ``interval`` seconds while running."""

    def __init__(
        self,
        emitter: Emitter,
        in_flight: Callable[[], int],
        *,
        interval: float = INTERVAL_S,
        flush: float = FLUSH_S,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._emitter = emitter
        self._in_flight = in_flight
        self._interval = interval
        self._flush_every = max(1, round(flush / interval))  # in ticks
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start ticking on the running loop (call from the worker's lifespan startup)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="asgiscope-probes")

    def cancel(self) -> None:
        """Stop without waiting (for cleanup paths that cannot await)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        # The limiter is a per-loop object: look it up from inside the loop, once. Its total_tokens
        # is read on every tick, so a change made after startup still shows.
        limiter = anyio.to_thread.current_default_thread_limiter()
        interval_ns = int(self._interval * 1e9)
        clock, record = self._clock, self._emitter.record
        tick = 0
        while True:
            before = clock()
            await asyncio.sleep(self._interval)
            now = clock()
            lag = max(0, now - before - interval_ns)
            record(protocol.KIND_LAG, 0, 0, 0, now, lag, 0)
            stats = limiter.statistics()
            record(
                protocol.KIND_POOL,
                0,
                min(self._in_flight(), U16_MAX),
                _u32(stats.total_tokens),
                now,
                stats.borrowed_tokens,
                stats.tasks_waiting,
            )
            tick += 1
            if tick % self._flush_every == 0:
                self._emitter.flush()


def _u32(tokens: float) -> int:
    # total_tokens may be math.inf (an unbounded limiter); the wire field is u32.
    return U32_MAX if tokens >= U32_MAX else int(tokens)
