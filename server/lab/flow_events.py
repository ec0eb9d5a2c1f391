"""What the flow panel replays: the last ``HISTORY_S`` seconds of telemetry and of the process tree.

Records arrive in batches, each when its worker flushed (a request's record only once it ended), so
the store keeps them as they came: one chunk per ingest, each knowing the span of time it covers.
A frame at time ``t`` then looks only at the few chunks whose span holds ``t`` instead of scanning
30 s of records. Memory stays bounded by time and by count, whatever the rate.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np

from asgiscope.server.lab.flow_cpu import INTERVAL_DTYPE, Intervals
from asgiscope.server.lab.traced import Traced
from asgiscope.server.protocol import (
    KIND_HELLO,
    KIND_LAG,
    KIND_POOL,
    KIND_REQUEST,
    KIND_THREADS,
    WORKER_CLASSES,
    Batch,
    of_kind,
)
from asgiscope.server.scenario import WorkerClass

HISTORY_S: Final = 30.0
HISTORY_NS: Final = int(HISTORY_S * 1e9)
# 30 s at ~10,000 req/s, the most the load generator reaches here: a flood drops the oldest chunks.
MAX_RECORDS: Final = 400_000
MAX_TREE_CHANGES: Final = 4_096

REQ_DTYPE: Final = np.dtype(
    [
        ("pid", "<i8"),
        ("start", "<i8"),
        ("token", "<i8"),  # when a handler began in its thread (WSGI: its start), 0 = it ran on the loop
        ("end", "<i8"),
        ("slot", "<i2"),  # the worker's n-th threadpool thread seen (its slot in the drawing), -1 = loop
        ("route", "<u1"),
        ("tid", "<u4"),  # native id of the thread that ran it (0 = the loop): whose CPU it had
    ]
)
LAG_DTYPE: Final = np.dtype([("pid", "<i8"), ("t", "<i8"), ("lag", "<i8")])
# a thread's share of a core between two of its CPU samples: the GIL shows in how the CPU splits
THREADS_DTYPE: Final = INTERVAL_DTYPE
POOL_DTYPE: Final = np.dtype(
    [
        ("pid", "<i8"),
        ("t", "<i8"),
        ("tokens", "<i4"),
        ("borrowed", "<i4"),
        ("waiting", "<i4"),
        ("in_flight", "<i4"),
    ]
)


@dataclass(frozen=True, slots=True)
class Chunk:
    lo: int  # earliest time anything in it concerns (a request's start), ns
    hi: int  # latest (a request's end, a sample's time), ns
    req: np.ndarray  # REQ_DTYPE
    lag: np.ndarray  # LAG_DTYPE
    pool: np.ndarray  # POOL_DTYPE
    threads: np.ndarray  # THREADS_DTYPE

    @property
    def size(self) -> int:
        return len(self.req) + len(self.lag) + len(self.pool) + len(self.threads)


@dataclass(frozen=True, slots=True)
class TreeState:
    """The process tree as the Lab saw it at ``t`` (monotonic ns)."""

    t: int
    master_pid: int
    pids: tuple[int, ...]
    client_in_flight: int  # requests the load process had sent and not yet had answered


@dataclass(frozen=True, slots=True)
class Departure:
    t: int  # when the tree stopped listing it, ns
    pid: int
    failure: bool  # it died (crash, kill) rather than being retired by scaling down


class FlowEvents:
    """Fed by the Lab each tick (``add``, ``set_tree``); read by ``flow.frame_at``."""

    def __init__(self, *, history_ns: int = HISTORY_NS, max_records: int = MAX_RECORDS) -> None:
        self.history_ns = history_ns
        self.max_records = max_records
        self.chunks: deque[Chunk] = deque()
        self._records = 0
        self.tree: deque[TreeState] = deque(maxlen=MAX_TREE_CHANGES)
        self.departures: deque[Departure] = deque(maxlen=MAX_TREE_CHANGES)
        self.first_seen: dict[int, int] = {}  # pid → when it first appeared (ns), in order of appearance
        self.joined: dict[int, int] = {}  # pid → when it joined a tree already running (scaled, replaced)
        self._slots: dict[tuple[int, int], int] = {}  # (pid, native thread id) → slot
        self._slots_of: dict[int, int] = {}  # pid → slots handed out
        self.classes: dict[int, WorkerClass] = {}  # pid → what its HELLO said it is
        self._expected: dict[int, WorkerClass] = {}  # pid → what the scenario started it as
        self.newest = 0  # latest time any input concerned, ns
        self._intervals = Intervals()  # each thread's CPU between its samples, as they come
        self.traced: Traced | None = None  # "send one request": highlighted wherever it is

    # ---- input -------------------------------------------------------------------------------
    def add(self, batches: list[Batch]) -> None:
        batches = [b for b in batches if len(b.records)]
        if not batches:
            return
        records = np.concatenate([b.records for b in batches]) if len(batches) > 1 else batches[0].records
        pids = np.repeat(
            np.array([b.pid for b in batches], dtype=np.int64), [len(b.records) for b in batches]
        )
        kinds = records["kind"]
        req_mask, lag_mask, pool_mask = kinds == KIND_REQUEST, kinds == KIND_LAG, kinds == KIND_POOL
        r = of_kind(records, KIND_REQUEST)
        req = np.empty(len(r), REQ_DTYPE)
        req["pid"], req["start"], req["end"] = pids[req_mask], r["start_ns"], r["end_ns"]
        req["token"], req["route"], req["tid"] = r["token_ns"], r["route"], r["thread"]
        req["slot"] = self._slot_of(req["pid"], r["thread"])
        g = of_kind(records, KIND_LAG)
        lag = np.empty(len(g), LAG_DTYPE)
        lag["pid"], lag["t"], lag["lag"] = pids[lag_mask], g["t_ns"], g["lag_ns"]
        p = of_kind(records, KIND_POOL)
        pool = np.empty(len(p), POOL_DTYPE)
        pool["pid"], pool["t"], pool["tokens"] = pids[pool_mask], p["t_ns"], p["tokens"]
        pool["borrowed"], pool["waiting"], pool["in_flight"] = p["borrowed"], p["waiting"], p["in_flight"]
        h = of_kind(records, KIND_THREADS)
        threads = self._intervals.add(pids[kinds == KIND_THREADS], h["thread"], h["t_ns"], h["cpu_ns"])
        hello = of_kind(records, KIND_HELLO)
        if len(hello):
            known = len(WORKER_CLASSES)
            for pid, kind in zip(
                pids[kinds == KIND_HELLO].tolist(), hello["worker_class"].tolist(), strict=True
            ):
                self.classes[pid] = WORKER_CLASSES[kind] if kind < known else "uvicorn"
        spans = (req["start"], req["end"], lag["t"] - lag["lag"], lag["t"], pool["t"], threads["t1"])
        times = [a for a in spans if len(a)]
        if not times:
            return
        lo = min(int(a.min()) for a in times)
        hi = max(int(a.max()) for a in times)
        chunk = Chunk(lo, hi, req, lag, pool, threads)
        for pid in np.unique(pids).tolist():
            self.first_seen.setdefault(pid, lo)
        self.chunks.append(chunk)
        self._records += chunk.size
        self.newest = max(self.newest, hi)
        self._trim()

    def set_tree(
        self,
        t: int,
        master_pid: int,
        pids: tuple[int, ...],
        client_in_flight: int,
        failed: set[int],
        worker_class: WorkerClass = "uvicorn",
    ) -> None:
        """The tree as listed at ``t``; ``failed``: pids known to have died rather than been retired;
        ``worker_class``: what the scenario starts, which a listed worker is until its HELLO says (32
        WSGI workers on 2 cores take seconds to load their app and say it)."""
        last = self.tree[-1] if self.tree else None
        for pid in pids:
            self.first_seen.setdefault(pid, t)
            self._expected.setdefault(pid, worker_class)
        if last is not None and last.pids:
            for pid in set(pids) - set(last.pids):
                self.joined[pid] = t
        if last is not None:
            for pid in set(last.pids) - set(pids):
                self.departures.append(Departure(t, pid, pid in failed))
        if last is None or (last.master_pid, last.pids, last.client_in_flight) != (
            master_pid,
            pids,
            client_in_flight,
        ):
            self.tree.append(TreeState(t, master_pid, pids, client_in_flight))
        self.newest = max(self.newest, t)
        self._trim()

    # ---- reading -----------------------------------------------------------------------------
    def class_of(self, pid: int) -> WorkerClass:
        """What the worker said it is, else what the scenario started it as."""
        return self.classes.get(pid) or self._expected.get(pid, "uvicorn")

    def chunks_around(self, lo: int, hi: int) -> list[Chunk]:
        """Chunks that may hold anything between ``lo`` and ``hi``."""
        return [c for c in self.chunks if c.hi >= lo and c.lo <= hi]

    def tree_at(self, t: int) -> TreeState | None:
        state = None
        for s in self.tree:
            if s.t > t:
                break
            state = s
        return state if state is not None else (self.tree[0] if self.tree else None)

    @property
    def oldest(self) -> int:
        """The earliest time a replay can go back to, ns (0 when nothing arrived yet)."""
        starts = [self.chunks[0].lo] if self.chunks else []
        if self.tree:
            starts.append(self.tree[0].t)
        return max(min(starts), self.newest - self.history_ns) if starts else 0

    # ---- internals ---------------------------------------------------------------------------
    def _slot_of(self, pids: np.ndarray, threads: np.ndarray) -> np.ndarray:
        # Thread ids are few (a pool's threads are reused): one dict look-up per distinct pair.
        slots = np.full(len(pids), -1, dtype=np.int16)
        on_pool = threads != 0
        if not on_pool.any():
            return slots
        pairs, inverse = np.unique(
            np.stack([pids[on_pool], threads[on_pool].astype(np.int64)]), axis=1, return_inverse=True
        )
        got = []
        for pid, tid in pairs.T.tolist():
            slot = self._slots.get((pid, tid))
            if slot is None:
                slot = self._slots[(pid, tid)] = self._slots_of.get(pid, 0)
                self._slots_of[pid] = slot + 1
            got.append(slot)
        slots[on_pool] = np.array(got, dtype=np.int16)[inverse.ravel()]
        return slots

    def _trim(self) -> None:
        horizon = self.newest - self.history_ns
        while self.chunks and (self.chunks[0].hi < horizon or self._records > self.max_records):
            self._records -= self.chunks.popleft().size
        # The tree state in force at the horizon stays: a replay from there needs it.
        while len(self.tree) > 1 and self.tree[1].t <= horizon:
            self.tree.popleft()
        while self.departures and self.departures[0].t < horizon:
            self.departures.popleft()
        for pid in [p for p, t in self.joined.items() if t < horizon]:
            del self.joined[pid]
        if len(self.first_seen) > MAX_TREE_CHANGES:
            for pid in list(self.first_seen)[: len(self.first_seen) - MAX_TREE_CHANGES]:
                del self.first_seen[pid]
        for known in (self.classes, self._expected):
            if len(known) > MAX_TREE_CHANGES:
                for pid in list(known)[: len(known) - MAX_TREE_CHANGES]:
                    del known[pid]
        if len(self._slots) > 64 * MAX_TREE_CHANGES:
            self._slots.clear()
            self._slots_of.clear()
