"""Time this process spent ready to run but waiting for a core (Linux schedstat), in seconds.

CPU % alone cannot tell a saturated client on a busy machine: a load process that never idles but gets
only 60 % of a core (the rest of the time it waits in the run queue behind other processes) is just as
unable to send faster as one at 100 %. ``/proc/self/task/*/schedstat`` holds, per thread, the time on a
core and the time waiting in the run queue; CPU + wait ≈ wall means the process never idled.
"""

from __future__ import annotations

import os

_TASKS = "/proc/self/task"


def runqueue_wait_s() -> float | None:
    """Cumulative run-queue wait of all this process's threads; None where the kernel does not say."""
    try:
        tids = os.listdir(_TASKS)
    except OSError:
        return None
    total_ns = 0
    seen = False
    for tid in tids:
        try:
            with open(f"{_TASKS}/{tid}/schedstat", "rb") as f:
                fields = f.read().split()
        except OSError:
            continue  # a thread that just ended
        if len(fields) >= 2:
            total_ns += int(fields[1])
            seen = True
    return total_ns / 1e9 if seen else None
