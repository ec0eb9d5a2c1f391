"""Aggregation: telemetry batches, load reports and process samples in; one Snapshot out.

Everything is binned by when it happened (request end times from the workers, report intervals from
the load process), so rates do not jitter with batching. Windows are short (1 s rates, 1.5 s latency
percentiles) so a slider move shows within a second; cumulative figures are kept beside them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from asgiscope.server.lab.bins import Bins
from asgiscope.server.lab.latency import LatencyWindow
from asgiscope.server.lab.series import SeriesRecorder
from asgiscope.server.lab.snapshot import Latency, WorkerStats
from asgiscope.server.lab.threadshare import ThreadShares
from asgiscope.server.limits import SERIES_HISTORY_S
from asgiscope.server.load.spec import LoadReport
from asgiscope.server.protocol import KIND_LAG, KIND_POOL, KIND_REQUEST, KIND_THREADS, Batch, made_ns, of_kind

NS = 1e-9
MAX_SERVER_LAG_S = 5.0
GONE_KEPT = 256  # workers that left the tree whose request counts are kept (the oldest go first)
# Bounds on what waits here for the next snapshot to age it out (the Lab ages them 20 times a second):
# each holds many seconds of its input at the fastest it comes, so the bound only matters when nobody
# reads, and then memory stays flat.
MAX_LAGS = 2_000  # per worker: its probe samples lag every 10 ms, so 20 s
MAX_DELAYS = 20_000  # one per datagram; ~3,000 a second at the load ceiling, aged out after 3 s
MAX_CPU_REPORTS = 1_000  # one per load report: 10 a second per load process


@dataclass(slots=True)
class _Worker:
    pid: int
    ends: Bins
    requests: int = 0
    pool_total: int = 0
    pool_busy: int = 0
    pool_waiting: int = 0
    in_flight: int = 0
    lags: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=MAX_LAGS))  # (t, lag ms)
    threads: ThreadShares = field(default_factory=ThreadShares)


@dataclass(frozen=True, slots=True)
class ClientFigures:
    rps: float
    latency: Latency
    latency_total: Latency
    requests: int
    errors: dict[str, int]
    in_flight: int
    overflow: int
    sent_rps: float
    cpu_percent: float  # the load process(es), % of one core, over the window (summed over the group)
    wait_percent: float  # ... and waiting in the run queue for a core, % of the window (summed)
    # each load process that reported over the window: (pid, cpu %, wait %), in pid order
    per_process: tuple[tuple[int, float, float], ...] = ()


class Metrics:
    def __init__(
        self, *, window_s: float = 1.0, lag_s: float = 0.1, history_s: float = SERIES_HISTORY_S
    ) -> None:
        self.window_s = window_s
        self.lag_s = lag_s  # ignore the newest bin(s): telemetry for them may still be in flight
        self.series = SeriesRecorder(history_s=history_s)
        self._workers: dict[int, _Worker] = {}
        # pid → requests served by a worker that left the tree: a dead worker's work still counts.
        self._gone: dict[int, int] = {}
        self._server = Bins()
        # How late telemetry arrives: a worker whose loop is blocked flushes late, and a window that
        # closed before its records came would read low. Server windows end that much in the past.
        self._delays: deque[tuple[float, float]] = deque(maxlen=MAX_DELAYS)
        self.reset_client()

    # ---- client side -------------------------------------------------------------------------
    def reset_client(self) -> None:
        """Start cumulative client figures afresh (a new load run)."""
        self._completed = Bins()
        self._sent = Bins()
        self._latency = LatencyWindow()
        self._errors: dict[str, int] = {}
        self._overflow = 0
        self._in_flight: dict[int, tuple[float, int]] = {}  # load process → (t, in flight) last told
        self._cpu: deque[tuple[float, float, float, int]] = deque(maxlen=MAX_CPU_REPORTS)

    def add_reports(self, reports: list[LoadReport], source: int = 0) -> None:
        """``source``: the load process that sent them (its pid); a group's CPU is kept per process."""
        for r in reports:
            t0 = r.t - r.interval_s
            self._completed.add_span(t0, r.t, r.completed)
            self._sent.add_span(t0, r.t, r.sent)
            self._latency.add_encoded(r.t, r.histogram)
            for kind, n in r.errors.items():
                self._errors[kind] = self._errors.get(kind, 0) + n
            self._overflow += r.overflow
            self._in_flight[source] = (r.t, r.in_flight)
            self._cpu.append((r.t, r.cpu_percent, r.wait_percent, source))

    def client(self, now: float) -> ClientFigures:
        while self._cpu and self._cpu[0][0] < now - self.window_s:
            self._cpu.popleft()
        # Each process's mean over the window; the group's CPU is their sum (cores, not an average).
        by: dict[int, list[tuple[float, float]]] = {}
        for _, c, w, src in self._cpu:
            by.setdefault(src, []).append((c, w))
        per = tuple(
            (src, sum(c for c, _ in xs) / len(xs), sum(w for _, w in xs) / len(xs))
            for src, xs in sorted(by.items())
        )
        cpu = sum(c for _, c, _ in per)
        wait = sum(w for _, _, w in per)
        # A process that stopped telling (died, replaced) no longer holds requests in flight.
        in_flight = sum(n for t, n in self._in_flight.values() if t >= now - max(self.window_s, 1.0))
        return ClientFigures(
            rps=self._completed.rate(now, self.window_s, self.lag_s),
            latency=self._latency.window(now),
            latency_total=self._latency.total(),
            requests=round(self._completed.total),
            errors=dict(self._errors),
            in_flight=in_flight,
            overflow=self._overflow,
            sent_rps=self._sent.rate(now, self.window_s, self.lag_s),
            cpu_percent=cpu,
            wait_percent=wait,
            per_process=per,
        )

    # ---- server side -------------------------------------------------------------------------
    def _worker(self, pid: int) -> _Worker:
        w = self._workers.get(pid)
        if w is None:
            # Telemetry that came before the tree listed the worker was counted as gone: take it back.
            w = self._workers[pid] = _Worker(pid=pid, ends=Bins(), requests=self._gone.pop(pid, 0))
        return w

    def add_batches(self, batches: list[Batch], now: float) -> None:
        for batch in batches:
            rec = batch.records
            w = self._worker(batch.pid)
            # The oldest record waited longest in the worker's buffer before it was sent. Thread CPU
            # samples are read off the loop and wait for it by design (a blocked loop sends them late):
            # they say nothing of how late the request records are.
            timely = rec[rec["kind"] != KIND_THREADS]
            if timely.size:
                oldest = int(made_ns(timely).min())
                self._delays.append((now, now - oldest * NS))
            req = of_kind(rec, KIND_REQUEST)
            if req.size:
                ends = req["end_ns"] * NS
                w.ends.add_many(ends)
                self._server.add_many(ends)
                w.requests += int(req.size)
            lag = of_kind(rec, KIND_LAG)
            for t_ns, lag_ns in zip(lag["t_ns"].tolist(), lag["lag_ns"].tolist(), strict=True):
                w.lags.append((t_ns * NS, lag_ns / 1e6))
            pool = of_kind(rec, KIND_POOL)
            if pool.size:
                last = pool[-1]  # the latest state of the pool
                w.pool_total = int(last["tokens"])
                w.in_flight = int(last["in_flight"])
                w.pool_busy = int(last["borrowed"])
                w.pool_waiting = int(last["waiting"])
            threads = of_kind(rec, KIND_THREADS)
            if threads.size:
                w.threads.add(threads)

    @property
    def client_requests(self) -> int:
        """Responses the load reported since it (re)started."""
        return round(self._completed.total)

    @property
    def server_requests(self) -> int:
        return int(self._server.total)

    def server_lag_s(self, now: float) -> float:
        while self._delays and self._delays[0][0] < now - 3.0:
            self._delays.popleft()
        worst = max((d for _, d in self._delays), default=0.0)
        return min(MAX_SERVER_LAG_S, max(self.lag_s, worst + 0.05))

    def server_rps(self, now: float) -> float:
        return self._server.rate(now, self.window_s, self.server_lag_s(now))

    def forget_workers(self, keep: set[int]) -> None:
        """Drop per-worker state of pids that are no longer part of the tree."""
        for pid in set(self._workers) - keep:
            self._gone[pid] = self._gone.get(pid, 0) + self._workers.pop(pid).requests
        while len(self._gone) > GONE_KEPT:
            del self._gone[next(iter(self._gone))]

    def gone(self) -> list[WorkerStats]:
        """Workers that left the tree, oldest first, with the requests they served."""
        return [WorkerStats(pid=pid, alive=False, requests=n) for pid, n in self._gone.items()]

    def workers(self, now: float, pids: list[int]) -> list[WorkerStats]:
        lag = self.server_lag_s(now)
        counts = {pid: self._worker(pid).ends.sum(now, self.window_s, lag) for pid in pids}
        total = sum(counts.values())
        out = []
        for pid in pids:
            w = self._workers[pid]
            while w.lags and w.lags[0][0] < now - self.window_s:
                w.lags.popleft()
            out.append(
                WorkerStats(
                    pid=pid,
                    requests=w.requests,
                    share=counts[pid] / total if total else 0.0,
                    throughput_rps=w.ends.rate(now, self.window_s, lag),
                    in_flight=w.in_flight,
                    pool_total=w.pool_total,
                    pool_busy=w.pool_busy,
                    pool_waiting=w.pool_waiting,
                    loop_lag_ms=max((lag for _, lag in w.lags), default=0.0),
                    threads=w.threads.shares(now, self.window_s),
                )
            )
        return out
