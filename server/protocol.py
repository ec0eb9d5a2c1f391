"""Telemetry wire format: workers → collector over UDP on 127.0.0.1.

One datagram = a fixed header + ``count`` fixed-size records. Records are batched (>= 64 per datagram
or every <= 20 ms) because one JSON datagram per request costs ~20x more than a packed record.

Header (little-endian, 36 bytes)::

    magic "ASG1" | version u8 | reserved u8 | count u16 | token 16 bytes | pid u32 | seq u64

``seq`` counts datagrams per pid from 0, so the collector sees loss as gaps. ``token`` is a random
per-session secret; datagrams without it are dropped.

Record (32 bytes)::

    kind u8 | route u8 | status u16 | tid u32 | a i64 | b i64 | c i64

=========  =====================================================================================
kind       meaning of the fields
=========  =====================================================================================
REQUEST    route id, HTTP status, native thread id of a threadpool handler (0 = loop thread),
           a = start ns, b = end ns (time.monotonic_ns, comparable across processes on one host),
           c = when a threadpool handler began in its thread, i.e. just after it got its token
           (0 = the handler ran on the loop). A WSGI worker has no loop: every handler runs in a
           thread (tid never 0) from its start (c = a: there is no token to wait for)
LAG        a = sample time ns, b = loop lag ns (timer overshoot)
POOL       tid = tokens total, status = requests in flight in this worker, a = time ns,
           b = tokens borrowed, c = tasks waiting for a token
HELLO      tid = the loop thread's native id (a WSGI worker's main thread), a = time ns, b = parent pid,
           route = the worker's class, its index in ``WORKER_CLASSES`` (0 = uvicorn: an event loop;
           1 = gunicorn sync, 2 = gthread: no loop) (a worker announces itself once at start)
THREADS    tid = a native thread id of the worker, a = sample time ns, b = CPU ns that thread has
           used since it started (one record per thread, a few samples a second)
=========  =====================================================================================

Readers never index ``a``/``b``/``c``: ``of_kind`` gives one kind's records under that kind's own field
names (``REQUEST_VIEW`` and friends, the same 32 bytes renamed, no copy of the layout).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from asgiscope.server.scenario import WorkerClass

MAGIC: Final = b"ASG1"
VERSION: Final = 1
TOKEN_BYTES: Final = 16

HEADER = struct.Struct("<4sBBH16sIQ")
RECORD = struct.Struct("<BBHIqqq")
HEADER_SIZE: Final = HEADER.size  # 36
RECORD_SIZE: Final = RECORD.size  # 32
MAX_RECORDS: Final = 1024  # 32 KiB + header: well under the 64 KiB UDP limit

KIND_REQUEST: Final = 1
KIND_LAG: Final = 2
KIND_POOL: Final = 3
KIND_HELLO: Final = 4
KIND_THREADS: Final = 5
# A HELLO's route byte: what the worker is (scenario.WorkerClass), so the flow panel draws it as that.
WORKER_CLASSES: Final[tuple[WorkerClass, ...]] = ("uvicorn", "sync", "gthread")

RECORD_DTYPE: Final = np.dtype(
    [
        ("kind", "<u1"),
        ("route", "<u1"),
        ("status", "<u2"),
        ("tid", "<u4"),
        ("a", "<i8"),
        ("b", "<i8"),
        ("c", "<i8"),
    ]
)
assert RECORD_DTYPE.itemsize == RECORD_SIZE


def _view(**fields: tuple[str, int]) -> np.dtype:
    """RECORD_DTYPE's bytes under other names: ``name=(format, offset)``; unnamed bytes are skipped."""
    names = list(fields)
    return np.dtype(
        {
            "names": names,
            "formats": [fields[n][0] for n in names],
            "offsets": [fields[n][1] for n in names],
            "itemsize": RECORD_SIZE,
        }
    )


# One named view per kind, offsets as in RECORD ("kind u1 @0, route u1 @1, status u2 @2, tid u4 @4,
# a i8 @8, b i8 @16, c i8 @24"). Times are time.monotonic_ns.
REQUEST_VIEW: Final = _view(
    kind=("<u1", 0),
    route=("<u1", 1),
    status=("<u2", 2),
    thread=("<u4", 4),  # native id of the threadpool thread that ran a def handler, 0 = the loop thread
    start_ns=("<i8", 8),
    end_ns=("<i8", 16),
    token_ns=("<i8", 24),  # when a def handler began in its thread (it had its token), 0 = on the loop
)
LAG_VIEW: Final = _view(kind=("<u1", 0), t_ns=("<i8", 8), lag_ns=("<i8", 16))
POOL_VIEW: Final = _view(
    kind=("<u1", 0),
    in_flight=("<u2", 2),  # requests in flight in this worker
    tokens=("<u4", 4),  # threadpool tokens in total
    t_ns=("<i8", 8),
    borrowed=("<i8", 16),  # tokens in use
    waiting=("<i8", 24),  # tasks waiting for a token
)
HELLO_VIEW: Final = _view(
    kind=("<u1", 0),
    worker_class=("<u1", 1),  # index in WORKER_CLASSES
    loop_thread=("<u4", 4),
    t_ns=("<i8", 8),
    parent_pid=("<i8", 16),
)
THREADS_VIEW: Final = _view(kind=("<u1", 0), thread=("<u4", 4), t_ns=("<i8", 8), cpu_ns=("<i8", 16))
VIEWS: Final[dict[int, np.dtype]] = {
    KIND_REQUEST: REQUEST_VIEW,
    KIND_LAG: LAG_VIEW,
    KIND_POOL: POOL_VIEW,
    KIND_HELLO: HELLO_VIEW,
    KIND_THREADS: THREADS_VIEW,
}


def of_kind(records: np.ndarray, kind: int) -> np.ndarray:
    """The records of ``kind``, in order, under that kind's field names (``VIEWS[kind]``)."""
    selected: np.ndarray = records[records["kind"] == kind].view(VIEWS[kind])
    return selected


def made_ns(records: np.ndarray) -> np.ndarray:
    """When each record was made: a request's end, any other record's own time (its ``a``)."""
    return np.where(records["kind"] == KIND_REQUEST, records["b"], records["a"])


# Route ids on the wire; the demo app's paths. Index 0 is "anything else" (404s, docs).
ROUTES: Final[tuple[str, ...]] = (
    "other",
    "/hello",
    "/io/async",
    "/io/sync",
    "/io/blocking",
    "/cpu/async",
    "/cpu/sync",
)
ROUTE_IDS: Final[dict[str, int]] = {r: i for i, r in enumerate(ROUTES)}

RejectReason = Literal["short", "magic", "version", "token", "length"]


class WireError(ValueError):
    def __init__(self, reason: RejectReason) -> None:
        self.reason: RejectReason = reason
        super().__init__(f"telemetry datagram rejected: {reason}")


@dataclass(frozen=True, slots=True)
class Batch:
    pid: int
    seq: int
    records: np.ndarray  # structured array of RECORD_DTYPE


def encode(token: bytes, pid: int, seq: int, records: bytes, count: int) -> bytes:
    """Frame ``count`` already-packed records (``RECORD.pack`` concatenated) as one datagram."""
    return HEADER.pack(MAGIC, VERSION, 0, count, token, pid, seq) + records


def decode(datagram: bytes, token: bytes) -> Batch:
    """Parse and authenticate one datagram; raises WireError with the reason on anything wrong."""
    if len(datagram) < HEADER_SIZE:
        raise WireError("short")
    magic, version, _reserved, count, got_token, pid, seq = HEADER.unpack_from(datagram)
    if magic != MAGIC:
        raise WireError("magic")
    if version != VERSION:
        raise WireError("version")
    if got_token != token:
        raise WireError("token")
    if len(datagram) != HEADER_SIZE + count * RECORD_SIZE:
        raise WireError("length")
    records = np.frombuffer(datagram, dtype=RECORD_DTYPE, count=count, offset=HEADER_SIZE)
    return Batch(pid=pid, seq=seq, records=records)
