"""The demo app in Django: settings in code, one ``urlpatterns`` list, no project scaffolding.

Under WSGI only the ``def`` views are routed (a WSGI worker has no loop to await on); under ASGI the
``async def`` views are added. Django runs a ``def`` view under ASGI through asgiref's
``sync_to_async(thread_sensitive=True)`` inside a ``ThreadSensitiveContext`` per request: each request
gets a one-thread executor of its own, so no token limit applies (anyio's threadpool is not used).

``configure()`` runs in the worker (gunicorn forks, uvicorn spawns), once per process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from asgiscope.server.demo.app import busy
from asgiscope.server.demo.replies import BAD_MS, CPU_MS, IO_MS, read_ms, reply
from asgiscope.server.demo.telemetry import TID_KEY


def _tag(request: Any) -> None:
    # Under ASGI the telemetry middleware's one-slot list is in the scope (as for FastAPI's def routes).
    slot = getattr(request, "scope", {}).get(TID_KEY)
    if slot is not None:
        slot[0] = threading.get_native_id()


def _json(body: dict[str, Any], status: int = 200) -> Any:
    from django.http import JsonResponse

    return JsonResponse(body, status=status)


def hello(request: Any) -> Any:
    return _json(reply("/hello"))


def io_sync(request: Any) -> Any:
    _tag(request)
    ms = read_ms(request.GET.get("ms"), IO_MS)
    if ms is None:
        return _json(BAD_MS, 422)
    time.sleep(ms / 1000)
    return _json(reply("/io/sync"))


def cpu_sync(request: Any) -> Any:
    _tag(request)
    ms = read_ms(request.GET.get("ms"), CPU_MS)
    if ms is None:
        return _json(BAD_MS, 422)
    busy(ms)
    return _json(reply("/cpu/sync"))


async def io_async(request: Any) -> Any:
    ms = read_ms(request.GET.get("ms"), IO_MS)
    if ms is None:
        return _json(BAD_MS, 422)
    await asyncio.sleep(ms / 1000)
    return _json(reply("/io/async"))


async def io_blocking(request: Any) -> Any:
    ms = read_ms(request.GET.get("ms"), IO_MS)
    if ms is None:
        return _json(BAD_MS, 422)
    time.sleep(ms / 1000)  # noqa: ASYNC251 -- deliberately blocks the loop: that is the lesson
    return _json(reply("/io/blocking"))


async def cpu_async(request: Any) -> Any:
    ms = read_ms(request.GET.get("ms"), CPU_MS)
    if ms is None:
        return _json(BAD_MS, 422)
    busy(ms)
    return _json(reply("/cpu/async"))


# This module is ROOT_URLCONF: Django reads ``urlpatterns`` from it, filled by ``configure``.
urlpatterns: list[Any] = []


def configure(*, asgi: bool) -> None:
    """Settings and routes for this process; idempotent."""
    from django.conf import settings

    if settings.configured:
        return
    from django.urls import path

    settings.configure(
        DEBUG=False,
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="asgiscope-demo",  # nothing is signed: no sessions, no forms
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    routes = [("hello", hello), ("io/sync", io_sync), ("cpu/sync", cpu_sync)]
    if asgi:
        routes += [("io/async", io_async), ("io/blocking", io_blocking), ("cpu/async", cpu_async)]
    urlpatterns[:] = [path(route, view) for route, view in routes]

    import django

    django.setup(set_prefix=False)
    # Django logs every 404 and 422 as a warning; the FastAPI app logs none. Errors still show.
    logging.getLogger("django").setLevel(logging.ERROR)


def wsgi_app() -> Any:
    configure(asgi=False)
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def asgi_app() -> ASGIApp:
    """Django's ASGI handler behind a lifespan answerer: Django refuses the lifespan scope, and the
    telemetry middleware starts its emitter and probes on lifespan startup."""
    configure(asgi=True)
    from django.core.asgi import get_asgi_application

    django_app = get_asgi_application()

    async def with_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await django_app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return with_lifespan
