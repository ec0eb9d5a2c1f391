"""The lifeline on its own, with plain Python processes: no server, so each case takes well under a second."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from asgiscope.server.lifeline import EXIT_ORPHANED, PARENT_ENV


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pids: list[int], within: float) -> list[int]:
    deadline = time.monotonic() + within
    while (left := [p for p in pids if not gone(p)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def run_parent(code: str) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """Start a python process running ``code``; it prints one JSON line of pids, then sleeps."""
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line, "the parent process printed nothing"
    return parent, json.loads(line)


WORKER = """
import sys, time
from asgiscope.server.lifeline import start_parent_watch
start_parent_watch(0.1, death_signal={death_signal})
print("up", flush=True)
time.sleep(60)
"""

PARENT = """
import json, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {worker!r}], stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(json.dumps({{"child": child.pid}}), flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("death_signal", [False, True], ids=["polling", "pdeathsig"])
def test_worker_exits_when_its_parent_is_sigkilled(death_signal: bool) -> None:
    worker = WORKER.format(death_signal=death_signal)
    parent, pids = run_parent(PARENT.format(worker=worker))
    parent.kill()
    parent.wait()
    assert wait_gone([pids["child"]], 1.5) == []


def test_worker_whose_master_died_before_it_started_exits_at_once() -> None:
    # The published master pid is not our parent: the master is already gone, so we must not serve.
    env = {**os.environ, PARENT_ENV: "999999999"}
    code = "import time, server.lifeline as l\nl.start_parent_watch(0.05)\ntime.sleep(30)"
    started = time.monotonic()
    child = subprocess.run([sys.executable, "-c", code], env=env, timeout=20, check=False)
    assert child.returncode in (EXIT_ORPHANED, -signal.SIGKILL)
    assert time.monotonic() - started < 5


MASTER = """
import json, os, subprocess, sys, time
from asgiscope.server.lifeline import publish_as_parent, start_owner_watch
start_owner_watch(int(sys.argv[1]), interval=0.2)
publish_as_parent()
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(json.dumps({"master": os.getpid(), "worker": worker.pid}), flush=True)
time.sleep(60)
"""

OWNER = """
import os, subprocess, sys, time
r, w = os.pipe()
master = subprocess.Popen([sys.executable, "-c", {master!r}, str(r)], pass_fds=(r,), start_new_session=True)
os.close(r)
time.sleep(60)
"""


def test_master_kills_its_group_when_the_owner_is_sigkilled() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER.format(master=MASTER)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    pids = json.loads(owner.stdout.readline())  # the master's line: it inherited the owner's stdout
    assert all(not gone(pid) for pid in pids.values())
    owner.kill()
    owner.wait()
    # The plain worker has no watch of its own: only the master's group kill can end it this fast.
    assert wait_gone(list(pids.values()), 3.0) == []
