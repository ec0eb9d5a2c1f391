"""Receives the workers' telemetry datagrams on 127.0.0.1 and hands decoded batches on.

A plain thread, not an asyncio datagram endpoint: a qasync datagram handler manages ~25k datagrams/s,
a thread reading in bursts ~400k/s, and it keeps decoding off the GUI's loop. The Lab takes what
arrived with ``drain()`` 10-30 times a second.

UDP drops silently when the receive buffer overflows, so the buffer is large and every worker numbers
its datagrams: a gap in a pid's sequence is counted as lost datagrams.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

import numpy as np

from asgiscope.server import protocol
from asgiscope.server.lab.plausible import MAX_SEQ_GAP, Refused, check, plausible_pid

RCVBUF: Final = 4 << 20  # Linux caps this at net.core.rmem_max (4 MiB on these machines)
RECV_MAX: Final = 65_536
POLL_S: Final = 0.05  # how often the thread checks for stop() while no datagram arrives
PAUSE_S: Final = 0.02  # after reading a burst, wait this long before the next read
# Records kept for the next drain(). The Lab drains every 10-100 ms; this is ~100 s of 10,000 req/s
# (32 MB), so it is reached only when nobody drains, and then memory stays bounded: later datagrams
# are dropped and counted as lost.
MAX_PENDING_RECORDS: Final = 1_000_000
# Pids whose sequence is tracked. A session's workers are at most 32 at a time plus those that came and
# went; a live worker sends every 20 ms, so only a flood of foreign pids evicts one (that then counts
# its next datagram as a new stream's).
MAX_STREAMS: Final = 4096


@dataclass(frozen=True, slots=True)
class CollectorStats:
    records: int = 0  # records in accepted datagrams
    datagrams: int = 0  # accepted datagrams
    lost: int = 0  # datagrams missing from sequence gaps
    rejected: int = 0  # datagrams dropped (bad token, bad shape, impossible pid or sequence jump)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    restarts: int = 0  # times a pid's sequence went backwards (a new process reusing the pid)
    implausible: int = 0  # records in accepted datagrams refused for impossible content (plausible.py)
    implausible_by_reason: dict[str, int] = field(default_factory=dict)


class SequenceTracker:
    """Counts lost datagrams per pid from sequence gaps.

    Loopback UDP neither reorders nor duplicates, so a sequence that goes backwards means a new
    process reusing the pid: its stream starts over, and any of its datagrams before the one seen
    (seq > 0) are counted lost, as for a pid seen for the first time. A datagram that would count more
    than ``MAX_SEQ_GAP`` lost cannot be of that stream: it is refused and the stream goes on as before.
    """

    def __init__(self, max_streams: int = MAX_STREAMS) -> None:
        self._next: dict[int, int] = {}  # pid → next seq, least recently seen first
        self._max_streams = max_streams
        self.lost = 0
        self.restarts = 0

    def see(self, pid: int, seq: int) -> bool:
        """Count the datagram ``seq`` of ``pid``; False (and nothing counted) for an impossible jump."""
        expected = self._next.get(pid)
        restart = expected is not None and seq < expected
        missing = seq if expected is None or restart else seq - expected
        if missing > MAX_SEQ_GAP:
            return False
        self.restarts += restart
        self.lost += missing
        self._next.pop(pid, None)  # re-inserted last: the dict's order is least recently seen first
        self._next[pid] = seq + 1
        if len(self._next) > self._max_streams:
            del self._next[next(iter(self._next))]
        return True


class Collector:
    """``Collector(token)`` → ``start()`` → ``drain()``/``stats()`` … → ``stop()``; or ``with``."""

    def __init__(self, token: bytes, host: str = "127.0.0.1", port: int = 0) -> None:
        if len(token) != protocol.TOKEN_BYTES:
            raise ValueError(f"token must be {protocol.TOKEN_BYTES} bytes, got {len(token)}")
        self._token = token
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            self._sock.bind((host, port))
            self._sock.setblocking(False)
        except BaseException:
            self._sock.close()
            raise
        host_bound, port_bound = self._sock.getsockname()[:2]
        self._address: tuple[str, int] = (host_bound, port_bound)
        self._lock = threading.Lock()
        self._pending: list[protocol.Batch] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="asgiscope-collector", daemon=True)
        # Counters: written by the collector thread only; read under the lock.
        self._seq = SequenceTracker()
        self._records = 0
        self._datagrams = 0
        self._rejected: dict[str, int] = {}
        self._implausible: dict[str, int] = {}
        self._overflow = 0  # datagrams dropped because nobody drained
        self._pending_records = 0
        self._born_ns = time.monotonic_ns()  # records made before this are not of this session
        self._stopped = False

    @property
    def address(self) -> tuple[str, int]:
        """Where workers send: pass it to them as (telemetry_host, telemetry_port)."""
        return self._address

    @property
    def rcvbuf(self) -> int:
        """The receive buffer the kernel actually granted (Linux reports twice the usable size)."""
        return self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def start(self) -> Self:
        if self._stopped:
            raise RuntimeError("a stopped Collector cannot be restarted; create a new one")
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and close the socket; idempotent. Batches not drained stay drainable."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self._sock.close()

    def drain(self) -> list[protocol.Batch]:
        """Everything accepted since the last drain, in arrival order."""
        with self._lock:
            batches, self._pending = self._pending, []
            self._pending_records = 0
        return batches

    def stats(self) -> CollectorStats:
        with self._lock:
            return CollectorStats(
                records=self._records,
                datagrams=self._datagrams,
                lost=self._seq.lost + self._overflow,
                rejected=sum(self._rejected.values()),
                rejected_by_reason=dict(self._rejected),
                restarts=self._seq.restarts,
                implausible=sum(self._implausible.values()),
                implausible_by_reason=dict(self._implausible),
            )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        sock, stopping = self._sock, self._stopping
        while not stopping.is_set():
            try:
                readable, _, _ = select.select([sock], [], [], POLL_S)
            except (OSError, ValueError):
                return  # socket closed under us
            if not readable:
                continue
            self._take(self._read_all())
            # Let the next datagrams gather: one wakeup then serves many (per datagram that is 2-3x
            # cheaper at 150-2,000 datagrams/s, measured). The Lab drains every 33-100 ms, so this
            # adds no visible latency, and even a 208 KiB buffer (Linux's default cap) holds 20 ms
            # of 10,000 datagrams/s.
            stopping.wait(PAUSE_S)

    def _read_all(self) -> list[bytes]:
        datagrams: list[bytes] = []
        recv = self._sock.recv
        while True:
            try:
                datagrams.append(recv(RECV_MAX))
            except OSError:  # BlockingIOError: nothing left (or the socket was closed)
                return datagrams

    def _take(self, datagrams: list[bytes]) -> None:
        token, decode = self._token, protocol.decode
        decoded: list[protocol.Batch] = []
        rejected: list[str] = []
        for datagram in datagrams:
            try:
                batch = decode(datagram, token)
            except protocol.WireError as err:
                rejected.append(err.reason)
                continue
            if plausible_pid(batch.pid):
                decoded.append(batch)
            else:
                rejected.append(_refused("pid"))
        with self._lock:
            accepted = []
            for batch in decoded:
                if self._seq.see(batch.pid, batch.seq):
                    accepted.append(batch)
                else:
                    rejected.append(_refused("seq"))
            for reason in rejected:
                self._rejected[reason] = self._rejected.get(reason, 0) + 1
            self._datagrams += len(accepted)
            self._records += sum(len(b.records) for b in accepted)
            for batch in self._plausible(accepted):
                if self._pending_records + len(batch.records) > MAX_PENDING_RECORDS:
                    self._overflow += 1
                    continue
                self._pending.append(batch)
                self._pending_records += len(batch.records)

    def _plausible(self, batches: list[protocol.Batch]) -> list[protocol.Batch]:
        """The batches without their implausible records (counted): one check for the whole burst."""
        if not batches:
            return batches
        records = np.concatenate([b.records for b in batches]) if len(batches) > 1 else batches[0].records
        verdict = check(records, self._born_ns, time.monotonic_ns())
        if verdict is None:
            return batches
        ok, refused = verdict
        for reason, n in refused.items():
            self._implausible[reason] = self._implausible.get(reason, 0) + n
        out, start = [], 0
        for b in batches:
            end = start + len(b.records)
            out.append(protocol.Batch(b.pid, b.seq, b.records[ok[start:end]]))
            start = end
        return out


def _refused(reason: Refused) -> str:
    return reason
