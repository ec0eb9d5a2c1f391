""" "Send one request": a real request sent on demand, then found in the workers' own telemetry.

The request is an ordinary GET of the load's route on a fresh connection. The response names the
worker (``pid``); its REQUEST record is the one of that worker that started after the request was sent
and ended before the response came back, with the least time left over at either end (loopback takes
~0.1 ms each way, so under any load the match is the request itself, and the slack is reported).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import numpy as np

from asgiscope.server.lab.flow_events import FlowEvents
from asgiscope.server.lab.traced import Traced

TIMEOUT_S: Final = 15.0
FIND_WAIT_S: Final = 3.0  # records come when the worker flushes (<= 20 ms) and the Lab drains them


@dataclass(frozen=True, slots=True)
class Sent:
    pid: int
    status: int
    sent_ns: int
    received_ns: int


async def send(url: str, path: str) -> Sent:
    """One GET on its own connection; raises OSError (or TimeoutError) when it cannot."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    async with asyncio.timeout(TIMEOUT_S):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            sent = time.monotonic_ns()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            raw = await reader.read()
            received = time.monotonic_ns()
        finally:
            writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
        pid = int(json.loads(body)["pid"])
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise OSError(f"the server's answer was not the demo app's: {head[:80]!r}") from exc
    return Sent(pid, status, sent, received)


def find(events: FlowEvents, sent: Sent) -> Traced | None:
    """The worker's record of ``sent``, if it has arrived."""
    best: tuple[int, np.void] | None = None
    for chunk in events.chunks_around(sent.sent_ns, sent.received_ns):
        req = chunk.req
        mine = req[
            (req["pid"] == sent.pid) & (req["start"] >= sent.sent_ns) & (req["end"] <= sent.received_ns)
        ]
        if len(mine):
            slack = (mine["start"] - sent.sent_ns) + (sent.received_ns - mine["end"])
            i = int(np.argmin(slack))
            if best is None or int(slack[i]) < best[0]:
                best = (int(slack[i]), mine[i])
    if best is None:
        return None
    row = best[1]
    return Traced(
        sent.pid,
        sent.status,
        sent.sent_ns,
        int(row["start"]),
        int(row["token"]),
        int(row["end"]),
        sent.received_ns,
        events.class_of(sent.pid),
    )
