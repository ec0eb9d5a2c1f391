"""CPU-bound handlers end to end through ``asgiscope run --json``: threads share one core under the GIL,
workers add cores, and each worker's thread CPU shows it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

RUN = [sys.executable, "-m", "asgiscope.server.cli_run"]
CPU_SYNC = ("--endpoint", "cpu/sync", "--ms", "20", "--users", "8")


def run_json(*args: str) -> dict:  # type: ignore[type-arg]
    proc = subprocess.run(
        [*RUN, *args, "--json", "--warmup", "1.5", "--duration", "4"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_def_handlers_on_one_worker_share_one_core_and_its_threads_show_it() -> None:
    r = run_json(*CPU_SYNC, "--workers", "1")
    # One core's worth is 50 req/s of 20 ms: 8 threads cannot beat it (spinning on the wall clock did:
    # 85 req/s). The margin is the prediction's own (~49) plus measurement noise, never the 85.
    assert r["predicted"]["throughput_rps"] <= 50
    assert 0 < r["measured"]["throughput_rps"] <= 52
    assert r["measured"]["errors"] == 0
    [worker] = r["workers"]
    threads = worker["threads"]
    assert {"tid", "cpu_percent"} <= set(threads[0]) and "cpu_percent" in worker
    # Several threads worked, yet together they got at most one core: the GIL lets one run at a time.
    working = [t for t in threads if t["cpu_percent"] >= 5]
    assert len(working) >= 3, threads
    assert sum(t["cpu_percent"] for t in threads) <= 105, threads
    assert any("threads are working" in line for line in r["insights"]), r["insights"]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_two_workers_go_beyond_one_core() -> None:
    one = run_json(*CPU_SYNC, "--workers", "1")["measured"]["throughput_rps"]
    two = run_json(*CPU_SYNC, "--workers", "2")
    # Predicted ~1.9x (the load generator takes a share of the two cores); other sessions on this
    # machine take some too: 1.3x still says a second process added a second core. When others hold
    # most of a core there is no second core to add: then the prediction must say so instead.
    others = two["predicted"]["others_cores"]
    if others < 0.5:
        assert two["measured"]["throughput_rps"] >= 1.3 * one
    else:
        assert "other processes use" in two["predicted"]["explanation"]
    assert two["measured"]["throughput_rps"] == pytest.approx(two["predicted"]["throughput_rps"], rel=0.3)
    assert len([w for w in two["workers"] if w["threads"]]) == 2
