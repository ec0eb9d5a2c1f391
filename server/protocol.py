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
           a = start ns, b = end ns (time.monotonic_ns, comparable across processes on one host)
LAG        a = sample time ns, b = loop lag ns (timer overshoot)
POOL       tid = tokens total, status = requests in flight in this worker, a = time ns,
           b = tokens borrowed, c = tasks waiting for a token
HELLO      tid = the loop thread's native id, a = time ns, b = parent pid (a worker announces
           itself once at start)
=========  =====================================================================================
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

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
