"""How a request can fail, in the kinds a LoadReport counts, and the time limits that make a timeout.

Every engine maps its own exceptions onto these kinds with ``classify`` and an ordered table, so the
loops and the recorder never see an engine's exception classes (and never import its library).
"""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["status_4xx", "status_5xx", "connect", "disconnect", "timeout", "other"]
ErrorTable = tuple[tuple[type[BaseException], ErrorKind], ...]

CONNECT_TIMEOUT_S = 5.0
# Longer than the slowest honest request (10 s handler + queueing) yet below the histogram's ceiling.
TOTAL_TIMEOUT_S = 30.0


def status_error(status: int) -> ErrorKind | None:
    if 400 <= status < 500:
        return "status_4xx"
    if status >= 500:
        return "status_5xx"
    return None


def classify(exc: BaseException, table: ErrorTable) -> ErrorKind:
    """The kind of the first class in ``table`` that ``exc`` is an instance of, else "other".

    Ordered: put subclasses first (timeouts subclass connection errors in aiohttp, and
    ``TimeoutError`` is an ``OSError``)."""
    for cls, kind in table:
        if isinstance(exc, cls):
            return kind
    return "other"
