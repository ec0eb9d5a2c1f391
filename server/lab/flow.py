"""The request-flow motion model: recorded telemetry in, where each request is at time ``t`` out.

Every drawn request is a real one, at the stage its own record puts it in at ``t``:

- ``arrive``:  from the listening socket to the worker that accepted it (a short transit drawn just
  before the middleware saw it start: ``transit_ns``, the only time here not taken from a record)
- ``loop``:    an ``async def`` handler on the worker's event loop (``start`` → ``end``)
- ``wait``:    a ``def`` handler waiting for a threadpool token (``start`` → ``token``)
- ``thread``:  a ``def`` handler in its thread (``token`` → ``end``), in the slot of its thread
- ``respond``: the response going back (``end`` → ``end + transit_ns``)

A WSGI worker (gunicorn sync or gthread, as its HELLO says) has no loop and no tokens: its records put
every request in a thread from its start (``token`` = ``start``), so it goes straight to ``thread``, in
the slot of the thread that ran it: a sync worker's one slot, or one of gthread's threads. A request a
sync worker has not started yet waits in the kernel (the frame's ``kernel_queue``); gthread accepts
requests and queues them for its threads, which its POOL records count (``waiting``).

A record exists only once its request ended, so frames are drawn a little in the past (the Lab's
playhead): then every request in flight at ``t`` is known. A loop whose lag covers ``t`` by more than
``LAG_MS`` is blocked: its requests stop where the block began. At most ``MAX_DRAWN`` requests are
drawn, chosen by a hash of who they are, so the same ones stay drawn frame after frame; the rest
show as each worker's stream width (``rate_rps``) and counts. The view only maps stages to pixels.

The GIL: each worker's threads report their CPU (flow_cpu.py), so a frame says what share of a core
the thread in each busy slot got at ``t`` and what all the worker's threads got together: eight
CPU-bound handlers hold eight slots, and together get one core, an eighth each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np

from asgiscope.server.lab import flow_cpu
from asgiscope.server.lab.flow_events import LAG_DTYPE, POOL_DTYPE, REQ_DTYPE, THREADS_DTYPE, FlowEvents
from asgiscope.server.lab.gil_notes import flow_gil_note
from asgiscope.server.lab.insight import LAG_MS
from asgiscope.server.scenario import WorkerClass

Stage = Literal["arrive", "loop", "wait", "thread", "respond"]
STAGES: Final[tuple[Stage, ...]] = ("arrive", "loop", "wait", "thread", "respond")
ARRIVE, LOOP, WAIT, THREAD, RESPOND = range(len(STAGES))
MAX_DRAWN: Final = 200
TRANSIT_NS: Final = 150_000_000  # socket → worker and worker → client, at normal speed
RATE_WINDOW_NS: Final = 1_000_000_000  # a worker's stream width: requests it finished in the last second
CHANGE_NS: Final = 4_000_000_000  # a worker is shown arriving or dying this long: long enough to point at
BLOCKED_NS: Final = int(LAG_MS * 1e6)
WorkerState = Literal["running", "arriving", "retiring", "dying"]


@dataclass(frozen=True, slots=True)
class FlowWorker:
    pid: int
    state: WorkerState
    kind: WorkerClass  # uvicorn: an event loop and a threadpool; sync: one slot; gthread: its threads
    tokens: int  # threadpool slots, a WSGI worker's threads (0 until the worker reported its pool)
    busy: tuple[bool, ...]  # per slot: a request is in that thread at t
    waiting: int  # requests waiting for a token at t (gthread: accepted, queued for a thread)
    on_loop: int  # requests on the event loop at t
    rate_rps: float  # requests it finished over the last second: the width of its stream
    lag_ms: float  # the loop's lag at t (the longest block covering t, else the latest sample)
    blocked: bool  # the loop is stuck at t by more than LAG_MS
    # per slot: the share of a core its thread got around t, -1 = idle slot or that CPU not known
    cpu: tuple[float, ...] = ()
    threads_cpu: float = -1.0  # all its threads together, of one core; -1 = no thread CPU known yet
    # busy slots whose threads take turns at the CPU (CPU-bound, under the GIL), 0: none do (handlers
    # that sleep or wait on I/O hold their slots without wanting the CPU)
    taking_turns: int = 0
    gil_note: str = ""  # in words, while two or more of its threads take turns


def _empty(dtype: str) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass(frozen=True, slots=True)
class FlowFrame:
    """One instant of the flow; the arrays have one row per drawn request."""

    t_ns: int = 0
    master_pid: int = 0
    workers: tuple[FlowWorker, ...] = ()
    worker: np.ndarray = field(default_factory=lambda: _empty("i2"))  # index into workers
    stage: np.ndarray = field(default_factory=lambda: _empty("u1"))  # index into STAGES
    progress: np.ndarray = field(default_factory=lambda: _empty("f4"))  # 0..1 through its stage
    lane: np.ndarray = field(
        default_factory=lambda: _empty("i2")
    )  # thread slot, place in the wait queue, else -1
    frozen: np.ndarray = field(default_factory=lambda: _empty("?"))  # on a blocked loop
    key: np.ndarray = field(default_factory=lambda: _empty("u4"))  # stable per request (colour, jitter)
    route: np.ndarray = field(default_factory=lambda: _empty("u1"))
    in_flight: int = 0  # requests inside the workers at t, drawn or not
    kernel_queue: int = 0  # sent by clients, in no worker yet: accept queue and socket buffers
    oldest_ns: int = 0  # how far back a replay can go
    traced: int = -1  # the row of the request sent on demand ("send one request"), -1 = not about
    traced_label: str = ""  # its timings in words, while it is known

    @property
    def drawn(self) -> int:
        return len(self.stage)


def frame_at(
    events: FlowEvents, t: int, *, transit_ns: int = TRANSIT_NS, max_drawn: int = MAX_DRAWN
) -> FlowFrame:
    """Where everything is at ``t`` (monotonic ns). Deterministic: the same events, the same frame."""
    tree = events.tree_at(t)
    chunks = events.chunks_around(t - max(transit_ns, RATE_WINDOW_NS), t + transit_ns)
    req = _join([c.req for c in chunks], REQ_DTYPE)
    lag = _join([c.lag for c in chunks], LAG_DTYPE)
    pool = _join([c.pool for c in chunks], POOL_DTYPE)
    nearby = events.chunks_around(t - flow_cpu.GAP_NS, t + flow_cpu.GAP_NS)
    shares = flow_cpu.shares_at(_join([c.threads for c in nearby], THREADS_DTYPE), t)
    pids = _worker_pids(events, t, tree.pids if tree else (), req, transit_ns)
    n = len(pids)

    # Lag: the loop is blocked at t when a sample's stall [t_s - lag, t_s] covers t.
    lag_ms, blocked_since = np.zeros(n), np.zeros(n, dtype=np.int64)
    if len(lag):
        known = np.isin(lag["pid"], pids)
        lag = lag[known]
        w = _index_of(lag["pid"], pids)
        covering = (lag["t"] - lag["lag"] <= t) & (t <= lag["t"])
        recent = (lag["t"] <= t) & (lag["t"] > t - RATE_WINDOW_NS // 4)
        shown = np.where(covering | recent, lag["lag"], 0)
        np.maximum.at(lag_ms, w, shown / 1e6)
        stuck = covering & (lag["lag"] > BLOCKED_NS)
        if stuck.any():
            since = np.full(n, np.iinfo(np.int64).max)
            np.minimum.at(since, w[stuck], lag["t"][stuck] - lag["lag"][stuck])
            blocked_since = np.where(since < np.iinfo(np.int64).max, since, 0)
    blocked = blocked_since > 0

    # Pools: each worker's latest report at or before t.
    tokens, in_flight = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    reported_waiting = np.zeros(n, dtype=np.int64)
    if len(pool):
        before = pool[pool["t"] <= t]
        for i, pid in enumerate(pids):
            mine = before[before["pid"] == pid]
            if len(mine):
                last = mine[np.argmax(mine["t"])]
                tokens[i], in_flight[i] = int(last["tokens"]), int(last["in_flight"])
                reported_waiting[i] = int(last["waiting"])
    tokens = np.maximum(tokens, _max_slot(req, pids))

    # Requests: which are about at t, and at which stage.
    req = req[np.isin(req["pid"], pids)]
    w_all = _index_of(req["pid"], pids)
    done = (req["end"] <= t) & (req["end"] > t - RATE_WINDOW_NS)
    rate = np.bincount(w_all[done], minlength=n) * (1e9 / RATE_WINDOW_NS)
    about = (req["start"] - transit_ns <= t) & (t < req["end"] + transit_ns)
    req, w_all = req[about], w_all[about]
    start, token, end = req["start"], req["token"], req["end"]
    on_pool = token > 0
    stage = np.select(
        [t < start, t >= end, on_pool & (t < token), on_pool],
        [ARRIVE, RESPOND, WAIT, THREAD],
        LOOP,
    ).astype(np.uint8)
    frozen = (stage == LOOP) & blocked[w_all]
    at = np.where(frozen, np.minimum(t, blocked_since[w_all]), t)
    lo = np.select(
        [stage == ARRIVE, stage == RESPOND, stage == THREAD], [start - transit_ns, end, token], start
    )
    hi = np.select([stage == ARRIVE, stage == RESPOND, stage == WAIT], [start, end + transit_ns, token], end)
    progress = np.clip((at - lo) / np.maximum(hi - lo, 1), 0.0, 1.0).astype(np.float32)
    slot = req["slot"].astype(np.int64)
    lane = np.full(len(req), -1, dtype=np.int64)
    in_thread = stage == THREAD
    lane[in_thread] = slot[in_thread] % np.maximum(tokens[w_all[in_thread]], 1)
    waiting = stage == WAIT
    lane[waiting] = _queue_places(w_all[waiting], token[waiting])
    busy = np.zeros((n, int(tokens.max(initial=0))), dtype=bool)
    busy[w_all[in_thread], lane[in_thread]] = True
    slot_cpu = np.full(busy.shape, -1.0)
    slot_cpu[w_all[in_thread], lane[in_thread]] = flow_cpu.shares_of(
        shares, req["pid"][in_thread], req["tid"][in_thread]
    )
    cpu = flow_cpu.together(shares, pids)
    turns = [flow_cpu.taking_turns(slot_cpu[i][busy[i]]) for i in range(n)]
    key = _keys(req)
    inside = (stage != ARRIVE) & (stage != RESPOND)

    kinds = [events.class_of(pid) for pid in pids]
    workers = tuple(
        FlowWorker(
            pid=pid,
            state=_state(events, pid, t, tree.pids if tree else ()),
            kind=kinds[i],
            tokens=int(tokens[i]),
            busy=tuple(busy[i, : tokens[i]].tolist()),
            # gthread's own queue: requests it accepted that no thread started, so no record names
            # them; the worker counts them (drawn as a count, never as invented dots)
            waiting=int(reported_waiting[i])
            if kinds[i] == "gthread"
            else int(np.count_nonzero(waiting & (w_all == i))),
            on_loop=int(np.count_nonzero((stage == LOOP) & (w_all == i))),
            rate_rps=float(rate[i]),
            lag_ms=float(lag_ms[i]),
            blocked=bool(blocked[i]),
            cpu=tuple(slot_cpu[i, : tokens[i]].tolist()),
            threads_cpu=cpu[i],
            taking_turns=turns[i],
            gil_note=flow_gil_note(turns[i], cpu[i]),
        )
        for i, pid in enumerate(pids)
    )
    drawn = np.arange(len(req))
    if len(req) > max_drawn:
        drawn = np.sort(np.argpartition(key, max_drawn)[:max_drawn])
    traced, label = -1, ""
    if events.traced is not None:
        one = events.traced
        label = one.describe()
        hit = np.flatnonzero((req["pid"] == one.pid) & (req["start"] == one.start_ns))
        if len(hit):  # the one request a presenter follows is always drawn
            if hit[0] not in drawn:
                drawn = np.sort(np.r_[drawn[: max_drawn - 1], hit[0]])
            traced = int(np.searchsorted(drawn, hit[0]))
    client = tree.client_in_flight if tree else 0
    inside_n = int(np.count_nonzero(inside))
    return FlowFrame(
        t_ns=t,
        master_pid=tree.master_pid if tree else 0,
        workers=workers,
        worker=w_all[drawn].astype(np.int16),
        stage=stage[drawn],
        progress=progress[drawn],
        lane=lane[drawn].astype(np.int16),
        frozen=frozen[drawn],
        key=key[drawn],
        route=req["route"][drawn],
        in_flight=inside_n,
        kernel_queue=max(0, client - max(inside_n, int(in_flight.sum()))),
        oldest_ns=events.oldest,
        traced=traced,
        traced_label=label,
    )


def _join(arrays: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """Concatenate structured arrays as bytes: numpy's own concatenate re-derives the common dtype
    field by field on every call (40 % of a frame's time, measured)."""
    if len(arrays) == 1:
        return arrays[0]
    if not arrays:
        return np.zeros(0, dtype)
    return np.frombuffer(b"".join([a.tobytes() for a in arrays]), dtype)


def _worker_pids(
    events: FlowEvents, t: int, listed: tuple[int, ...], req: np.ndarray, transit_ns: int
) -> tuple[int, ...]:
    """The workers to draw at t, in the order they first appeared (a new one joins at the end): those
    the tree lists, those that left it a moment ago, and any whose requests are about (the tree is
    listed once a second, telemetry is faster)."""
    pids = set(listed)
    pids.update(d.pid for d in events.departures if t - CHANGE_NS < d.t <= t)
    about = (req["start"] - transit_ns <= t) & (t < req["end"] + transit_ns)
    pids.update(np.unique(req["pid"][about]).tolist())
    order = events.first_seen
    return tuple(sorted(pids, key=lambda p: (order.get(p, t), p)))


def _state(events: FlowEvents, pid: int, t: int, listed: tuple[int, ...]) -> WorkerState:
    if pid not in listed:
        gone = [d for d in events.departures if d.pid == pid and d.t <= t]
        if gone:
            return "dying" if gone[-1].failure else "retiring"
    joined = events.joined.get(pid)
    return "arriving" if joined is not None and 0 <= t - joined < CHANGE_NS else "running"


def _index_of(values: np.ndarray, pids: tuple[int, ...]) -> np.ndarray:
    """Each value's index in ``pids``, -1 for a pid not drawn (vectorised: thousands per frame)."""
    if not pids:
        return np.full(len(values), -1, dtype=np.int64)
    table = np.asarray(pids, dtype=np.int64)
    order = np.argsort(table)
    found = np.clip(np.searchsorted(table, values, sorter=order), 0, len(table) - 1)
    where = order[found]
    return np.where(table[where] == values, where, -1)


def _max_slot(req: np.ndarray, pids: tuple[int, ...]) -> np.ndarray:
    """Slots the records name, per worker, for workers that have not reported their pool yet."""
    out = np.zeros(len(pids), dtype=np.int64)
    used = req[req["slot"] >= 0]
    if len(used):
        w = _index_of(used["pid"], pids)
        ok = w >= 0
        np.maximum.at(out, w[ok], used["slot"][ok].astype(np.int64) + 1)
    return np.minimum(out, 64)


def _queue_places(worker: np.ndarray, token: np.ndarray) -> np.ndarray:
    """Each waiting request's place in its worker's queue: anyio's limiter is first come, first
    served, so the one that gets its token first is at the head (place 0)."""
    if not len(worker):
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((token, worker))
    places = np.empty(len(worker), dtype=np.int64)
    sorted_w = worker[order]
    first = np.r_[0, np.flatnonzero(np.diff(sorted_w)) + 1]
    counts = np.diff(np.r_[first, len(sorted_w)])
    places[order] = np.arange(len(sorted_w)) - np.repeat(first, counts)
    return places


def _keys(req: np.ndarray) -> np.ndarray:
    """A stable pseudo-random key per request (who it is, not when it is drawn)."""
    with np.errstate(over="ignore"):
        h = req["start"].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        h ^= req["pid"].astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        h ^= h >> np.uint64(29)
    return (h & np.uint64(0xFFFFFFFF)).astype(np.uint32)
