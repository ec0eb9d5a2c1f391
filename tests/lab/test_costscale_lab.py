"""The speeds measured on a real server tree and load process (server/lab/costscale.py, end to end)."""

from __future__ import annotations

import asyncio
import os

import pytest

from asgiscope.server.lab.others import cpu_seconds
from asgiscope.server.lab.session import Lab
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Costs, demand_parts, outside_s, request_cpu


@pytest.mark.timeout(120)
def test_the_prediction_charges_what_the_workers_spend_per_request() -> None:
    scenario, load = Scenario(workers=2), LoadSpec("hello", 0, users=100)

    async def go() -> tuple[float, float, float, bool, str]:
        async with Lab(scenario, load) as lab:
            await lab.start_load()
            await asyncio.sleep(3.0)
            first = lab.snapshot()
            pids = [w.pid for w in first.workers]
            cpu0 = cpu_seconds(pids)
            await asyncio.sleep(4.0)
            last = lab.snapshot()
            assert last.prediction is not None
            done = last.requests - first.requests
            spent = (cpu_seconds(pids) - cpu0) / done
            p = last.prediction
            costs = Costs().at_speed(p.cpu_speed, p.client_speed)
            rate = done / (last.t - first.t)
            waiting = max(0.0, load.users - rate * outside_s(load, costs, scenario.workers))
            server, client = request_cpu(scenario, load, costs, 2)
            charged = demand_parts(server, client, costs.lab, 2, waiting, rate)[0]
            return spent, charged, p.cpu_speed, p.costs_measured, p.explanation

    spent, charged, speed, measured, why = asyncio.run(go())
    assert measured, "after 7 s of steady load the speeds are measured ones"
    assert "(as measured now)" in why
    # The meter's window (the last 4 s, a median of 5) and this test's (4 s) nearly coincide; the
    # worker CPU it charges per request is what the workers spent, within the windows' difference.
    assert charged == pytest.approx(spent, rel=0.15), (spent, charged, speed, os.getloadavg())
