"""Run-queue wait, read from the kernel: a process that shares its core with a spinner waits for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from asgiscope.server.lab.insight import Figures, client_bound
from asgiscope.server.lab.snapshot import ClientBound
from asgiscope.server.load.sched import runqueue_wait_s
from asgiscope.server.load.spec import LoadSpec

pytestmark = pytest.mark.skipif(runqueue_wait_s() is None, reason="no /proc/<pid>/task/*/schedstat here")

SPIN = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < {s}: pass\n"
MEASURE = (
    "import json, time\nfrom server.load.sched import runqueue_wait_s\n"
    "w0, c0, t0 = runqueue_wait_s(), time.process_time(), time.monotonic()\n"
    + SPIN.format(s=1.0)
    + "wall = time.monotonic() - t0\n"
    "print(json.dumps({'wait': (runqueue_wait_s() - w0) / wall, 'cpu': (time.process_time() - c0) / wall}))\n"
)


def test_a_spinner_sharing_one_core_shows_as_run_queue_wait() -> None:
    core = {sorted(os.sched_getaffinity(0))[0]}
    rival = subprocess.Popen([sys.executable, "-c", SPIN.format(s=3.0)])
    try:
        os.sched_setaffinity(rival.pid, core)
        time.sleep(0.2)
        probe = subprocess.run(
            [sys.executable, "-c", f"import os; os.sched_setaffinity(0, {core!r})\n" + MEASURE],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
    finally:
        rival.kill()
        rival.wait()
    shares = json.loads(probe.stdout)
    # Two spinners on one core get about half each; the other half is spent waiting for the core.
    assert 0.25 < shares["cpu"] < 0.75, shares
    assert shares["wait"] > 0.25, shares
    assert shares["cpu"] + shares["wait"] > 0.9, shares


def figures(cpu: float, wait: float) -> Figures:
    return Figures(
        load=LoadSpec(),
        load_running=True,
        client_rps=500.0,
        server_rps=500.0,
        sent_rps=500.0,
        client_cpu_percent=cpu,
        client_wait_percent=wait,
        overflow=0,
        prediction=None,
        workers=(),
        warm=True,
    )


def test_a_client_short_of_a_core_but_never_idle_is_the_bottleneck() -> None:
    assert client_bound(figures(cpu=40.0, wait=10.0)) is None
    full = client_bound(figures(cpu=95.0, wait=0.0))
    assert isinstance(full, ClientBound) and "95% of a core" in full.reason
    starved = client_bound(figures(cpu=62.0, wait=33.0))
    assert isinstance(starved, ClientBound)
    assert "never idled" in starved.reason and "62%" in starved.reason and "33% waiting" in starved.reason
