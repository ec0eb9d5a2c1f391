"""What the owner hands a master process on its command line: one frozen value, JSON both ways."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from asgiscope.server.scenario import Scenario
from asgiscope.server.supervision import GUNICORN_TIMEOUT_S

NO_FD = -1


@dataclass(frozen=True, slots=True)
class MasterSpec:
    scenario: Scenario
    host: str
    port: int
    listen_fd: int  # the listening socket bound by the owner; NO_FD when each worker binds (reuse_port)
    owner_fd: int  # read end of the parent-death pipe
    events_fd: int  # write end of the event pipe
    healthcheck_timeout: float = 30.0  # CPU-bound demos must not get workers killed as "hung"
    graceful_timeout: float = 3.0  # uvicorn's default waits forever on open connections
    gunicorn_timeout: int = GUNICORN_TIMEOUT_S  # gunicorn's own: a worker without a heartbeat this long dies
    keepalive: int = 5  # seconds; uvicorn's default, also given to gunicorn so both kinds compare fairly
    nice: int = 0  # how much nicer than its owner the master runs, workers too (server.priority)
    session_nice: int | None = None  # the autogroup niceness of the tree's session; None: leave it

    def to_json(self) -> str:
        data = asdict(self)
        data["scenario"] = self.scenario.to_dict()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> MasterSpec:
        data = json.loads(text)
        data["scenario"] = Scenario.from_dict(data["scenario"])
        return cls(**data)
