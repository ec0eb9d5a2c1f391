"""HTTP client engines behind one small interface, so the closed and open loops do not care.

``get(slot, url)`` sends one GET, reads the whole body and returns the status. ``slot`` names the
caller's connection: a closed-loop user always uses its own slot, an open-loop request borrows a free
one. aiohttp ignores it (its one pool hands every concurrent request its own keep-alive connection);
httpx needs it, because one shared ``AsyncClient`` pool collapses under contention (~60 req/s at 100
users, encode/httpx #3215) while one client per user stays flat (~1,100 req/s). ``raw``
(``raw_engine.py``) keeps one keep-alive connection per slot.

Exceptions are not swallowed here: the loops catch them and ``classify`` names the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

import aiohttp
import httpx
import yarl

from asgiscope.server.load.spec import Engine

ErrorKind = Literal["status_4xx", "status_5xx", "connect", "disconnect", "timeout", "other"]

CONNECT_TIMEOUT_S = 5.0
# Longer than the slowest honest request (10 s handler + queueing) yet below the histogram's ceiling.
TOTAL_TIMEOUT_S = 30.0


class HttpEngine(Protocol):
    name: Engine

    def prepare(self, slots: int) -> None:
        """Have ``slots`` slots ready before the clock starts (clients are built, not connected)."""

    async def get(self, slot: int, url: str) -> int: ...

    def classify(self, exc: BaseException) -> ErrorKind: ...

    async def close(self) -> None: ...


def status_error(status: int) -> ErrorKind | None:
    if 400 <= status < 500:
        return "status_4xx"
    if status >= 500:
        return "status_5xx"
    return None


def _classify(exc: BaseException, table: tuple[tuple[type[BaseException], ErrorKind], ...]) -> ErrorKind:
    # Ordered: the first matching class wins (timeouts subclass connection errors in aiohttp).
    for cls, kind in table:
        if isinstance(exc, cls):
            return kind
    return "other"


class AiohttpEngine:
    name: Engine = "aiohttp"

    def __init__(self) -> None:
        self._table: tuple[tuple[type[BaseException], ErrorKind], ...] = (
            (aiohttp.ServerTimeoutError, "timeout"),
            (TimeoutError, "timeout"),
            (aiohttp.ClientConnectorError, "connect"),
            (aiohttp.ServerDisconnectedError, "disconnect"),
            (aiohttp.ClientPayloadError, "disconnect"),
            (aiohttp.ClientConnectionError, "disconnect"),
        )
        self._urls: dict[str, yarl.URL] = {}
        # limit=0: no pool cap, so N users hold N keep-alive connections and never queue client-side.
        # No cookie jar, no decompression, no default headers (wrk sends only Host): work a load
        # client has no business doing per request, and fewer header bytes for the server to parse.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            timeout=aiohttp.ClientTimeout(total=TOTAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )

    def prepare(self, slots: int) -> None:
        return None

    def _url(self, url: str) -> yarl.URL:
        # Parse each distinct URL once; yarl parsing per request is measurable at thousands per second.
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._urls[url] = yarl.URL(url)
        return parsed

    async def get(self, slot: int, url: str) -> int:
        async with self._session.get(self._url(url)) as response:
            await response.read()
            return response.status

    def classify(self, exc: BaseException) -> ErrorKind:
        return _classify(exc, self._table)

    async def close(self) -> None:
        await self._session.close()


class HttpxEngine:
    name: Engine = "httpx"

    def __init__(self) -> None:
        self._clients: list[httpx.AsyncClient] = []
        self._table: tuple[tuple[type[BaseException], ErrorKind], ...] = (
            (httpx.TimeoutException, "timeout"),
            (httpx.ConnectError, "connect"),
            (httpx.RemoteProtocolError, "disconnect"),
            (httpx.NetworkError, "disconnect"),
        )

    @staticmethod
    def _new_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            verify=False,  # plain http on 127.0.0.1; skips loading the CA bundle per client
            trust_env=False,  # a proxy from the environment must never sit between us and the server
            timeout=httpx.Timeout(TOTAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=4),
        )

    def prepare(self, slots: int) -> None:
        while len(self._clients) < slots:
            self._clients.append(self._new_client())

    async def get(self, slot: int, url: str) -> int:
        if slot >= len(self._clients):
            self.prepare(slot + 1)
        response = await self._clients[slot].get(url)  # reads the whole body
        return response.status_code

    def classify(self, exc: BaseException) -> ErrorKind:
        return _classify(exc, self._table)

    async def close(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()


def _raw_engine() -> HttpEngine:
    # Imported late: raw_engine builds on this module's ErrorKind, timeouts and classifier.
    from asgiscope.server.load.raw_engine import RawEngine

    return RawEngine()


ENGINES: dict[Engine, Callable[[], HttpEngine]] = {
    "aiohttp": AiohttpEngine,
    "httpx": HttpxEngine,
    "raw": _raw_engine,
}


def make_engine(name: Engine) -> HttpEngine:
    """Build inside a running loop: aiohttp binds its session to the loop it was created in."""
    return ENGINES[name]()
