"""Polling until a condition holds, for tests that watch another thread or process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from asgiscope.server.lab.session import Lab
from asgiscope.server.lab.snapshot import Snapshot


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


async def until_snapshot(lab: Lab, ok: Callable[[Snapshot], bool], within_s: float = 10.0) -> Snapshot:
    """The Lab's first snapshot that is ``ok``, polled every 0.1 s; fails with the tree's events."""
    for _ in range(int(within_s / 0.1)):
        snap = lab.snapshot()
        if ok(snap):
            return snap
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out: events {lab.snapshot().events}")
