"""The demo app in Flask: the routes a WSGI framework can have (``def`` handlers only), same replies.

Flask is WSGI: each request runs start to end on the thread the server gives it (gunicorn's sync worker:
the worker's one thread; gthread: one of its pool threads), so there is no ``async def`` route here.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, request

from asgiscope.server.demo.app import busy
from asgiscope.server.demo.replies import BAD_MS, CPU_MS, IO_MS, read_ms, reply


def create_flask_app() -> Flask:
    app = Flask("asgiscope_demo")

    @app.get("/hello")
    def hello() -> dict[str, Any]:
        return reply("/hello")

    @app.get("/io/sync")
    def io_sync() -> Any:
        ms = read_ms(request.args.get("ms"), IO_MS)
        if ms is None:
            return BAD_MS, 422
        time.sleep(ms / 1000)
        return reply("/io/sync")

    @app.get("/cpu/sync")
    def cpu_sync() -> Any:
        ms = read_ms(request.args.get("ms"), CPU_MS)
        if ms is None:
            return BAD_MS, 422
        busy(ms)
        return reply("/cpu/sync")

    return app
