"""Connection churn: how long a load slot keeps its keep-alive connection before it opens a new one.

Why: a keep-alive connection stays with the worker that accepted it, for as long as it lives. A load
whose connections live forever (wrk's model) pins all of it to the workers that were there when it
started, so a worker added later gets nothing. Real traffic churns: visitors come and go, proxies and
servers cap a connection's life. Here each slot (a closed-loop user, an open-loop concurrency slot)
marks one request as its connection's last, with ``Connection: close``: the server answers and closes,
and the slot's next request connects afresh, to whichever worker accepts it.

The server closes, so the TIME_WAIT state lands on the server's side of loopback, not on the client's
ephemeral ports (which a client closing first at thousands of connects per second would exhaust).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from asgiscope.server.load.spec import Connection

# The default, "1s", bounds a connection's life by time, not by a request count: a count (say 100, nginx's
# old keepalive_requests) lasts 10 s for a user sending 10 req/s, so a new worker would wait ~10 s for
# work; a 1 s life hands it connections within a second at any rate. The cost stays small: one connect per
# user per second is latency / (latency + 1 s) of the requests, 10 % for users waiting 100 ms and well
# under 1 % at /hello, so keep-alive's benefit is kept (docs/benchmarks.md measures both).
LIFETIME_S: dict[Connection, float] = {"1s": 1.0, "per-request": 0.0, "forever": math.inf}
# Each connection's life is drawn from LIFETIME_S x [1 - JITTER, 1 + JITTER]: users that started together
# would otherwise reconnect together, in bursts that one worker's accept() takes whole.
JITTER = 0.5


def connects_per_request(connection: Connection, latency_s: float) -> float:
    """The share of requests that open a connection: one per life of L seconds, each request taking
    ``latency_s``, so latency / (latency + L); 1 for per-request (L = 0), 0 for forever."""
    life = LIFETIME_S[connection]
    if math.isinf(life):
        return 0.0
    return 1.0 if life <= 0 else max(latency_s, 0.0) / (max(latency_s, 0.0) + life)


class Churn:
    """Per slot, whether the next request is its connection's last. One per load process, shared by
    the closed and open loops (they share the engine's connections); the connection kind changes live."""

    def __init__(
        self,
        connection: Connection = "1s",
        clock: Callable[[], float] = time.monotonic,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._clock = clock
        self._draw = draw  # uniform in [0, 1)
        self._due: dict[int, float] = {}  # slot → when its current connection has lived long enough
        self.connection: Connection = connection

    def set_connection(self, connection: Connection) -> None:
        if connection != self.connection:
            self.connection = connection
            self._due.clear()  # lives drawn for the old kind do not hold for the new one

    def last(self, slot: int) -> bool:
        """Call once per request, before sending it: True makes it the connection's last."""
        life = LIFETIME_S[self.connection]
        if life <= 0:
            return True
        if math.isinf(life):
            return False
        now = self._clock()
        due = self._due.get(slot)
        if due is None:  # this request opens (or is the first on) the slot's connection
            self._due[slot] = now + life * (1.0 - JITTER + 2.0 * JITTER * self._draw())
            return False
        if now >= due:
            del self._due[slot]
            return True
        return False
