"""Which app a worker runs, by framework and interface: the one place the masters ask.

ASGI apps are named by import string (uvicorn spawns its workers and imports the factory there);
WSGI apps are built by gunicorn's ``load()`` in each forked worker, telemetry and parent watch included.
"""

from __future__ import annotations

from typing import Final

from asgiscope.server.demo.config import WorkerConfig
from asgiscope.server.demo.wsgi_telemetry import WsgiApp, WsgiClass, instrument_wsgi
from asgiscope.server.lifeline import start_parent_watch
from asgiscope.server.scenario import FrameworkKind

ASGI_FACTORIES: Final[dict[FrameworkKind, str]] = {
    "fastapi": "asgiscope.server.demo.app:app_factory",
    "django": "asgiscope.server.demo.apps:django_asgi_factory",
}


def asgi_target(framework: FrameworkKind) -> str:
    """The factory's import string for uvicorn (factory mode); Flask has none (pair_refusal says why)."""
    return ASGI_FACTORIES[framework]


def django_asgi_factory() -> object:
    """Django under ASGI, with the same telemetry middleware as FastAPI."""
    from asgiscope.server.demo.django_app import asgi_app
    from asgiscope.server.demo.telemetry import instrument

    config = WorkerConfig.from_env()
    if config.watch_parent:
        start_parent_watch()
    return instrument(asgi_app(), config)


def wsgi_factory(framework: FrameworkKind, worker_class: WsgiClass, threads: int) -> WsgiApp:
    """Flask or Django as a WSGI app with the WSGI telemetry; ``threads`` is the worker's (1 for sync)."""
    config = WorkerConfig.from_env()
    if config.watch_parent:
        start_parent_watch()
    if framework == "flask":
        from asgiscope.server.demo.flask_app import create_flask_app

        app: WsgiApp = create_flask_app()
    elif framework == "django":
        from asgiscope.server.demo.django_app import wsgi_app

        app = wsgi_app()
    else:
        raise ValueError(f"{framework} is not a WSGI framework")
    return instrument_wsgi(app, config, worker_class=worker_class, threads=threads)
