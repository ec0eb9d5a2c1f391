"""How a worker's threads share the CPU at one instant of the flow: the GIL, from the threads' own CPU.

Workers send each thread's cumulative CPU time a few times a second (THREADS records). As they arrive,
each sample and the same thread's previous one make an interval: the CPU the thread used between them
over the wall time between them, its share of a core then (``Intervals``). A thread's share at ``t``
is that of its interval holding ``t``. A live frame is often past a thread's newest sample (the next
one is not in yet): then its interval that ended last stands for it, if it ended at most ``GAP_NS``
before ``t``. Nothing else is assumed: a thread without such an interval has no share, and a worker
none of whose threads has one is drawn as if no thread CPU were known.
"""

from __future__ import annotations

from typing import Final

import numpy as np

# Workers sample at least every 2 s (server/demo/probes.py THREADS_MAX_GAP_S): an interval that ended
# longer ago than this no longer says what the thread does now.
GAP_NS: Final = 2_500_000_000
# Threads holding slots that use this much of a core between them are CPU-bound: handlers that sleep
# or wait on I/O use a few % at most even at the load ceiling, and a per-thread threshold would miss
# 40 CPU-bound threads that get 1/40 of a core each
CPU_BUSY_CORE: Final = 0.3
INTERVAL_DTYPE: Final = np.dtype(
    [("pid", "<i8"), ("tid", "<i8"), ("t0", "<i8"), ("t1", "<i8"), ("share", "<f8")]
)
SHARE_DTYPE: Final = np.dtype([("pid", "<i8"), ("tid", "<i8"), ("share", "<f8")])
MAX_THREADS: Final = 64 * 4_096  # threads remembered at once; past that the memory starts afresh


class Intervals:
    """Samples in, in the order they came; each thread's intervals between its samples out."""

    def __init__(self) -> None:
        self._last: dict[tuple[int, int], tuple[int, int]] = {}  # (pid, tid) → (t, CPU) of its newest

    def add(self, pids: np.ndarray, tids: np.ndarray, ts: np.ndarray, cpus: np.ndarray) -> np.ndarray:
        if len(self._last) > MAX_THREADS:
            self._last.clear()
        rows = []
        for pid, tid, t, cpu in zip(pids.tolist(), tids.tolist(), ts.tolist(), cpus.tolist(), strict=True):
            last = self._last.get((pid, tid))
            if last is not None and t <= last[0]:
                continue  # not newer than what is there (a late datagram): no time passed to share
            self._last[(pid, tid)] = (t, cpu)
            if last is not None:
                rows.append((pid, tid, last[0], t, max(0, cpu - last[1]) / (t - last[0])))
        return np.array(rows, dtype=INTERVAL_DTYPE)


def shares_at(intervals: np.ndarray, t: int) -> np.ndarray:
    """Each thread's share of one core at ``t`` (SHARE_DTYPE rows, sorted by pid and tid) from
    INTERVAL_DTYPE rows in the order they were made (a thread's in time order)."""
    holding = intervals[(intervals["t0"] <= t) & (t < intervals["t1"])]
    ended = intervals[(intervals["t1"] <= t) & (t - intervals["t1"] <= GAP_NS)]
    # the latest that ended, per thread: the last of its key in a stable sort keeps arrival order
    key = _keys(ended["pid"], ended["tid"])
    order = np.argsort(key, kind="stable")
    sk = key[order]
    ended = ended[order[np.r_[sk[1:] != sk[:-1], True]]] if len(sk) else ended
    ended = ended[~np.isin(_keys(ended["pid"], ended["tid"]), _keys(holding["pid"], holding["tid"]))]
    both = np.concatenate([holding, ended])
    both = both[np.argsort(_keys(both["pid"], both["tid"]), kind="stable")]
    out = np.empty(len(both), SHARE_DTYPE)
    out["pid"], out["tid"], out["share"] = both["pid"], both["tid"], both["share"]
    return out


def together(shares: np.ndarray, pids: tuple[int, ...]) -> tuple[float, ...]:
    """Per worker, all its threads' shares together, of one core; -1 where none is known."""
    out = []
    for pid in pids:
        mine = shares["share"][shares["pid"] == pid]
        out.append(float(mine.sum()) if len(mine) else -1.0)
    return tuple(out)


def taking_turns(slot_shares: np.ndarray) -> int:
    """How many threads in busy slots (their shares, -1 = not known) take turns at the CPU: all of
    them once they use ``CPU_BUSY_CORE`` between them, else none (they mostly wait on I/O)."""
    known = slot_shares[slot_shares >= 0]
    return len(known) if len(known) >= 2 and float(known.sum()) >= CPU_BUSY_CORE else 0


def shares_of(shares: np.ndarray, pid: np.ndarray, tid: np.ndarray) -> np.ndarray:
    """The share of each (pid, tid) thread, -1 where its CPU is not known at that instant."""
    out = np.full(len(pid), -1.0)
    if not len(shares) or not len(pid):
        return out
    known = _keys(shares["pid"], shares["tid"])  # sorted: shares come sorted by pid, then tid
    wanted = _keys(pid, tid)
    at = np.clip(np.searchsorted(known, wanted), 0, len(known) - 1)
    hit = known[at] == wanted
    out[hit] = shares["share"][at[hit]]
    return out


def _keys(pid: np.ndarray, tid: np.ndarray) -> np.ndarray:
    # native thread ids fit 32 bits (the protocol's tid is u32), pids fit the rest
    return (pid.astype(np.int64) << 32) | tid.astype(np.int64)
