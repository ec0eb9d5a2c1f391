"""Readiness: the master runs, every worker is up, and the app answers ``GET /hello`` with 200.

The probe speaks minimal HTTP/1.1 over asyncio streams: no client library, one short-lived connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def http_status(host: str, port: int, path: str = "/hello", within: float = 2.0) -> int:
    """The status code of ``GET path``; raises OSError or TimeoutError when there is no answer."""
    async with asyncio.timeout(within):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise OSError(f"no HTTP status line in {status_line!r}")
    return int(parts[1])


async def wait_ready(
    *,
    host: str,
    port: int,
    expected_workers: int,
    master_exited: Callable[[], bool],
    worker_count: Callable[[], int],
    within: float,
    interval: float = 0.05,
) -> str | None:
    """None once ready; otherwise why not (the master exited, or what was still missing at the deadline)."""
    deadline = time.monotonic() + within
    last = "no answer yet"
    while True:
        if master_exited():
            return "the server exited during startup"
        count = worker_count()
        if count == expected_workers:
            try:
                left = deadline - time.monotonic()
                status = await http_status(host, port, within=min(2.0, max(0.1, left)))
            except (OSError, TimeoutError) as exc:
                last = f"GET /hello failed: {exc!r}"
            else:
                if status == 200:
                    return None
                last = f"GET /hello answered {status}"
        else:
            last = f"{count} of {expected_workers} workers up"
        if time.monotonic() >= deadline:
            return f"not ready within {within:g} s ({last})"
        await asyncio.sleep(interval)


async def poll_until(predicate: Callable[[], bool], within: float, interval: float = 0.05) -> bool:
    """Whether predicate became true within ``within`` s (polled: the OS gives no event for it)."""
    deadline = time.monotonic() + within
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
