"""What a telemetry record may say: the limits beyond which it cannot come from this session's workers.

Only processes of the same user can read the session's token, so this is about robustness, not
security: a datagram with the right token but absurd content (a buggy or foreign sender) must not
freeze a rate or poison a total. Every limit follows from how the records are made (one monotonic
clock on one host, workers started after the collector) with a margin, so a real record is never
refused; each refused record is counted under its reason.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import numpy as np

from asgiscope.server.limits import MAX_IN_FLIGHT, TOKENS
from asgiscope.server.protocol import (
    KIND_LAG,
    KIND_POOL,
    KIND_REQUEST,
    KIND_THREADS,
    LAG_VIEW,
    POOL_VIEW,
    REQUEST_VIEW,
    THREADS_VIEW,
    VIEWS,
    made_ns,
)

# time.monotonic_ns is one clock for every process on the host, so a record is made after the
# collector started (its workers are started after it) and before it arrives. The slack only absorbs
# the collector taking "now" after the datagram was read; a second is generous and still harmless: a
# rate bins at most a second ahead, and its window (which ends in the past) never reads that bin.
CLOCK_SLACK_NS: Final = 1_000_000_000
# Linux's PID_MAX_LIMIT on 64-bit (macOS stays below 100,000): no process has a larger pid, nor 0.
PID_MAX: Final = 4_194_304
# A worker sends at most ~1,000 datagrams/s (64 requests each at its fastest, plus the flush timer and
# the probes). A gap of a million is a quarter hour of everything a worker can send, all lost while
# later datagrams arrive: not loss but a foreign stream. It is refused, so it can neither count 2^63
# datagrams lost nor make the real stream look like it went backwards.
MAX_SEQ_GAP: Final = 1_000_000
# Threadpool tasks waiting for a token are requests in flight: ten times what a load process may keep
# in flight is more than any session sends.
MAX_WAITING: Final = 10 * MAX_IN_FLIGHT.hi

# Whole datagrams refused here (after the wire's own checks in protocol.decode).
Refused = Literal["pid", "seq"]
# Single records refused; a hello is checked by its own time (``made_ns``) like every record.
Implausible = Literal["kind", "future", "past", "duration", "lag", "pool", "cpu"]
IMPLAUSIBLE: Final = get_args(Implausible)


def check(records: np.ndarray, born_ns: int, now_ns: int) -> tuple[np.ndarray, dict[str, int]] | None:
    """None when every one of ``records`` (RECORD_DTYPE) is plausible (the usual case, ~20 µs for 64);
    else a mask of the plausible ones and, per reason, how many were refused (each record under the
    first reason that refuses it). ``born_ns``: when the collector started; ``now_ns``: when the
    records arrived (monotonic ns)."""
    kind = records["kind"]
    made = made_ns(records)
    req = records.view(REQUEST_VIEW)
    lag = records.view(LAG_VIEW)
    pool = records.view(POOL_VIEW)
    token = req["token_ns"]
    threads = records.view(THREADS_VIEW)
    earliest = born_ns - CLOCK_SLACK_NS
    refused: dict[Implausible, np.ndarray] = {
        "kind": (kind < min(VIEWS)) | (kind > max(VIEWS)),
        # Before the collector started: a record of another session, or a zeroed or wrapped clock.
        "past": made < earliest,
        # After it arrived: the end time that froze "server req/s" (the rate's bins moved ahead).
        "future": made > now_ns + CLOCK_SLACK_NS,
        # A request ends after it starts, and started in this session; a def handler began in its
        # thread (token_ns) between the two, or the field is 0 (it ran on the loop).
        "duration": (kind == KIND_REQUEST)
        & (
            (req["start_ns"] > req["end_ns"])
            | (req["start_ns"] < earliest)
            | ((token != 0) & ((token < req["start_ns"]) | (token > req["end_ns"])))
        ),
        # Lag is how long the loop was stuck before the sample: never negative, never longer than
        # the session has run (10^9 ms would stretch the lag plot's axis for the rest of the session).
        "lag": (kind == KIND_LAG) & ((lag["lag_ns"] < 0) | (lag["lag_ns"] > lag["t_ns"] - earliest)),
        # anyio lends at most its tokens, and a scenario asks for at most TOKENS.hi.
        "pool": (kind == KIND_POOL)
        & (
            (pool["tokens"] > TOKENS.hi)
            | (pool["borrowed"] < 0)
            | (pool["borrowed"] > pool["tokens"])
            | (pool["waiting"] < 0)
            | (pool["waiting"] > MAX_WAITING)
        ),
        # A thread's CPU time never runs backwards from zero, nor ahead of the clock it ran on.
        "cpu": (kind == KIND_THREADS) & ((threads["cpu_ns"] < 0) | (threads["cpu_ns"] > threads["t_ns"])),
    }
    bad = np.logical_or.reduce(list(refused.values()))
    if not bad.any():
        return None
    seen = np.zeros(records.shape, dtype=bool)
    counts: dict[str, int] = {}
    for reason in IMPLAUSIBLE:
        new = refused[reason] & ~seen
        if n := int(new.sum()):
            counts[reason] = n
            seen |= new
    return ~bad, counts


def plausible_pid(pid: int) -> bool:
    return 0 < pid <= PID_MAX
