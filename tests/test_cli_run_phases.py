"""``asgiscope run --at``: a worker added mid-run, real servers and real load, told phase by phase.

With connections renewed about every second (the default) the new worker gets its share; with
connections kept forever (wrk's model) it gets nothing, and the insight says why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Costs, predict

# CPU work: one worker serves ~190 req/s, two ~2x that on two cores (the issue's own example).
LOAD = ("--endpoint", "cpu/async", "--ms", "5", "--users", "8")


def run_scaling(connection: str) -> dict[str, Any]:
    # The new worker's own start (imports, ~0.6 s idle, seconds on a busy machine) is part of the
    # second phase: a long one leaves its share to what the connections do.
    args = ("--workers", "1", *LOAD, "--connection", connection, "--at", "2:workers=2")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "asgiscope.server.cli_run",
            *args,
            "--warmup",
            "1.5",
            "--duration",
            "9",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_with_the_default_churn_a_worker_added_live_serves_its_share() -> None:
    r = run_scaling("1s")
    before, after = r["phases"]
    assert (before["from_s"], before["change"]) == (0.0, {})
    assert after["change"] == {"workers": 2} and after["from_s"] == pytest.approx(2.0, abs=0.3)
    assert after["to_s"] > after["from_s"] + 5  # the Lab's ticks may run late on a busy machine
    (old,) = before["workers"]
    assert len(after["workers"]) == 2
    new = next(w for w in after["workers"] if w["pid"] != old["pid"])
    assert new["share"] >= 0.25, after["workers"]
    cores = os.cpu_count() or 1
    load = LoadSpec(endpoint="cpu/async", ms=5, users=8)
    # Each phase's prediction is the theory's for its scenario, with the cores others used then and
    # the Lab's costs at the speeds of then (all rounded in the JSON).
    for phase, workers in ((before, 1), (after, 2)):
        costs = Costs().at_speed(phase["cpu_speed"], phase["client_speed"])
        expected = predict(
            Scenario(workers=workers), load, cores=cores, costs=costs, others=phase["others_cores"]
        )
        assert phase["predicted_rps"] == pytest.approx(expected.throughput_rps, rel=3e-3)
    if cores >= 2 and after["others_cores"] < 0.5:
        assert after["predicted_rps"] > 1.5 * before["predicted_rps"]
    assert not any("served no requests" in line for line in r["insights"])


def test_with_connections_kept_forever_the_new_worker_gets_nothing_and_the_insight_says_why() -> None:
    r = run_scaling("forever")
    before, after = r["phases"]
    (old,) = before["workers"]
    new = [w for w in after["workers"] if w["pid"] != old["pid"]]
    assert len(new) == 1 and new[0]["requests"] == 0, after["workers"]
    said = " ".join(r["insights"])
    assert "served no requests: keep-alive connections stay with the worker that accepted them" in said
    assert "'forever'" in said
    below = [line for line in r["insights"] if line.startswith("Below prediction")]
    assert below == [line for line in below if "has no connections" in line and "GIL" not in line]
    assert "Uneven accept" not in said
