"""What every framework's demo routes share: the ``ms`` parameter's bounds and the JSON reply.

FastAPI checks ``ms`` with its own ``Query(ge=0, le=10_000)``; Flask and Django have no such declaration,
so they read it here, with the same bounds and the same 422 for a bad value.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Final

MS_MAX: Final = 10_000
IO_MS: Final = 100  # the io routes' default, as in app.py
CPU_MS: Final = 10  # the cpu routes' default


def read_ms(raw: str | None, default: int) -> int | None:
    """The ``ms`` query value, or None when it is not an integer in 0..MS_MAX (the caller answers 422)."""
    if raw is None:
        return default
    try:
        ms = int(raw)
    except ValueError:
        return None
    return ms if 0 <= ms <= MS_MAX else None


def reply(route: str) -> dict[str, Any]:
    """The tiny JSON body every route answers: the route, the worker's pid, the thread that ran it."""
    return {"route": route, "pid": os.getpid(), "tid": threading.get_native_id()}


BAD_MS: Final[dict[str, Any]] = {"detail": f"ms must be an integer in 0..{MS_MAX}"}
