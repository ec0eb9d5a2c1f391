"""Master entry point for the uvicorn kind: uvicorn's own Multiprocess supervisor, always.

``uvicorn.run`` only uses the supervisor for ``workers > 1``; running it ourselves even for one worker is
what makes live scaling from 1 possible (SIGTTIN/SIGTTOU are the supervisor's). The subclass only adds
reporting: which worker started and why, which exited and with what code.

Run as ``python -m server.launch.uvicorn_master SPEC_JSON``. Workers are *spawned* and re-import this
module as ``__mp_main__``: the ``__main__`` guard is what prevents an endless respawn loop.
"""

from __future__ import annotations

import logging
import pickle
import socket
import sys
import time
from multiprocessing.connection import wait

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from asgiscope.server.demo.apps import asgi_target
from asgiscope.server.launch.events import EventWriter
from asgiscope.server.launch.master import boot_master
from asgiscope.server.launch.spec import MasterSpec

logger = logging.getLogger("uvicorn.error")


def health(worker: Process, timeout: float) -> bool | None:
    """The worker's startup flag (True once serving), or None if it is dead or did not answer in time.

    uvicorn's own ping waits out the whole timeout (30 s here) for a worker that dies meanwhile: the
    supervisor holds both ends of the ping pipe, so no EOF ever comes. Waiting on the process sentinel
    as well notices the death at once. (Relies on uvicorn >= 0.54's Process: parent_conn, the pong
    thread answering with ``server.started``.)
    """
    if not worker.process.is_alive():
        return None
    try:
        worker.parent_conn.send(b"ping")
        ready = wait([worker.parent_conn, worker.process.sentinel], timeout)
        if worker.parent_conn in ready:
            return bool(worker.parent_conn.recv())
    except (OSError, EOFError, pickle.UnpicklingError):
        pass
    return None


class ReportingMultiprocess(Multiprocess):
    def __init__(self, config: Config, sockets: list[socket.socket], events: EventWriter) -> None:
        super().__init__(config, sockets)
        self.events = events

    def init_processes(self) -> None:
        super().init_processes()
        # Boot is reported once every worker serves: a worker still importing would let the first one
        # accept every early keep-alive connection, a worker imbalance the app would then "explain".
        deadline = time.monotonic() + self.config.timeout_worker_healthcheck
        for worker in self.processes:
            # Until it serves, or dies (supervision replaces it), or the deadline: a worker still
            # importing does not answer at all yet, which is not the same as dead.
            while time.monotonic() < deadline and not self.should_exit.is_set() and worker.process.is_alive():
                if health(worker, timeout=1.0) is True:
                    break
                time.sleep(0.05)
        for worker in self.processes:
            self.events.started(worker.pid, "boot")

    def handle_ttin(self) -> None:
        super().handle_ttin()
        self.events.started(self.processes[-1].pid, "scale")

    def handle_ttou(self) -> None:
        newest = self.processes[-1] if self.processes else None
        super().handle_ttou()
        if newest is not None and newest not in self.processes:
            self.events.exited(newest.pid, newest.exitcode, "scale")

    def keep_subprocess_alive(self) -> None:
        """uvicorn's loop with a death-aware health check, and reports; a dead worker is replaced in place."""
        if self.should_exit.is_set():
            return
        for idx, worker in enumerate(self.processes):
            if health(worker, self.config.timeout_worker_healthcheck) is not None:
                continue
            worker.kill()  # dead already, or hung: either way it goes
            worker.join()
            self.events.exited(worker.pid, worker.exitcode)
            if worker.exitcode == STARTUP_FAILURE:
                # It failed before serving (broken app or socket): every replacement would fail the same way.
                logger.error(f"Child process [{worker.pid}] failed to start, stopping the parent process.")
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            replacement = Process(self.config, self.sockets)
            replacement.start()
            self.processes[idx] = replacement
            self.events.started(replacement.pid, "replace")


def make_config(spec: MasterSpec) -> Config:
    scenario = spec.scenario
    return Config(
        asgi_target(scenario.framework),
        factory=True,
        host=spec.host,
        port=spec.port,
        workers=scenario.workers,
        loop=scenario.loop,
        http=scenario.http,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=spec.keepalive,
        timeout_worker_healthcheck=int(spec.healthcheck_timeout),
        timeout_graceful_shutdown=int(spec.graceful_timeout),
    )


def main(argv: list[str]) -> None:
    spec, events = boot_master(argv)
    config = make_config(spec)
    # The owner bound the socket (port 0 resolved without a race, a taken port failed in the owner).
    listener = socket.socket(fileno=spec.listen_fd)
    ReportingMultiprocess(config, [listener], events).run()
    events.close()


if __name__ == "__main__":
    main(sys.argv)
