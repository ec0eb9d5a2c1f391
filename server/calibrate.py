"""How fast this machine runs Python right now, against the machine the theory's costs were measured on.

The theory's CPU costs per request (``theory.Costs``) are seconds of CPU on one machine at one time. The
same code takes 2x less or more elsewhere: another processor, another hour on a shared VM. A fixed
piece of pure-Python work shaped like a request's (bytes parsing, dict building, small calls, JSON)
times this machine in ~20 ms, and the costs are scaled by the ratio. Thread CPU time and the best of
several rounds: other processes' load does not count, only how fast this core runs this code.
"""

from __future__ import annotations

import json
import time
from typing import Final

# The work's best time where the costs in theory.Costs were measured (bench/costs.py prints both: 1.21
# to 1.31 ms around the fits of 2026-12-02; the median of 20 scores of 25 rounds there is 1.236 ms).
REFERENCE_WORK_S: Final = 1.23e-3
# Outside this the measurement is not believed (a debugger, a profiler, an emulator): costs stay as measured.
BELIEVED: Final = (0.2, 5.0)

_REQUEST: Final = (
    b"GET /io/async?ms=10 HTTP/1.1\r\nhost: 127.0.0.1:8000\r\nuser-agent: asgiscope\r\naccept: */*\r\n\r\n"
)


def _work() -> int:
    total = 0
    for i in range(400):
        head, _, _ = _REQUEST.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        method, target, _version = lines[0].split(b" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        path, _, query = target.partition(b"?")
        scope = {"method": method.decode(), "path": path.decode(), "query": query, "headers": headers}
        body = json.dumps({"pid": 1234, "thread": i, "path": scope["path"]}).encode()
        total += len(body) + len(scope)
    return total


def work_seconds(rounds: int = 25) -> float:
    """The best thread-CPU time of the fixed work over ``rounds`` (~1.2 ms each on the reference).

    Back to back, caches warm: with a sleep between rounds the scores read 10-80 % slower here, as the
    other processes took the core and its caches meanwhile. In a VM, time the hypervisor gives another
    guest may count as this thread's CPU time too: the best of many rounds leaves such bursts out."""
    best = float("inf")
    for _ in range(rounds):
        start = time.thread_time_ns()
        _work()
        best = min(best, time.thread_time_ns() - start)
    return best / 1e9


def speed_factor(rounds: int = 25, tries: int = 6, gap_s: float = 0.05) -> float:
    """CPU time here per CPU second on the reference machine (0.5: this machine is twice as fast).

    The best of ``tries`` scores ``gap_s`` apart (~0.4 s in all). On the shared reference VM whole
    stretches of ~0.1 s read 1.4-1.7x the usual (measured: 5 Lab starts in 14 back to back, while the
    costs they scaled did not change): two tries 10 ms apart often fell in one such stretch, and every
    prediction of that session was off by as much."""
    best = float("inf")
    for i in range(tries):
        if i:
            time.sleep(gap_s)
        best = min(best, work_seconds(rounds))
    factor = best / REFERENCE_WORK_S
    low, high = BELIEVED
    return factor if low <= factor <= high else 1.0
