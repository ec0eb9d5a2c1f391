"""The ``raw`` engine: HTTP/1.1 GET over a bare asyncio ``Protocol``, parsed by httptools (llhttp).

Why it exists: aiohttp spends ~110-140 µs of client CPU per request on machinery a load generator does
not need (a request/response object graph, header dicts, a stream reader, timeouts as context
managers). With server and client sharing two cores, that CPU is taken from the server, so aiohttp
tops out near half of wrk. Here a request is a pre-built bytes object written to a kept-alive socket,
and a response is fed straight into the same C parser uvicorn uses, with no body or header objects
kept: only the status, and whatever tells us where the response ends.

One keep-alive connection per slot (a closed-loop user, or an open-loop concurrency slot), so N users
hold N connections, like aiohttp with ``limit=0``. A slot that somehow has two requests at once (a
retired user's request still in flight when a new user takes its slot) gets a second connection
rather than pipelining: one request in flight per connection, always.

Plain ``http://`` only: the server is on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

from asgiscope.server.load.errors import CONNECT_TIMEOUT_S, TOTAL_TIMEOUT_S, ErrorKind, ErrorTable, classify
from asgiscope.server.load.spec import Engine

Address = tuple[str, int]
_MAX_TARGETS = 4096  # distinct URLs remembered; live ``ms`` changes make new ones
SERVER_CLOSE_WAIT_S = 1.0  # how long a connection the server said it closes waits for its FIN


class ConnectFailed(ConnectionError):
    """No connection could be made (refused, unreachable)."""


class Disconnected(ConnectionError):
    """The connection ended before the response was complete."""


class _IdleClosed(Disconnected):
    """A reused connection ended before any byte of the response came back: the server closed it as
    idle while our request was on its way, or the worker died with it. Counted as a disconnect either
    way (the two look the same from here); the loop may resend it once."""


@dataclass(frozen=True, slots=True)
class _Target:
    address: Address
    request: bytes
    closing: bytes  # the same request, asking the server to close the connection after the response

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the raw engine speaks plain http:// only, not {url!r}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]  # Host is host[:port], never credentials
        if any(c <= " " or c == "\x7f" for c in path + host):
            raise ValueError(f"control character or space in {url!r}")
        # Only Host, like wrk: every extra header is bytes the server must parse, per request.
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode("ascii")
        closing = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("ascii")
        return cls((parts.hostname, parts.port or 80), request, closing)


class _Connection(asyncio.Protocol):
    """One TCP connection, at most one request in flight. ``request`` returns a future for the status.

    httptools calls the ``on_*`` methods from inside ``feed_data``; ``on_body`` is deliberately
    absent, so body bytes are counted by the C parser and never become Python objects.
    """

    def __init__(self, address: Address, on_lost: Callable[[_Connection], None]) -> None:
        self.address = address
        self.reusable = True  # False once anything says this connection must not carry another request
        self.served = 0  # complete responses so far
        self.server_closes = False  # the last response said the server closes the connection
        self._on_lost = on_lost
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[int] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._got_bytes = False  # any byte of the current response arrived
        self._framed = False  # current response has Content-Length or chunked encoding
        self._in_body = False  # current response's headers are complete

    # -- used by the engine --------------------------------------------------------------------

    def request(self, data: bytes) -> asyncio.Future[int]:
        assert self._transport is not None and self._waiter is None
        waiter: asyncio.Future[int] = self._loop.create_future()
        self._waiter = waiter
        self._got_bytes = False
        # A timer handle rather than ``asyncio.timeout``: a fraction of the cost, and it also aborts
        # the connection, whose framing is unknown after a timeout.
        self._timer = self._loop.call_later(TOTAL_TIMEOUT_S, self._timed_out)
        self._transport.write(data)
        return waiter

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None:
            self._transport.close()

    def close_after_server(self) -> None:
        """The server said it closes (gunicorn's sync worker always does): let its FIN arrive first, so
        TIME_WAIT stays on the server's side. Closing at once races that FIN into a simultaneous close,
        which leaves TIME_WAIT on both sides and eats the client's ephemeral ports at thousands of
        connects per second. asyncio closes the transport on EOF; the timer covers a server that never
        does."""
        self.reusable = False
        self._loop.call_later(SERVER_CLOSE_WAIT_S, self.close)

    def abort(self) -> None:
        self._fail(Disconnected("request abandoned"))

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            # Bytes nobody asked for (a 408 sent before an idle close, say): framing is lost.
            self.close()
            return
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(exc)  # not HTTP/1.1 as we know it: classified "other"

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._on_lost(self)
        if self._waiter is None:
            return  # closed while idle: the engine finds it unusable and connects anew
        if self._in_body and not self._framed:
            # Neither Content-Length nor chunked: HTTP/1.1 says the body runs until the close.
            self._finish(self._parser.get_status_code())
        elif not self._got_bytes and self.served:
            self._fail(_IdleClosed("keep-alive connection closed by the server"))
        else:
            self._fail(Disconnected(f"connection closed mid-response ({exc or 'EOF'})"))

    # -- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._framed = self._in_body = False
        if self._waiter is None:
            # A second response in the same read with one request in flight: the server is out of
            # step with us. The first response still counts; this connection is not reused.
            self.reusable = False

    def on_header(self, name: bytes, value: bytes) -> None:
        # Only to tell a framed body from one that ends at the close (~0.6 µs per response).
        if len(name) == 14 and name.lower() == b"content-length":
            self._framed = True
        elif len(name) == 17 and name.lower() == b"transfer-encoding":
            self._framed = value.rstrip().lower().endswith(b"chunked")

    def on_headers_complete(self) -> None:
        self._in_body = True

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:
            return  # an interim 1xx response; the real one follows on the same connection
        if not self._parser.should_keep_alive():
            self.reusable = False  # Connection: close (or HTTP/1.0): the next request reconnects
            self.server_closes = True
        self._finish(status)

    # -- completion ----------------------------------------------------------------------------

    def _timed_out(self) -> None:
        self._fail(TimeoutError(f"no complete response within {TOTAL_TIMEOUT_S:g} s"))

    def _settle(self) -> asyncio.Future[int] | None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return None if waiter is None or waiter.done() else waiter  # done: the caller was cancelled

    def _finish(self, status: int) -> None:
        if self._waiter is None:
            return  # a stray response after ours: already marked not reusable
        self.served += 1
        if (waiter := self._settle()) is not None:
            waiter.set_result(status)

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        if (waiter := self._settle()) is not None:
            waiter.set_exception(exc)
        if self._transport is not None:
            self._transport.abort()


_ERRORS: ErrorTable = (
    (TimeoutError, "timeout"),  # before OSError: TimeoutError is one
    (ConnectFailed, "connect"),
    (ConnectionError, "disconnect"),
)


class RawEngine:
    name: Engine = "raw"

    def __init__(self) -> None:
        self._targets: dict[str, _Target] = {}
        self._idle: dict[int, list[_Connection]] = {}  # slot → its idle connections (usually one)
        self._open: set[_Connection] = set()

    def prepare(self, slots: int) -> None:
        return None  # connections are made on first use, like aiohttp's

    async def get(self, slot: int, url: str, last: bool = False) -> int:
        target = self._targets.get(url)
        if target is None:
            if len(self._targets) >= _MAX_TARGETS:
                self._targets.clear()
            target = self._targets[url] = _Target.parse(url)
        # The server sees Connection: close, answers and closes; httptools then says the connection
        # must not be kept, so _exchange closes our end too and the slot's next request connects anew.
        request = target.closing if last else target.request
        conn = self._checkout(slot, target.address)
        if conn is None:
            conn = await self._connect(target.address)
        return await self._exchange(slot, conn, request)

    def classify(self, exc: BaseException) -> ErrorKind:
        return classify(exc, _ERRORS)

    def resendable(self, exc: BaseException) -> bool:
        return isinstance(exc, _IdleClosed)

    async def close(self) -> None:
        for conn in list(self._open):
            conn.close()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports run connection_lost

    def _checkout(self, slot: int, address: Address) -> _Connection | None:
        idle = self._idle.get(slot)
        while idle:
            conn = idle.pop()
            if conn.reusable and conn.address == address:
                return conn
            conn.close()  # dead while idle, or for another server
        return None

    async def _exchange(self, slot: int, conn: _Connection, request: bytes) -> int:
        try:
            status = await conn.request(request)
        except BaseException:  # includes cancellation: the connection's state is unknown now
            conn.abort()
            raise
        if conn.reusable:
            self._idle.setdefault(slot, []).append(conn)
        elif conn.server_closes:
            conn.close_after_server()
        else:
            conn.close()
        return status

    async def _connect(self, address: Address) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                _, conn = await loop.create_connection(
                    lambda: _Connection(address, self._open.discard), *address
                )
        except TimeoutError:
            raise
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {address[0]}:{address[1]}: {exc}") from exc
        self._open.add(conn)
        return conn
