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


def lessons() -> tuple[FlowEvents, int]:
    """Four workers at once, one lesson each, and the time to look at them: 101 has its loop blocked
    (async requests frozen on it), 102 a full threadpool of 4 tokens with 10 waiting, 103 async
    requests awaiting on its loop, 104 just started by the master (scaling); 105 died."""
    events = FlowEvents()
    events.set_tree(at(0), 100, (101, 102, 103, 105), 30, set())
    blocked = [request(900, 1500)] + [request(950 + 20 * i, 1450 + 10 * i) for i in range(5)]
    blocked += [lag(1400, 450), lag(800, 1)]
    pooled = [
        request(
            600 + 10 * i,
            1200 + 100 * (i // 4),
            token_ms=1100 + 100 * (i // 4) if i >= 4 else 601 + 10 * i,
            tid=50 + i % 4,
        )
        for i in range(14)
    ]
    pooled.append(pool(1000, tokens=4, borrowed=4, waiting=10, in_flight=14))
    awaiting = [request(700 + 25 * i, 1200 + 25 * i) for i in range(16)]
    events.add([batch(101, blocked), batch(102, pooled), batch(103, awaiting)])
    events.set_tree(at(600), 100, (101, 102, 103), 30, {105})
    events.set_tree(at(700), 100, (101, 102, 103, 104), 30, set())
    events.add([batch(104, [request(950, 1300)])])
    return events, at(1000)


def hello(worker_class: str, tid: int = 1) -> tuple:
    """A worker announcing itself, as its telemetry does once at start."""
    kind = protocol.WORKER_CLASSES.index(worker_class)  # type: ignore[arg-type]
    return (protocol.KIND_HELLO, kind, 0, tid, T0, 1, 0)


def wsgi(start_ms: float, end_ms: float, tid: int) -> tuple:
    """A WSGI request as wsgi_telemetry records it: in its thread from its start (token = start)."""
    start = int(T0 + start_ms * MS)
    return (protocol.KIND_REQUEST, 1, 200, tid, start, int(T0 + end_ms * MS), start)


def wsgi_sync(users: int = 8, workers: int = 2, ms: float = 100) -> tuple[FlowEvents, int]:
    """``users`` closed-loop users on ``workers`` sync workers, each request ``ms`` long: every worker
    serves them back to back on its one thread from 0 to 1000 ms; the load process has ``users`` in
    flight all along. Returns the events and the end of the trace."""
    events = FlowEvents()
    pids = tuple(201 + i for i in range(workers))
    events.set_tree(at(0), 200, pids, users, set())
    batches = []
    for i, pid in enumerate(pids):
        rows = [hello("sync", tid=900 + i)]
        rows += [wsgi(k * ms + 0.5, (k + 1) * ms, tid=900 + i) for k in range(int(1000 // ms))]
        rows.append(pool(500, tokens=1, borrowed=1, waiting=0, in_flight=1))
        batches.append(batch(pid, rows))
    events.add(batches)
    return events, at(1000)


def thread_cpu(t_ms: float, tid: int, cpu_ms: float) -> tuple:
    """A thread's CPU sample as a worker's probe sends it: the CPU it has used so far, read at t."""
    return (protocol.KIND_THREADS, 0, 0, tid, int(T0 + t_ms * MS), int(cpu_ms * MS), 0)


def cpu_bound(threads: int = 8, ms: float = 1000, every_ms: float = 250) -> tuple[FlowEvents, int]:
    """One uvicorn worker whose ``threads`` threadpool threads each run a CPU-bound def handler from 0
    to ``ms``: under the GIL each gets 1/``threads`` of a core, the loop thread next to nothing."""
    rows = [request(0, ms, token_ms=1 + i, tid=50 + i) for i in range(threads)]
    rows.append(pool(10, tokens=threads, borrowed=threads, waiting=0, in_flight=threads))
    for k in range(int(ms // every_ms) + 1):
        t = k * every_ms
        rows += [thread_cpu(t, 50 + i, t / threads) for i in range(threads)]
        rows.append(thread_cpu(t, 1, t * 0.001))
    return events_of(batch(100, rows)), at(ms)
