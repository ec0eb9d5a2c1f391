"""Master entry point for the uvicorn kind: uvicorn's own Multiprocess supervisor, always.

``uvicorn.run`` only uses the supervisor for ``workers > 1``; running it ourselves even for one worker is
what makes live scaling from 1 possible (SIGTTIN/SIGTTOU are the supervisor's). The subclass only adds
reporting: which worker started and why, which exited and with what code.

Run as ``python -m server.launch.uvicorn_master SPEC_JSON``. Workers are *spawned* and re-import this
module as ``__mp_main__``: the ``__main__`` guard is what prevents an endless respawn loop.
"""

from __future__ import annotations

import socket
import sys

from uvicorn import Config
from uvicorn.supervisors import Multiprocess

from server.launch.events import EventWriter
from server.launch.master import DEMO_APP, boot_master
from server.launch.spec import MasterSpec


class ReportingMultiprocess(Multiprocess):
    def __init__(self, config: Config, sockets: list[socket.socket], events: EventWriter) -> None:
        super().__init__(config, sockets)
        self.events = events

    def init_processes(self) -> None:
        super().init_processes()
        for process in self.processes:
            self.events.started(process.pid, "boot")

    def handle_ttin(self) -> None:
        super().handle_ttin()
        self.events.started(self.processes[-1].pid, "scale")

    def handle_ttou(self) -> None:
        newest = self.processes[-1] if self.processes else None
        super().handle_ttou()
        if newest is not None and newest not in self.processes:
            self.events.exited(newest.pid, newest.exitcode)

    def keep_subprocess_alive(self) -> None:
        before = list(self.processes)
        super().keep_subprocess_alive()
        # The supervisor replaces a dead worker in place, at the same index.
        for old, new in zip(before, self.processes, strict=False):
            if old is not new:
                self.events.exited(old.pid, old.exitcode)
                self.events.started(new.pid, "replace")


def make_config(spec: MasterSpec) -> Config:
    scenario = spec.scenario
    return Config(
        DEMO_APP,
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
