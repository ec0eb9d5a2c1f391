"""How the masters supervise their workers: facts of the server programs, not choices of a Scenario.

gunicorn's arbiter kills a worker that has not sent a heartbeat for ``timeout`` seconds (it logs
``WORKER TIMEOUT`` and sends SIGABRT). The uvicorn worker sends that heartbeat from its event loop, so an
``async def`` handler that blocks the loop long enough gets its whole worker killed: real production
behaviour the app shows rather than hides, so it keeps gunicorn's own default. uvicorn's supervisor pings
its workers from a thread instead, so a blocked loop does not get a uvicorn worker killed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

GUNICORN_TIMEOUT_S: Final = 30  # gunicorn's default ``--timeout``
# Internal, for tests only: a real WORKER TIMEOUT in seconds rather than half a minute. Not a user setting.
GUNICORN_TIMEOUT_ENV: Final = "ASGISCOPE_TEST_GUNICORN_TIMEOUT_S"


def gunicorn_timeout_s(environ: Mapping[str, str]) -> int:
    """gunicorn's timeout: its default, unless a test set a shorter whole number of seconds (>= 1)."""
    text = environ.get(GUNICORN_TIMEOUT_ENV, "")
    return int(text) if text.isdigit() and int(text) >= 1 else GUNICORN_TIMEOUT_S


def heartbeat_every_s(timeout_s: float) -> float:
    """How often a gunicorn worker sends its heartbeat: the arbiter gives each worker half the timeout."""
    return timeout_s / 2.0
