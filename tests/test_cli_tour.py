"""``asgiscope tour``: a short tour on real servers, its verdicts, and the exit codes 0 and 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asgiscope.server.cli_tour import failed_step, render_text, step_result
from asgiscope.server.tour import parse_tour

DATA = Path(__file__).parent / "data"


def tour(*args: str) -> tuple[int, dict[str, Any]]:
    cmd = [sys.executable, "-m", "asgiscope", "tour", "--json", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1) and proc.stdout, proc.stderr[-3000:]
    return proc.returncode, json.loads(proc.stdout)


def test_a_short_fastapi_tour_bears_out_every_claim() -> None:
    code, r = tour("--tour", str(DATA / "short_tour.toml"))
    assert [s["title"] for s in r["steps"]] == ["async def overlaps waits", "A blocking call stops the loop"]
    overlap, blocked = r["steps"]
    for s in r["steps"]:
        assert s["scenario"]["workers"] == 1 and s["measured"]["errors"] == 0
        (phase,) = s["phases"]
        assert phase["verdict"]["explanation"] == ""  # a phase's own verdict; the step says why below
        assert s["predicted"]["explanation"]
    assert overlap["load"]["endpoint"] == "io/async" and blocked["load"]["endpoint"] == "io/blocking"
    # the bounds themselves: 20 users / 100 ms, 1 worker / 100 ms
    assert overlap["predicted"]["throughput_rps"] == pytest.approx(200, rel=0.05)
    assert blocked["predicted"]["throughput_rps"] == pytest.approx(10, rel=0.05)
    assert blocked["measured"]["p50_ms"] > 5 * overlap["measured"]["p50_ms"]  # 10 queue behind one loop
    verdicts = [s["phases"][0]["verdict"] for s in r["steps"]]
    assert all(v["within"] for v in verdicts), verdicts
    assert (code, r["all_within"]) == (0, True)
    text = render_text(r)
    assert "2 of 2 steps within 10% of their prediction" in text
    assert "claim     One loop overlaps every wait" in text and "MISSED" not in text


def test_a_claim_the_machine_does_not_bear_out_exits_1() -> None:
    code, r = tour("--tour", str(DATA / "pinned_tour.toml"))
    (s,) = r["steps"]
    before, after = s["phases"]
    assert before["change"] == {} and after["change"] == {"workers": 2}
    assert after["from_s"] >= 2.9  # judged after the warm-up
    # the new worker never gets a connection: throughput stays at one loop's while theory counts two
    assert after["verdict"]["within"] is False and after["verdict"]["error_percent"] < -10
    assert (code, r["all_within"], s["within"]) == (1, False, False)
    assert "MISSED" in render_text(r)


def test_a_step_is_judged_on_every_phase_long_enough_and_a_step_that_could_not_run_is_told() -> None:
    tour = parse_tour((DATA / "short_tour.toml").read_text(), "short")
    step = tour.steps[0]

    def ph(from_s: float, to_s: float, measured: float, predicted: float) -> dict[str, Any]:
        return {
            "from_s": from_s,
            "to_s": to_s,
            "change": {},
            "measured_rps": measured,
            "predicted_rps": predicted,
        }

    run = {
        "scenario": step.scenario.to_dict(),
        "load": {"endpoint": "io/async", "ms": 100, "users": 20},
        "measured": {"throughput_rps": 190.0, "latency_ms": {"p50": 101.0, "p99": 110.0}, "errors": 0},
        "predicted": {"throughput_rps": 197.0, "latency_ms": 101.0, "limit": "users", "explanation": "why"},
        "insights": [],
    }
    held = step_result(step, {**run, "phases": [ph(0, 4, 190, 197), ph(4, 4.5, 10, 197)]})
    assert held["within"] and held["phases"][1]["verdict"] is None  # half a second: not judged
    missed = step_result(step, {**run, "phases": [ph(0, 2, 190, 197), ph(3, 6, 150, 197)]})
    assert not missed["within"] and missed["phases"][1]["verdict"]["error_percent"] == pytest.approx(-23.86)
    unjudged = step_result(step, {**run, "phases": [ph(0, 0.5, 190, 197)]})
    assert not unjudged["within"]
    failed = failed_step(tour.steps[1], "the server did not start: no such worker class")
    text = render_text({"tour": "T", "source": "s", "steps": [held, failed]})
    assert "COULD NOT RUN" in text and "the server did not start: no such worker class" in text
    assert "1 of 2 steps within 10% of their prediction" in text
