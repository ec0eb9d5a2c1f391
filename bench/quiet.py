"""How much CPU the machine's other processes took while a bench case ran, and waiting for a quiet moment.

On a shared machine a case measured while others run tests reads low and says nothing about the
theory: every bench that compares against predictions prints this beside its figures, and can wait
for (and re-run until) a quiet moment.
"""

from __future__ import annotations

import asyncio
import time

from asgiscope.server.lab.others import busy_cpu_seconds, cpu_seconds
from asgiscope.server.lab.session import Lab


class Others:
    """Cores' worth of CPU used by processes other than ``pids`` between ``start`` and ``stop``."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self._t = time.monotonic()
        self._busy = busy_cpu_seconds()
        self._ours = cpu_seconds(pids)

    def cores(self) -> float:
        dt = max(time.monotonic() - self._t, 1e-3)
        return max(0.0, (busy_cpu_seconds() - self._busy) - (cpu_seconds(self.pids) - self._ours)) / dt


async def wait_for_quiet(threshold_cores: float, max_wait_s: float = 120.0) -> float:
    """Wait until the whole machine used less than ``threshold_cores`` over one second (we run
    nothing then); give up after ``max_wait_s``. Returns the last second's load."""
    deadline = time.monotonic() + max_wait_s
    while True:
        probe = Others([])
        await asyncio.sleep(1.0)
        load = probe.cores()
        if load < threshold_cores or time.monotonic() > deadline:
            return load


def boost(pids: list[int], nice: int = -10) -> None:
    """Give the autogroups (sessions) of ``pids`` priority over the machine's other sessions (Linux, root
    only; otherwise nothing happens): the nearest thing to a quiet machine while others run tests. The
    server tree runs in a session of its own, so its master's group needs it as well as ours."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/autogroup", "w") as f:
                f.write(str(nice))
        except OSError:
            continue


async def start_load(lab: Lab, priority: bool) -> None:
    """Start the Lab's load; with ``priority``, boost the processes the measurement depends on."""
    await lab.start_load()
    if priority:
        await asyncio.sleep(0.2)  # a tick: the snapshot names the load process
        boost([p.pid for p in lab.snapshot().processes if p.role in ("master", "gui", "load")])
