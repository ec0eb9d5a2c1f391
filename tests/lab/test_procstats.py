"""ProcSampler's preemptions per second, from real processes: two busy loops pinned to one core must
take turns on it (the scheduler preempts them), a sleeping process gives its core up by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from asgiscope.server.lab.procstats import ProcSampler

# Each says when it has started (an interpreter's start-up is busy and gets preempted on a loaded machine).
BUSY = "print('ready', flush=True)\nwhile True: pass"
SLEEPY = "import time; print('ready', flush=True); time.sleep(60)"


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:  # ours, by pid
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_busy_processes_sharing_one_core_are_preempted_and_a_sleeper_is_not(
    children: list[subprocess.Popen[bytes]],
) -> None:
    core = min(os.sched_getaffinity(0))
    for code in (BUSY, BUSY, SLEEPY):
        children.append(subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE))
    for proc in children:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    for proc in children[:2]:
        os.sched_setaffinity(proc.pid, {core})
    pids = [p.pid for p in children]
    sampler = ProcSampler(min_interval_s=0.0)
    first = sampler.sample(pids)
    assert all(s.preempted_per_s == 0.0 for s in first.values())  # nothing to compare with yet
    time.sleep(1.0)
    later = sampler.sample(pids)
    busy_a, busy_b, sleeper = (later[p] for p in pids)
    # The scheduler's slice is a few ms: hundreds of turns a second; 10 is a wide margin.
    assert busy_a.preempted_per_s > 10 and busy_b.preempted_per_s > 10
    assert sleeper.preempted_per_s < 5
