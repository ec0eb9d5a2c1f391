"""Telemetry inside each worker: a pure-ASGI middleware plus the worker's probes.

Per HTTP request it records start and end (``time.monotonic_ns``), route id, status and, for
threadpool handlers, the native id of the thread that ran them. It intercepts the ``lifespan`` scope
to create the emitter and start the probes in the worker, on the worker's running loop, after the
app's own startup (which sets the threadpool tokens the probe reports).

A worker that runs without lifespan events (``--lifespan off``) serves normally and reports nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asgiscope.server import protocol
from asgiscope.server.demo.config import WorkerConfig
from asgiscope.server.demo.emitter import Emitter
from asgiscope.server.demo.probes import INTERVAL_S, Probes
from asgiscope.server.demo.threadcpu import ThreadCpu
from asgiscope.server.protocol import KIND_REQUEST as REQUEST
from asgiscope.server.protocol import ROUTE_IDS

# Scope key holding a two-slot list; the demo's ``def`` handlers write their native thread id and the
# time they began in that thread (they hold a threadpool token from then) into it (see ``_tag`` in
# app.py). Starlette copies neither the scope nor its values on the way to the
# handler, so the list the handler fills is the one this middleware reads.
TID_KEY = "asgiscope.tid"


def instrument(app: ASGIApp, config: WorkerConfig) -> ASGIApp:
    """Wrap ``app`` with telemetry, or return it untouched when telemetry is off (the baseline)."""
    if not config.telemetry_on:
        return app
    return TelemetryMiddleware(app, config)


class TelemetryMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        config: WorkerConfig,
        *,
        interval: float = INTERVAL_S,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.app = app
        self._address = (config.telemetry_host, config.telemetry_port)
        self._token = bytes.fromhex(config.token_hex)
        self._interval = interval
        self._clock = clock
        self._emitter: Emitter | None = None
        self._probes: Probes | None = None
        self._in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Requests are handled inline, not in a helper coroutine: at /hello every coroutine frame and
        # call on this path is measurable (bench/telemetry_overhead.py).
        emitter = self._emitter
        if scope["type"] != "http" or emitter is None:
            if scope["type"] == "lifespan":
                await self._lifespan(scope, receive, send)
            else:  # websockets, or no lifespan startup ran: nothing to report to
                await self.app(scope, receive, send)
            return
        slot = [0, 0]
        scope[TID_KEY] = slot
        # What the server answers when the app raises before starting a response.
        status = 500

        # A plain function handing back ``send``'s awaitable: one coroutine frame less per message
        # than an ``async def`` wrapper, on the path every response takes.
        def send_status(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        clock = self._clock
        start = clock()
        self._in_flight += 1
        probes = self._probes
        if probes is not None and probes.listening:
            probes.wake()  # before the handler runs: a handler that blocks the loop is measured whole
        try:
            await self.app(scope, receive, send_status)
        finally:
            self._in_flight -= 1
            emitter.record(REQUEST, ROUTE_IDS.get(scope["path"], 0), status, slot[0], start, clock(), slot[1])

    def in_flight(self) -> int:
        return self._in_flight

    # -- lifespan ------------------------------------------------------------------------------

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_hooked(message: Message) -> None:
            kind = message["type"]
            if kind == "lifespan.startup.complete":
                self._start()
            elif kind == "lifespan.shutdown.complete":
                await self._stop()
            await send(message)

        try:
            await self.app(scope, receive, send_hooked)
        finally:
            # The app may end its lifespan without a shutdown.complete, or this coroutine may be
            # closed without running again: clean up without awaiting.
            self._abandon()

    def _start(self) -> None:
        if self._emitter is not None:
            return
        emitter = Emitter(self._address, self._token)
        # HELLO: b = parent pid (master), tid = the loop thread's native id, so a reader can tell
        # loop-thread work from threadpool work without asking the worker.
        emitter.record(protocol.KIND_HELLO, 0, 0, threading.get_native_id(), self._clock(), os.getppid(), 0)
        emitter.flush()
        probes = Probes(
            emitter, self.in_flight, interval=self._interval, clock=self._clock, threads=ThreadCpu()
        )
        probes.start()
        self._emitter, self._probes = emitter, probes

    async def _stop(self) -> None:
        probes, emitter = self._probes, self._emitter
        self._probes = self._emitter = None
        if probes is not None:
            await probes.stop()
        if emitter is not None:
            emitter.close()

    def _abandon(self) -> None:
        probes, emitter = self._probes, self._emitter
        self._probes = self._emitter = None
        if probes is not None:
            probes.cancel()
        if emitter is not None:
            emitter.close()
