"""HTTP client engines behind one small interface, so the closed and open loops do not care.

``get(slot, url, last)`` sends one GET, reads the whole body and returns the status; ``last`` asks the
server to close the connection after it (connection churn, ``churn.py``). ``slot`` names the
caller's connection: a closed-loop user always uses its own slot, an open-loop request borrows a free
one. aiohttp ignores it, httpx keeps a client per slot, raw a keep-alive connection per slot.

Engines are named by import string, like uvicorn's ``HTTP_PROTOCOLS``, and imported only when chosen:
a load process driving the raw engine never loads aiohttp or httpx (and starts that much sooner).
Exceptions are not swallowed here: the loops catch them and ``classify`` names the kind.
"""

from __future__ import annotations

import pkgutil
from typing import Protocol, cast

from asgiscope.server.load.errors import ErrorKind
from asgiscope.server.load.spec import Engine


class HttpEngine(Protocol):
    name: Engine

    def prepare(self, slots: int) -> None:
        """Have ``slots`` slots ready before the clock starts (clients are built, not connected)."""

    async def get(self, slot: int, url: str, last: bool = False) -> int:
        """``last``: the slot's connection ends with this request (``Connection: close``, ``churn.py``)."""
        ...

    def classify(self, exc: BaseException) -> ErrorKind: ...

    def resendable(self, exc: BaseException) -> bool:
        """The request died with a reused connection before any response byte: worth one more try.
        Engines never resend by themselves, so every failed attempt is counted."""

    async def close(self) -> None: ...


ENGINES: dict[Engine, str] = {
    "aiohttp": "asgiscope.server.load.aiohttp_engine:AiohttpEngine",
    "httpx": "asgiscope.server.load.httpx_engine:HttpxEngine",
    "raw": "asgiscope.server.load.raw_engine:RawEngine",
}


def make_engine(name: Engine) -> HttpEngine:
    """Build inside a running loop: aiohttp binds its session to the loop it was created in."""
    engine_class = cast(type[HttpEngine], pkgutil.resolve_name(ENGINES[name]))
    return engine_class()
