"""The uvicorn master's health check on real spawned uvicorn workers: death is noticed at once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from uvicorn import Config
from uvicorn.supervisors.multiprocess import Process

from asgiscope.server.launch.master import DEMO_APP
from asgiscope.server.launch.ready import http_status
from asgiscope.server.launch.uvicorn_master import health


@pytest.fixture
def worker() -> Iterator[tuple[Process, int]]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    config = Config(DEMO_APP, factory=True, host="127.0.0.1", port=port, log_level="warning")
    process = Process(config, [listener])
    process.start()
    try:
        yield process, port
    finally:
        process.kill()
        process.join()
        listener.close()


async def test_health_reports_serving_then_a_death_during_a_long_wait_at_once(
    worker: tuple[Process, int],
) -> None:
    process, port = worker
    deadline = time.monotonic() + 30
    while health(process, timeout=1.0) is not True:
        assert time.monotonic() < deadline, "the worker never reported serving"
        await asyncio.sleep(0.05)
    assert await http_status("127.0.0.1", port) == 200

    # Frozen, it cannot answer; killed 0.3 s into a 30 s wait, the wait must end then, not at 30 s.
    assert process.pid is not None
    os.kill(process.pid, signal.SIGSTOP)
    killer = threading.Timer(0.3, os.kill, (process.pid, signal.SIGKILL))
    killer.start()
    started = time.monotonic()
    assert health(process, timeout=30.0) is None
    assert time.monotonic() - started < 10.0  # honest margin on a loaded machine; 30 s without the fix
    killer.join()
    assert health(process, timeout=30.0) is None  # and a dead worker is answered without waiting
