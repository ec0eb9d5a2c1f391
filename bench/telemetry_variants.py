"""Server-side pieces of telemetry, one at a time, for ``bench/telemetry_overhead.py --breakdown``.

Each factory builds the demo app with a little more of the telemetry middleware than the one before,
so the side-by-side method can price each step: ``uvicorn bench.telemetry_variants:<name> --factory``.
They copy the middleware's shape rather than import pieces of it: the point is to cost the work,
not to test the code (tests/test_telemetry.py does that).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asgiscope.server.demo import probes
from asgiscope.server.demo.app import create_app
from asgiscope.server.demo.config import WorkerConfig
from asgiscope.server.demo.telemetry import TID_KEY, instrument
from asgiscope.server.protocol import ROUTE_IDS


class _Passthrough:
    """One more ASGI layer, doing nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class _Status(_Passthrough):
    """+ the send wrapper that catches the status, and the two clock reads."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        def send_status(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        start = time.monotonic_ns()
        await self.app(scope, receive, send_status)
        self.last = (status, start, time.monotonic_ns())


class _Bookkeeping(_Passthrough):
    """+ the thread-id slot in the scope, the in-flight count and the route id: all but the emitter."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        slot = [0, 0]
        scope[TID_KEY] = slot
        status = 500

        def send_status(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        start = time.monotonic_ns()
        self.in_flight += 1
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.in_flight -= 1
            self.last = (ROUTE_IDS.get(scope["path"], 0), status, slot[0], start, time.monotonic_ns())


def bare() -> Any:
    return create_app(WorkerConfig.from_env())


def passthrough() -> Any:
    return _Passthrough(bare())


def status() -> Any:
    return _Status(bare())


def bookkeeping() -> Any:
    return _Bookkeeping(bare())


def no_probes() -> Any:
    """The real middleware and emitter, without the 100 Hz lag and threadpool probe."""
    probes.Probes.start = lambda self: None  # type: ignore[method-assign]  # this process only
    return create_app(WorkerConfig.from_env(), wrap=instrument)


def full() -> Any:
    return create_app(WorkerConfig.from_env(), wrap=instrument)
