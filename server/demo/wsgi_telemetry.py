"""Telemetry for WSGI workers (gunicorn's sync and gthread): the same records, on the same wire.

A WSGI middleware records each request as the ASGI one does (REQUEST: route id, status, thread, start
and end in ``time.monotonic_ns``), as what it is: in a thread from its start (the thread's real id,
never the loop's 0; ``token_ns`` = start, as there is no token to wait for). A WSGI worker has no event
loop, so there is no LAG record; a daemon thread ("the ticker") sends POOL (tokens = the worker's
threads: 1 for sync, ``threads`` for gthread; borrowed = requests in a handler; waiting = requests
gthread accepted and queued for a thread, which no record sees) and flushes the
emitter, every ``INTERVAL_S`` while requests are about and every ``IDLE_INTERVAL_S`` once none has been
for ``IDLE_AFTER_S``. HELLO goes out when the worker loads the app (after gunicorn's fork, so every
worker has its own socket and sequence), naming the worker's class (sync or gthread), so the flow panel
draws one slot or a thread pool and no event loop.

gthread runs handlers on several threads at once, so the emitter sits behind a lock here (the ASGI
emitter lives on one loop thread and has none).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal

from asgiscope.server import protocol
from asgiscope.server.demo.config import WorkerConfig
from asgiscope.server.demo.emitter import Emitter
from asgiscope.server.demo.probes import (
    IDLE_AFTER_S,
    IDLE_INTERVAL_S,
    INTERVAL_S,
    THREADS_EVERY_S,
    THREADS_IDLE_EVERY_S,
    U16_MAX,
)
from asgiscope.server.demo.threadcpu import default_reader
from asgiscope.server.protocol import KIND_REQUEST as REQUEST
from asgiscope.server.protocol import ROUTE_IDS

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
FLUSH_EVERY: Final = 2  # ticks: records leave at least every 20 ms, as from the ASGI probes


WsgiClass = Literal["sync", "gthread"]


def instrument_wsgi(app: WsgiApp, config: WorkerConfig, *, worker_class: WsgiClass, threads: int) -> WsgiApp:
    """Wrap ``app`` with telemetry, or return it untouched when telemetry is off (the baseline)."""
    if not config.telemetry_on:
        return app
    return WsgiTelemetry(app, config, worker_class=worker_class, threads=threads)


class WsgiTelemetry:
    def __init__(
        self,
        app: WsgiApp,
        config: WorkerConfig,
        *,
        worker_class: WsgiClass,
        threads: int,
        interval: float = INTERVAL_S,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.app = app
        self._threads = threads
        self._clock = clock
        self._interval = interval
        self._lock = threading.Lock()
        self._emitter = Emitter(
            (config.telemetry_host, config.telemetry_port), bytes.fromhex(config.token_hex)
        )
        self._in_flight = 0
        self._queued: Callable[[], int] = lambda: 0  # gthread: requests accepted, waiting for a thread
        self._heard = False
        self._main_tid = threading.get_native_id()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        # True while the ticker sleeps a long idle tick: a request then wakes it (one Event.set).
        self._idle = False
        # HELLO: b = parent pid (the arbiter), tid = the worker's main thread (the one a sync worker
        # runs every request on), route = the worker's class.
        kind = protocol.WORKER_CLASSES.index(worker_class)
        self._emitter.record(protocol.KIND_HELLO, kind, 0, self._main_tid, clock(), os.getppid(), 0)
        self._emitter.flush()
        self._ticker = threading.Thread(target=self._tick, name="asgiscope-wsgi-probes", daemon=True)
        self._ticker.start()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status = 500

        def start(status_line: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal status
            status = int(status_line[:3])
            return start_response(status_line, headers, exc_info)

        thread = threading.get_native_id()
        lock = self._lock
        start_ns = self._clock()
        with lock:
            self._in_flight += 1
            self._heard = True
        if self._idle:
            self._wake.set()
        try:
            # Flask and Django build the whole body before returning it: the request ends here.
            return self.app(environ, start)
        finally:
            end_ns = self._clock()
            route = ROUTE_IDS.get(environ.get("PATH_INFO", ""), 0)
            with lock:
                self._in_flight -= 1
                # token_ns = start: the handler was in its thread from the start, with no token to wait for
                self._emitter.record(REQUEST, route, status, thread, start_ns, end_ns, start_ns)

    def watch_queue(self, queued: Callable[[], int]) -> None:
        """Count ``queued()`` in each POOL record: gthread's requests accepted and waiting for a
        thread (set by gunicorn's post_worker_init hook, which can see the worker)."""
        self._queued = queued

    def close(self) -> None:
        """Stop the ticker and send what is pending (gunicorn's worker_exit hook; idempotent)."""
        self._stopped.set()
        self._wake.set()
        if self._ticker.is_alive() and self._ticker is not threading.current_thread():
            self._ticker.join(timeout=1.0)
        with self._lock:
            self._emitter.close()

    def _tick(self) -> None:
        idle_after = max(1, round(IDLE_AFTER_S / self._interval))
        tick = quiet = 0
        # The ticker is a thread of its own, so it reads the threads' CPU itself (the ASGI side needs a
        # reader thread to keep /proc reads off its loop); its own thread is left out of the samples.
        read_threads, me, sampled = default_reader(), threading.get_native_id(), 0
        samples: list[tuple[int, int, int]] | None = None
        while not self._stopped.is_set():
            idle = quiet >= idle_after
            self._idle = idle
            self._wake.wait(IDLE_INTERVAL_S if idle else self._interval)
            self._wake.clear()
            self._idle = False
            now = self._clock()
            with self._lock:
                if self._stopped.is_set():  # close() flushes and closes the emitter
                    return
                # read after the previous tick's POOL (the first POOL never waits for /proc)
                for tid, t_ns, cpu_ns in samples or ():
                    self._emitter.record(protocol.KIND_THREADS, 0, 0, tid, t_ns, cpu_ns, 0)
                samples = None
                in_flight, heard = self._in_flight, self._heard
                self._heard = False
                busy = min(in_flight, self._threads)
                # in flight: in a handler or queued inside the worker; waiting: queued for a thread
                waiting = in_flight - busy + self._queued()
                self._emitter.record(
                    protocol.KIND_POOL, 0, min(busy + waiting, U16_MAX), self._threads, now, busy, waiting
                )
                tick += 1
                if idle or tick % FLUSH_EVERY == 0:
                    self._emitter.flush()
            quiet = 0 if in_flight or heard else quiet + 1
            if now - sampled >= (THREADS_IDLE_EVERY_S if idle else THREADS_EVERY_S) * 1e9:
                sampled = now
                try:
                    samples = read_threads(me)
                except OSError:
                    samples = None
