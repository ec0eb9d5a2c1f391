"""How a worker's threads share the CPU at one instant of the flow: the GIL, from the threads' own CPU.

Workers send each thread's cumulative CPU time a few times a second (THREADS records). A thread's
share of a core at ``t`` is the CPU it used between its two samples that bracket ``t``, over the wall
time between them. A live frame is often past a thread's newest sample (the next one is not in yet):
then the interval that ended last stands for it, if it ended at most ``GAP_NS`` before ``t``. Nothing
else is assumed: a thread without two samples near ``t`` has no share, and a worker none of whose
threads has one is drawn as if no thread CPU were known.
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
SHARE_DTYPE: Final = np.dtype([("pid", "<i8"), ("tid", "<i8"), ("share", "<f8")])


def shares_at(samples: np.ndarray, t: int) -> np.ndarray:
    """Each thread's share of one core at ``t`` (SHARE_DTYPE rows, sorted by pid and tid) from
    THREADS_DTYPE samples, in any order."""
    if len(samples) < 2:
        return np.zeros(0, SHARE_DTYPE)
    s = samples[np.lexsort((samples["t"], samples["tid"], samples["pid"]))]
    pid, tid, when, cpu = s["pid"], s["tid"], s["t"], s["cpu"]
    pair = (pid[1:] == pid[:-1]) & (tid[1:] == tid[:-1]) & (when[1:] > when[:-1])
    t0, t1 = when[:-1][pair], when[1:][pair]
    used = cpu[1:][pair] - cpu[:-1][pair]
    p, q = pid[:-1][pair], tid[:-1][pair]
    brackets = (t0 <= t) & (t < t1)
    latest = (t1 <= t) & (t - t1 <= GAP_NS)
    ok = brackets | latest
    p, q, t0, t1, used = p[ok], q[ok], t0[ok], t1[ok], used[ok]
    # per thread: the interval holding t, else the one that ended last before it
    rank = np.where(brackets[ok], np.iinfo(np.int64).max, t1)
    order = np.lexsort((rank, q, p))
    sp, sq = p[order], q[order]
    last = order[np.r_[(sp[1:] != sp[:-1]) | (sq[1:] != sq[:-1]), True]] if len(order) else order
    out = np.empty(len(last), SHARE_DTYPE)
    out["pid"], out["tid"] = p[last], q[last]
    out["share"] = np.maximum(used[last], 0) / (t1[last] - t0[last])
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
