"""The demo FastAPI app that runs inside every worker.

Every handler mode is its own route, so switching mode is a change of URL, never a restart:

- ``/io/async``    ``async def`` + ``await asyncio.sleep``: the loop serves others meanwhile
- ``/io/sync``     ``def`` + ``time.sleep``: runs in the threadpool, one token per request
- ``/io/blocking`` ``async def`` + ``time.sleep``: blocks the event loop, the classic mistake
- ``/cpu/async``, ``/cpu/sync``: pure-Python busy work holding the GIL

Responses are tiny JSON objects with the worker pid and the native thread id that ran the handler.
Handlers return plain dicts without response models: a response model adds a second threadpool hop
for ``def`` endpoints, which would blur what the threadpool demo shows. FastAPI makes one from a
return annotation, so the ``def`` routes say ``response_model=None`` (measured: without it each
request queued for a token again after its handler, behind every request still waiting for a first).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, Query, Request

from asgiscope.server.demo.config import WorkerConfig

Ms = Annotated[int, Query(ge=0, le=10_000, description="how long the handler works, in milliseconds")]


def busy(ms: int) -> int:
    """Spin in pure Python (holding the GIL) for ``ms`` milliseconds of this thread's own CPU time;
    returns the loop count.

    The thread's CPU clock, not the wall clock: threads sharing the GIL take turns, and one that spun
    until a wall-clock deadline would "finish" having run only part of it (8 threads x 20 ms took 97 ms
    of wall time together instead of 160), showing threads beating the GIL: the opposite of the truth.
    """
    clock = time.thread_time_ns
    deadline = clock() + ms * 1_000_000
    n = 0
    while clock() < deadline:
        n += 1
    return n


def _tag(request: Request) -> None:
    # The telemetry middleware puts a [thread, began] list in the scope; filling it from the handler's
    # own thread tells it which threadpool thread served the request and when it began there: anyio
    # runs a def handler only once it holds a token, so that is when its wait for a token ended.
    slot = request.scope.get("asgiscope.tid")
    if slot is not None:
        slot[0] = threading.get_native_id()
        slot[1] = time.monotonic_ns()


def _reply(route: str) -> dict[str, Any]:
    return {"route": route, "pid": os.getpid(), "tid": threading.get_native_id()}


def create_app(
    config: WorkerConfig | None = None,
    *,
    wrap: Callable[[FastAPI, WorkerConfig], Any] | None = None,
) -> Any:
    """Build the demo app. ``wrap`` adds telemetry (middleware + probes) around it when given."""
    cfg = config if config is not None else WorkerConfig.from_env()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # anyio's default limiter is per event loop, i.e. per worker: this is the "tokens" knob.
        anyio.to_thread.current_default_thread_limiter().total_tokens = cfg.tokens
        yield

    app = FastAPI(title="asgiscope demo", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/hello")
    async def hello() -> dict[str, Any]:
        return _reply("/hello")

    @app.get("/io/async")
    async def io_async(request: Request, ms: Ms = 100) -> dict[str, Any]:
        await asyncio.sleep(ms / 1000)
        return _reply("/io/async")

    @app.get("/io/sync", response_model=None)
    def io_sync(request: Request, ms: Ms = 100) -> dict[str, Any]:
        _tag(request)
        time.sleep(ms / 1000)
        return _reply("/io/sync")

    @app.get("/io/blocking")
    async def io_blocking(request: Request, ms: Ms = 100) -> dict[str, Any]:
        time.sleep(ms / 1000)  # noqa: ASYNC251 -- deliberately blocks the loop: that is the lesson
        return _reply("/io/blocking")

    @app.get("/cpu/async")
    async def cpu_async(request: Request, ms: Ms = 10) -> dict[str, Any]:
        busy(ms)
        return _reply("/cpu/async")

    @app.get("/cpu/sync", response_model=None)
    def cpu_sync(request: Request, ms: Ms = 10) -> dict[str, Any]:
        _tag(request)
        busy(ms)
        return _reply("/cpu/sync")

    return wrap(app, cfg) if wrap is not None else app


def app_factory() -> Any:
    """Entry point for uvicorn/gunicorn (``server.demo.app:app_factory``, factory mode)."""
    from asgiscope.server.demo.telemetry import instrument
    from asgiscope.server.lifeline import start_parent_watch

    config = WorkerConfig.from_env()
    if config.watch_parent:
        start_parent_watch()
    return create_app(config, wrap=instrument)
