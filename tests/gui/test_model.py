from __future__ import annotations

import pytest

from asgiscope.gui.model import (
    ENDPOINTS,
    Controls,
    controls_from,
    log_position,
    log_value,
    nice_round,
    workers_max,
)
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario, ScenarioError


@pytest.mark.parametrize(
    ("handler", "work", "endpoint"),
    [
        ("await", "io", "io/async"),
        ("threadpool", "io", "io/sync"),
        ("blocking", "io", "io/blocking"),
        ("await", "cpu", "cpu/async"),
        ("threadpool", "cpu", "cpu/sync"),
        ("blocking", "cpu", "cpu/async"),
    ],
)
def test_handler_and_work_pick_the_route(handler: str, work: str, endpoint: str) -> None:
    controls = Controls().with_changes(handler=handler, work=work)
    assert controls.endpoint == endpoint
    assert controls.load(running=False).endpoint == endpoint


def test_defaults_are_the_issue_defaults() -> None:
    c = Controls()
    assert c.scenario() == Scenario(server="uvicorn", workers=2)
    load = c.load(running=False)
    assert (load.endpoint, load.ms, load.users, load.mode) == ("io/async", 100, 100, "closed")


def test_scenario_and_load_fields() -> None:
    c = Controls(
        workers=4,
        users=300,
        rate=250.0,
        ms=20,
        tokens=8,
        server="gunicorn",
        loop="uvloop",
        http="httptools",
        socket="reuse_port",
        engine="httpx",
        mode="open",
    )
    assert c.scenario() == Scenario(
        server="gunicorn", workers=4, loop="uvloop", http="httptools", tokens=8, socket="reuse_port"
    )
    load = c.load(running=True, base=LoadSpec(max_in_flight=77))
    assert (load.users, load.rate, load.ms, load.engine, load.mode, load.running, load.max_in_flight) == (
        300,
        250.0,
        20,
        "httpx",
        "open",
        True,
        77,
    )


def test_leaving_gunicorn_resets_reuse_port() -> None:
    c = Controls(server="gunicorn", socket="reuse_port")
    assert c.socket_enabled
    back = c.with_changes(server="uvicorn")
    assert back.socket == "shared" and not back.socket_enabled
    assert back.scenario().socket == "shared"


def test_invalid_values_are_refused_by_the_scenario() -> None:
    with pytest.raises(ScenarioError, match="workers"):
        Controls(workers=0).scenario()


@pytest.mark.parametrize("endpoint", sorted({*ENDPOINTS.values(), "hello"}))
def test_controls_from_round_trips_the_route(endpoint: str) -> None:
    load = LoadSpec(endpoint=endpoint)  # type: ignore[arg-type]
    c = controls_from(Scenario(workers=3), load)
    assert c.workers == 3
    assert c.endpoint == ("io/async" if endpoint == "hello" else endpoint)


def test_controls_from_keeps_a_stored_handler_for_the_shared_cpu_route() -> None:
    load = LoadSpec(endpoint="cpu/async")
    assert controls_from(Scenario(), load, "await").handler == "await"
    assert controls_from(Scenario(), load).handler == "blocking"
    assert controls_from(Scenario(), load, "threadpool").handler == "blocking"  # would change the route


def test_log_slider_maps_ends_and_rounds() -> None:
    assert log_value(0, 1, 2000) == pytest.approx(1)
    assert log_value(1000, 1, 2000) == pytest.approx(2000)
    assert log_position(100, 1, 2000) == round(1000 * 2 / 3.30103)
    assert nice_round(log_value(log_position(100, 1, 2000), 1, 2000)) == 100
    assert nice_round(1487.0) == 1500
    assert nice_round(3.4) == 3
    assert workers_max(2) == 4
