"""Master entry point for the gunicorn kind: gunicorn's arbiter with uvicorn-worker workers (ASGI:
FastAPI or Django) or gunicorn's own ``sync`` / ``gthread`` workers (WSGI: Flask or Django).

The arbiter subclass only adds reporting (who started and why, who exited and with what code); worker
management stays gunicorn's own. Run as ``python -m server.launch.gunicorn_master SPEC_JSON``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from uvicorn_worker import UvicornWorker

from asgiscope.server.launch.events import EventWriter, StartReason
from asgiscope.server.launch.master import boot_master, close_fds_in_worker
from asgiscope.server.launch.spec import NO_FD, MasterSpec
from asgiscope.server.scenario import HttpKind, LoopKind, Scenario


def worker_class(loop: LoopKind, http: HttpKind) -> type[UvicornWorker]:
    """uvicorn-worker takes loop and http from a class attribute, so each choice is its own subclass."""
    name = f"UvicornWorker_{loop}_{http}"
    return type(name, (UvicornWorker,), {"CONFIG_KWARGS": {"loop": loop, "http": http}})


def peek_exit_code(pid: int) -> int | None:
    """A dead child's exit code (-signal if killed) without reaping it, so gunicorn still reaps it."""
    waitid = getattr(os, "waitid", None)  # macOS has it from Python 3.13 on
    if waitid is None:
        return None
    try:
        result = waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return None
    if result is None:
        return None
    return int(result.si_status) if result.si_code == os.CLD_EXITED else -int(result.si_status)


class ReportingArbiter(Arbiter):  # type: ignore[misc]
    def __init__(self, app: DemoApplication, events: EventWriter) -> None:
        self.events = events
        self._boot_left = app.cfg.workers
        self._scale_owed = 0
        self._retired: set[int] = set()  # asked to stop (SIGTERM): scaled down, or the whole tree stops
        super().__init__(app)

    def handle_ttin(self) -> None:
        self._scale_owed += 1
        super().handle_ttin()

    def spawn_worker(self) -> int:
        pid: int = super().spawn_worker()  # the child never returns from here
        reason: StartReason
        if self._boot_left > 0:
            self._boot_left -= 1
            reason = "boot"
        elif self._scale_owed > 0:
            self._scale_owed -= 1
            reason = "scale"
        else:
            reason = "replace"
        self.events.started(pid, reason)
        return pid

    def kill_worker(self, pid: int, sig: int) -> None:
        # gunicorn sends SIGABRT for one reason only: murder_workers found no heartbeat within its
        # timeout (it has just logged WORKER TIMEOUT). Told before the signal, so it precedes the exit.
        if sig == signal.SIGABRT and pid in self.WORKERS:
            self.events.timed_out(pid, float(self.timeout))
        elif sig == signal.SIGTERM and pid in self.WORKERS:
            self._retired.add(pid)
        super().kill_worker(pid, sig)

    def reap_workers(self) -> None:
        known = list(self.WORKERS)
        codes = {pid: peek_exit_code(pid) for pid in known}
        try:
            super().reap_workers()
        finally:
            for pid in known:
                if pid not in self.WORKERS:
                    retired = pid in self._retired
                    self._retired.discard(pid)
                    self.events.exited(pid, codes[pid], "scale" if retired else None)


class DemoApplication(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], scenario: Scenario) -> None:
        self.options = options
        self.scenario = scenario
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Runs in each worker after the fork (no preload): the worker's own lifeline starts there.
        scenario = self.scenario
        if scenario.wsgi:
            from asgiscope.server.demo.apps import wsgi_factory
            from asgiscope.server.demo.wsgi_telemetry import WsgiClass

            wsgi_class: WsgiClass = "gthread" if scenario.worker_class == "gthread" else "sync"
            return wsgi_factory(scenario.framework, wsgi_class, wsgi_threads(scenario))
        if scenario.framework == "django":
            from asgiscope.server.demo.apps import django_asgi_factory

            return django_asgi_factory()
        from asgiscope.server.demo.app import app_factory

        return app_factory()


def wsgi_threads(scenario: Scenario) -> int:
    # gunicorn turns a sync worker with threads > 1 into gthread by itself: sync must say 1.
    return scenario.tokens if scenario.worker_class == "gthread" else 1


def close_telemetry(_arbiter: Any, worker: Any) -> None:
    """worker_exit hook, in the exiting WSGI worker: send its last records (no lifespan to do it)."""
    close = getattr(getattr(worker, "wsgi", None), "close", None)
    if callable(close):
        close()


def watch_gthread_queue(worker: Any) -> None:
    """post_worker_init hook, in each WSGI worker: let the telemetry count what gthread accepted and
    queued for a thread (a request no handler started, so no record sees it; it is no longer in
    the kernel's accept queue). A sync worker has no such queue: its requests wait in the kernel."""
    watch = getattr(getattr(worker, "wsgi", None), "watch_queue", None)
    work_queue = getattr(getattr(worker, "tpool", None), "_work_queue", None)  # ThreadPoolExecutor's
    qsize = getattr(work_queue, "qsize", None)
    if callable(watch) and callable(qsize):
        watch(qsize)


def options(spec: MasterSpec) -> dict[str, Any]:
    scenario = spec.scenario
    reuse_port = scenario.socket == "reuse_port"
    bind = f"{spec.host}:{spec.port}" if spec.listen_fd == NO_FD else f"fd://{spec.listen_fd}"
    return {
        "bind": [bind],
        "workers": scenario.workers,
        "worker_class": scenario.worker_class
        if scenario.wsgi
        else worker_class(scenario.loop, scenario.http),
        "threads": wsgi_threads(scenario),
        "reuse_port": reuse_port,
        "graceful_timeout": int(spec.graceful_timeout),
        "timeout": spec.gunicorn_timeout,
        "keepalive": spec.keepalive,
        "loglevel": "warning",
        "errorlog": "-",
        "accesslog": None,
        "proc_name": "asgiscope",
        # The default control socket path is shared by every gunicorn of the user and deleted on start.
        "control_socket_disable": True,
        "post_fork": lambda _arbiter, _worker: close_fds_in_worker(spec),
        "post_worker_init": watch_gthread_queue,
        "worker_exit": close_telemetry,
    }


def main(argv: list[str]) -> None:
    spec, events = boot_master(argv)
    app = DemoApplication(options(spec), spec.scenario)
    try:
        ReportingArbiter(app, events).run()
    finally:
        with contextlib.suppress(Exception):
            events.close()


if __name__ == "__main__":
    main(sys.argv)
