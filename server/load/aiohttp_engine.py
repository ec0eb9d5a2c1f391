"""The ``aiohttp`` engine: one ``ClientSession`` whose pool hands each concurrent request its own
keep-alive connection, so the slot a caller names is not needed."""

from __future__ import annotations

import aiohttp
import yarl

from asgiscope.server.load.errors import CONNECT_TIMEOUT_S, TOTAL_TIMEOUT_S, ErrorKind, ErrorTable, classify
from asgiscope.server.load.spec import Engine

_ERRORS: ErrorTable = (
    (aiohttp.ServerTimeoutError, "timeout"),
    (TimeoutError, "timeout"),
    (aiohttp.ClientConnectorError, "connect"),
    (aiohttp.ServerDisconnectedError, "disconnect"),
    (aiohttp.ClientPayloadError, "disconnect"),
    (aiohttp.ClientConnectionError, "disconnect"),
)


_CLOSE = {"Connection": "close"}


class AiohttpEngine:
    name: Engine = "aiohttp"

    def __init__(self) -> None:
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
        # aiohttp resends an idempotent request once, silently, when its connection fails before the
        # response starts (ClientSession._request, RFC 9112 9.3.1): a worker killed with requests on
        # it would show no error at all. Off (as aiohttp's own test client does); the load loop
        # resends instead, after counting the failure. A renamed attribute fails here, not silently.
        if not hasattr(self._session, "_retry_connection"):
            raise RuntimeError("aiohttp's ClientSession no longer has _retry_connection: see aiohttp_engine")
        self._session._retry_connection = False

    def prepare(self, slots: int) -> None:
        return None

    def _url(self, url: str) -> yarl.URL:
        # Parse each distinct URL once; yarl parsing per request is measurable at thousands per second.
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._urls[url] = yarl.URL(url)
        return parsed

    async def get(self, slot: int, url: str, last: bool = False) -> int:
        # Connection: close makes aiohttp drop the connection from its pool after the response (and
        # the server close it): the pool's next request connects anew. Which pooled connection a slot
        # gets is aiohttp's choice, so a slot's "connection" is the pool's, on average the same life.
        headers = _CLOSE if last else None
        async with self._session.get(self._url(url), headers=headers) as response:
            await response.read()
            return response.status

    def classify(self, exc: BaseException) -> ErrorKind:
        return classify(exc, _ERRORS)

    def resendable(self, exc: BaseException) -> bool:
        # What aiohttp itself would have resent: a dropped connection, not one that was never made.
        return isinstance(exc, (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)) and not isinstance(
            exc, aiohttp.ClientConnectorError
        )

    async def close(self) -> None:
        await self._session.close()
