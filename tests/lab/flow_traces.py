"""Small recorded traces for the flow model: telemetry batches as the workers send them."""

from __future__ import annotations

import numpy as np

from asgiscope.server import protocol
from asgiscope.server.lab.flow_events import FlowEvents
from asgiscope.server.protocol import RECORD_DTYPE, Batch

MS = 1_000_000
T0 = 10_000 * MS  # traces start 10 s into the clock: nothing is at 0


def request(start_ms: float, end_ms: float, *, token_ms: float = 0, tid: int = 0, route: int = 1) -> tuple:
    token = int(T0 + token_ms * MS) if token_ms else 0
    return (protocol.KIND_REQUEST, route, 200, tid, int(T0 + start_ms * MS), int(T0 + end_ms * MS), token)


def lag(t_ms: float, lag_ms: float) -> tuple:
    return (protocol.KIND_LAG, 0, 0, 0, int(T0 + t_ms * MS), int(lag_ms * MS), 0)


def pool(t_ms: float, tokens: int, borrowed: int, waiting: int, in_flight: int) -> tuple:
    return (protocol.KIND_POOL, 0, in_flight, tokens, int(T0 + t_ms * MS), borrowed, waiting)


def batch(pid: int, rows: list[tuple], seq: int = 0) -> Batch:
    return Batch(pid, seq, np.array(rows, dtype=RECORD_DTYPE))


def at(ms: float) -> int:
    return int(T0 + ms * MS)


def events_of(*batches: Batch, pids: tuple[int, ...] = (), client_in_flight: int = 0) -> FlowEvents:
    events = FlowEvents()
    events.set_tree(T0, 1, pids or tuple(sorted({b.pid for b in batches})), client_in_flight, set())
    events.add(list(batches))
    return events
