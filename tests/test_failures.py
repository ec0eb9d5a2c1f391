"""Killed processes are told, end to end: real servers, real load, real signals (to our own pids only).

A worker SIGKILLed mid-run, a worker gunicorn kills for a missed heartbeat, a load generator killed, a
master killed under ``serve``: each run still ends (exit 0 for ``run``), and says what happened.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

import psutil
import pytest

from asgiscope.server.lab.session import Lab
from asgiscope.server.launch import proctree
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario, ServerKind
from asgiscope.server.supervision import GUNICORN_TIMEOUT_ENV
from tests.serve_proc import serve

RUN = [sys.executable, "-m", "asgiscope.server.cli_run"]
FIND_TIMEOUT_S = 60.0


def start_run(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RUN, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def child_running(run: subprocess.Popen[str], module: str) -> int:
    """The pid of the run's own child process started as ``python -m <module>`` (we started it)."""
    deadline = time.monotonic() + FIND_TIMEOUT_S
    while time.monotonic() < deadline:
        assert run.poll() is None, run.communicate()
        for child in psutil.Process(run.pid).children():
            try:
                if module in child.cmdline():
                    return child.pid
            except psutil.Error:
                continue
        time.sleep(0.1)
    raise AssertionError(f"no {module} child within {FIND_TIMEOUT_S:g} s")


def busiest_worker(master: int, port: int) -> int:
    """The worker holding the most of the load's connections: killing it surely cuts requests short."""

    def held(pid: int) -> int:
        try:
            conns = psutil.Process(pid).net_connections("tcp")
        except psutil.Error:
            return -1
        return sum(1 for c in conns if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)

    return max(proctree.worker_pids(master), key=held)


def finish(run: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, err  # the run survives what it reports
    return out, err


def listening_port(master: int) -> int:
    deadline = time.monotonic() + FIND_TIMEOUT_S
    while time.monotonic() < deadline:
        for pid in (master, *proctree.worker_pids(master)):
            try:
                for c in psutil.Process(pid).net_connections("tcp"):
                    if c.status == psutil.CONN_LISTEN:
                        return int(c.laddr.port)
            except psutil.Error:
                continue
        time.sleep(0.1)
    raise AssertionError("the server never listened")


WARMUP = 1.0


def kill_worker_mid_run(engine: str, *extra: str) -> tuple[int, str, str]:
    """A 2-worker uvicorn run; its busiest worker is SIGKILLed ~1.5 s into the measurement."""
    run = start_run(
        *("--workers", "2", "--endpoint", "io/async", "--ms", "20", "--users", "40"),
        *("--engine", engine, "--warmup", str(WARMUP), "--duration", "5", *extra),
    )
    try:
        master = child_running(run, "asgiscope.server.launch.uvicorn_master")
        child_running(run, "asgiscope.server.load.main")
        port = listening_port(master)
        time.sleep(WARMUP + 1.5)
        victim = busiest_worker(master, port)
        os.kill(victim, signal.SIGKILL)
    except BaseException:
        run.kill()
        raise
    out, err = finish(run)
    return victim, out, err


def test_a_killed_worker_is_an_event_an_error_and_a_dead_row() -> None:
    victim, out, _ = kill_worker_mid_run("raw", "--json")
    r: dict[str, Any] = json.loads(out)

    exits = [e for e in r["events"] if e["kind"] == "worker_exited" and e["pid"] == victim]
    assert exits and exits[0]["code"] == -signal.SIGKILL and exits[0]["detail"] == "killed by SIGKILL"
    assert any(e["kind"] == "worker_started" and e["detail"] == "replace" for e in r["events"])
    assert r["restarts"] >= 1
    # The requests in flight on its connections died with it: counted, not silently resent.
    assert r["measured"]["errors_by_kind"].get("disconnect", 0) > 0

    rows = {w["pid"]: w for w in r["workers"]}
    assert rows[victim]["alive"] is False and rows[victim]["requests"] > 0
    assert sum(1 for w in r["workers"] if w["alive"]) == 2  # the two living: survivor and replacement
    # Every request the server's telemetry saw belongs to a worker row, the dead one's too.
    assert sum(w["requests"] for w in r["workers"]) == r["server"]["requests"]

    assert r["insights"][0].startswith(f"Worker {victim} died (killed by SIGKILL)")
    assert not any(line.startswith("Uneven accept") for line in r["insights"])
    assert not any("uneven accept" in line for line in r["insights"])


def test_the_table_tells_of_a_killed_worker_with_aiohttp_too() -> None:
    """aiohttp would resend the dead worker's requests silently; the table shows errors and the event."""
    victim, out, _ = kill_worker_mid_run("aiohttp")
    errors = re.search(r"^requests / errors\s+[\d,]+\s+([\d,]+)$", out, re.MULTILINE)
    assert errors and int(errors.group(1).replace(",", "")) > 0, out
    assert re.search(rf"^{victim}\s+[\d,]+\s+[\d.]+%  died during the run$", out, re.MULTILINE), out
    assert re.search(rf"worker exited  pid {victim}  killed by SIGKILL$", out, re.MULTILINE), out
    assert "workers replaced by the master: 1" in out or "workers replaced by the master: 2" in out


def test_gunicorn_kills_a_worker_whose_loop_is_blocked() -> None:
    """A 5 s blocking handler under a 2 s timeout (set for this test only): WORKER TIMEOUT, for real.

    5 s, not 3: the arbiter looks only once a second, so a kill may come ~3 s after the last heartbeat."""
    run = start_run(
        *("--server", "gunicorn", "--workers", "1", "--endpoint", "io/blocking", "--ms", "5000"),
        *("--users", "2", "--warmup", "0", "--duration", "5", "--json"),
        env={GUNICORN_TIMEOUT_ENV: "2"},
    )
    out, _ = finish(run)
    r: dict[str, Any] = json.loads(out)
    kills = [e for e in r["events"] if e["kind"] == "worker_killed"]
    assert kills, r["events"]
    assert "WORKER TIMEOUT" in kills[0]["detail"] and "blocked for 2 s" in kills[0]["detail"]
    # SIGABRT follows (gunicorn's uvicorn worker keeps the default action), then a replacement.
    exit_codes = {e["pid"]: e["code"] for e in r["events"] if e["kind"] == "worker_exited"}
    assert exit_codes[kills[0]["pid"]] in (-signal.SIGABRT, -signal.SIGKILL)
    assert r["restarts"] >= 1
    assert r["measured"]["errors_by_kind"].get("disconnect", 0) > 0
    # the insight names the latest kill it saw; another may land between it and the settled events
    assert any(r["insights"][0].startswith(f"gunicorn killed worker {k['pid']}") for k in kills)
    assert "WORKER TIMEOUT" in r["insights"][0]
    # The prediction knew: one request outlasts the timeout, so none can finish.
    assert r["predicted"]["limit"] == "loop" and "WORKER TIMEOUT" in r["predicted"]["explanation"]
    assert r["predicted"]["throughput_rps"] == 0 and r["measured"]["requests"] == 0


def test_a_killed_load_generator_is_respawned_and_told() -> None:
    run = start_run(
        *("--workers", "1", "--endpoint", "io/async", "--ms", "20", "--users", "10"),
        *("--warmup", "0.5", "--duration", "5", "--json"),
    )
    try:
        load = child_running(run, "asgiscope.server.load.main")
        time.sleep(2.0)
        os.kill(load, signal.SIGKILL)
    except BaseException:
        run.kill()
        raise
    out, _ = finish(run)
    r: dict[str, Any] = json.loads(out)
    died = [e for e in r["events"] if e["kind"] == "load_died"]
    assert died and died[0]["pid"] == load and died[0]["code"] == -signal.SIGKILL
    assert died[0]["detail"] == "killed by SIGKILL"  # its start-up banner is no complaint
    respawned = [e for e in r["events"] if e["kind"] == "load_respawned"]
    assert respawned and respawned[0]["pid"] not in (0, load) and respawned[0]["t"] >= died[0]["t"]
    assert any(line.startswith("The load generator died (killed by SIGKILL)") for line in r["insights"])
    assert r["measured"]["requests"] > 0  # the new one carried on


def test_serve_says_how_its_master_died() -> None:
    with serve("--workers", "1") as run:
        os.kill(run.master, signal.SIGKILL)
        _, err = run.proc.communicate(timeout=30)
    master, workers = run.master, run.workers
    assert run.proc.returncode == 1
    said = err.strip().splitlines()
    assert said[-1] == (
        f"asgiscope serve: the server exited: master pid {master}, killed by SIGKILL, "
        "without a word on its output"
    ), err
    assert "stderr" not in err and "\n\n" not in err.strip()
    assert proctree.wait_gone(set(workers), 5.0) == set()


@pytest.mark.parametrize("code", [None, 0, 3, -9, -6, -99])
def test_exit_statuses_in_words(code: int | None) -> None:
    from asgiscope.server.launch.events import describe_exit

    words = {
        None: "exit status unknown",
        0: "exit code 0",
        3: "exit code 3",
        -9: "killed by SIGKILL",
        -6: "killed by SIGABRT",
        -99: "killed by signal 99",
    }
    assert describe_exit(code) == words[code]


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
async def test_a_worker_retired_by_scaling_down_is_no_death(server: ServerKind) -> None:
    lab = Lab(Scenario(server=server, workers=2), LoadSpec(endpoint="io/async", ms=20, users=10))
    async with lab:
        await lab.start_load()
        await asyncio.sleep(1.0)
        await lab.apply(Scenario(server=server, workers=1))
        await asyncio.sleep(1.0)
        snap = lab.snapshot()
    retired = [e for e in snap.events if e.kind == "worker_retired"]
    assert len(retired) == 1 and retired[0].detail.startswith("scaled down (")
    assert not any(e.failure for e in snap.events)
    assert not any("died" in line for line in snap.insights)
