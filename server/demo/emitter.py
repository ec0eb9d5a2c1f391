"""Batches telemetry records and sends them to the collector as UDP datagrams.

One emitter per worker process, created in the worker (lifespan startup), never at import: uvicorn
spawns its workers and gunicorn forks them, and a socket or sequence number inherited through a fork
would be shared by siblings.

Every call happens on the worker's event-loop thread (the middleware and the probes both run there),
so there is no lock: a record costs one ``struct.pack_into`` into a preallocated buffer.
"""

from __future__ import annotations

import os
import socket
from typing import Final

from server import protocol

BATCH: Final = 64  # records per datagram; also the flush threshold
# Room for a few datagrams in flight; the kernel default (~200 KB) is plenty for 2 KiB datagrams,
# but a worker that briefly outruns the collector should not drop at the first burst.
SNDBUF: Final = 1 << 20


class Emitter:
    """Packs records into a buffer and sends one datagram per ``BATCH`` records or per ``flush()``.

    Never blocks: the socket is non-blocking and a send that would block (or fails for any other
    reason, e.g. nobody listening yet) counts a local drop. The sequence number advances anyway, so the
    collector sees the missing datagram as a gap rather than nothing at all.
    """

    def __init__(
        self,
        address: tuple[str, int],
        token: bytes,
        *,
        pid: int | None = None,
        batch: int = BATCH,
    ) -> None:
        if len(token) != protocol.TOKEN_BYTES:
            raise ValueError(f"token must be {protocol.TOKEN_BYTES} bytes, got {len(token)}")
        if not 1 <= batch <= protocol.MAX_RECORDS:
            raise ValueError(f"batch must be in 1..{protocol.MAX_RECORDS}, got {batch}")
        self._token = token
        self._pid = os.getpid() if pid is None else pid
        self._batch = batch
        self._buf = bytearray(batch * protocol.RECORD_SIZE)
        self._view = memoryview(self._buf)
        self._count = 0
        self._pack_into = protocol.RECORD.pack_into  # bound once: it is the hot path
        self.seq = 0  # next datagram's sequence number
        self.sent = 0  # datagrams handed to the kernel
        self.dropped = 0  # datagrams the kernel refused (seq advanced anyway)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.setblocking(False)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
            # A connected UDP socket skips the per-send address lookup.
            self._sock.connect(address)
        except BaseException:
            self._sock.close()
            raise

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def pending(self) -> int:
        return self._count

    def record(self, kind: int, route: int, status: int, tid: int, a: int, b: int, c: int) -> None:
        """Append one record (fields as in ``protocol``); sends a datagram when the batch is full."""
        self._pack_into(self._buf, self._count * protocol.RECORD_SIZE, kind, route, status, tid, a, b, c)
        self._count += 1
        if self._count >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Send whatever is pending as one datagram (no-op when nothing is)."""
        count = self._count
        if count == 0:
            return
        self._count = 0
        seq = self.seq
        self.seq = seq + 1
        datagram = protocol.encode(
            self._token,
            self._pid,
            seq,
            self._view[: count * protocol.RECORD_SIZE].tobytes(),
            count,
        )
        try:
            self._sock.send(datagram)
        except OSError:
            # BlockingIOError / ENOBUFS when the buffer is full, ConnectionRefusedError when the
            # collector is gone: a handler must never wait for telemetry.
            self.dropped += 1
        else:
            self.sent += 1

    def close(self) -> None:
        """Flush and close; idempotent."""
        if self._sock.fileno() == -1:
            return
        self.flush()
        self._sock.close()
