"""The speeds measured on the session's own processes (server/lab/costscale.py): pure logic, synthetic
counters generated from the theory's own account at known speeds."""

from __future__ import annotations

import pytest

from asgiscope.server.lab.costscale import BOUND, CostScale, scalable_share, solve
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Costs, demand_parts, outside_s, predict, request_cpu

SCENARIO = Scenario(workers=2)
HELLO = LoadSpec("hello", 0, users=200)


def feed(
    scale: CostScale,
    load: LoadSpec,
    rate: float,
    server_k: float,
    client_k: float,
    *,
    seconds: float = 6.0,
    scenario: Scenario = SCENARIO,
    base: Costs | None = None,
    t0: float = 0.0,
    pids: tuple[int, ...] = (11, 12),
) -> None:
    """Counters as they would read if every request cost what the theory says at these speeds."""
    base = base or Costs()
    waiting = max(0.0, load.users - rate * outside_s(load, base, scenario.workers))

    def parts(k: float) -> tuple[float, float, float]:
        costs = base.at_speed(k)
        return demand_parts(
            *request_cpu(scenario, load, costs, 2), costs.lab, scenario.workers, waiting, rate
        )

    server, client = parts(server_k)[0], parts(client_k)[1]
    steps = int(seconds / 0.5)
    for i in range(steps + 1):
        t = i * 0.5
        done = rate * t
        per_worker = done * server / len(pids)
        scale.sample(
            t0 + t,
            {pid: 100.0 + per_worker for pid in pids},
            {99: 50.0 + done * client},
            round(done),
            scenario=scenario,
            load=load,
            base=base,
            connects=0.0,
            cores=2,
        )


def test_solve_finds_the_factor_of_a_rising_cost() -> None:
    assert solve(lambda k: 3e-6 + 2e-6 * k, 3e-6 + 2e-6 * 1.37) == pytest.approx(1.37, rel=1e-6)


def test_speed_scales_the_whole_of_hello_and_little_of_a_cpu_bound_handler() -> None:
    def cost(load: LoadSpec):  # type: ignore[no-untyped-def]
        return lambda k: request_cpu(SCENARIO, load, Costs().at_speed(k), 2)[0].at(100.0)

    assert scalable_share(cost(HELLO)) == pytest.approx(1.0, abs=0.01)
    assert scalable_share(cost(LoadSpec("cpu/async", 20, users=8))) < 0.1


def test_the_speeds_the_counters_were_made_with_are_found() -> None:
    scale = CostScale()
    feed(scale, HELLO, 8000.0, 1.3, 0.8)
    assert scale.speeds is not None
    assert (scale.speeds.server, scale.speeds.client) == (pytest.approx(1.3), pytest.approx(0.8))
    costs = scale.costs(Costs())
    assert costs.measured and (costs.speed, costs.client_speed) == (pytest.approx(1.3), pytest.approx(0.8))
    # Dearer requests, fewer of them: the prediction follows the measured speed.
    slower = predict(SCENARIO, HELLO, cores=2, costs=costs)
    assert slower.costs_measured and slower.cpu_speed == pytest.approx(1.3)
    assert slower.throughput_rps < predict(SCENARIO, HELLO, cores=2).throughput_rps / 1.15


def test_nothing_is_measured_before_two_seconds_or_with_few_requests() -> None:
    scale = CostScale()
    feed(scale, HELLO, 8000.0, 1.3, 1.3, seconds=1.5)
    assert scale.speeds is None and scale.costs(Costs()) == Costs()
    feed(scale, HELLO, 40.0, 1.3, 1.3, seconds=6.0, t0=10.0)  # 240 requests in 6 s
    assert scale.speeds is None


def test_a_change_starts_a_new_window_but_keeps_the_speeds() -> None:
    scale = CostScale()
    feed(scale, HELLO, 8000.0, 1.2, 1.2)
    more = SCENARIO.with_changes(workers=4)
    scale.sample(100.0, {1: 0.0}, {2: 0.0}, 0, scenario=more, load=HELLO, base=Costs(), connects=0.0, cores=2)
    assert scale.speeds is not None and scale.speeds.server == pytest.approx(1.2)
    # The new window, at another speed: the median of the last windows moves to it.
    feed(scale, HELLO, 8000.0, 0.9, 0.9, scenario=more, t0=200.0, pids=(21, 22, 23, 24))
    assert scale.speeds.server == pytest.approx(0.9)


def test_a_cpu_bound_handler_leaves_the_servers_speed_as_calibrated() -> None:
    scale = CostScale()
    base = Costs().at_speed(1.1)
    feed(scale, LoadSpec("cpu/async", 20, users=8), 95.0, 1.6, 1.6, base=base)
    # and the client, at 95 req/s, uses far less than a quarter of a core: its speed is not told either
    assert scale.costs(base).speed == pytest.approx(1.1)


def test_a_factor_far_from_the_calibration_is_capped() -> None:
    scale = CostScale()
    feed(scale, HELLO, 8000.0, 3.0, 1.0)
    assert scale.speeds is not None and scale.speeds.server == pytest.approx(BOUND[1])


def test_a_side_that_uses_little_of_a_core_is_not_measured() -> None:
    # 500 req/s of /hello: the workers use ~0.1 core, where per-second work reads as dear requests
    scale = CostScale()
    feed(scale, HELLO, 500.0, 1.6, 1.6)
    assert scale.costs(Costs()).speed == 1.0
