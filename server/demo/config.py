"""What a worker needs to know, handed from the launcher through the environment.

Workers are spawned (uvicorn) or forked (gunicorn) by a master we do not write, so the one channel that
reaches every worker of both kinds is the environment: the launcher sets ``ASGISCOPE_WORKER`` to this
object's JSON before starting the master.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

ENV_VAR = "ASGISCOPE_WORKER"


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    tokens: int = 40
    # Where telemetry goes; port 0 means telemetry off (the overhead benchmark's baseline).
    telemetry_host: str = "127.0.0.1"
    telemetry_port: int = 0
    token_hex: str = ""
    # Exit when the parent (master) goes away, even if it was SIGKILLed.
    watch_parent: bool = True

    @property
    def telemetry_on(self) -> bool:
        return self.telemetry_port > 0 and bool(self.token_hex)

    def to_env(self) -> dict[str, str]:
        return {ENV_VAR: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerConfig:
        raw = (os.environ if environ is None else environ).get(ENV_VAR)
        return cls(**json.loads(raw)) if raw else cls()
