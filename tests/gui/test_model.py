from __future__ import annotations

from typing import Any, get_args, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asgiscope.gui.model import (
    CHOICE_KINDS,
    ENDPOINTS,
    Controls,
    Ranges,
    as_load_processes,
    controls_from,
    fit_load_processes,
    load_process_options,
    log_position,
    log_value,
    nice_round,
    options,
    workers_max,
)
from asgiscope.server.limits import WORKERS, NotAllowedError
from asgiscope.server.load.spec import Connection, LoadSpec
from asgiscope.server.scenario import Scenario, endpoint_refusal

CORES = (1, 2, 24, 64)


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
    with pytest.raises(NotAllowedError, match="workers"):
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
    assert workers_max(2) == WORKERS.hi


@pytest.mark.parametrize("cores", [1, 2, 8, 64])
def test_the_workers_slider_offers_what_the_server_accepts_on_any_machine(cores: int) -> None:
    assert workers_max(cores) == WORKERS.hi == Ranges.for_cores(cores).workers.hi
    assert Ranges.for_cores(cores).workers.lo == WORKERS.lo


def test_each_choice_offers_exactly_the_words_of_its_literal() -> None:
    hints = get_type_hints(Controls)
    # load_processes is a count or "auto": its words depend on the cores (the test below)
    literal_fields = {name for name, kind in hints.items() if get_args(kind)} - {"load_processes"}
    assert set(CHOICE_KINDS) == literal_fields
    for name in CHOICE_KINDS:
        assert [value for value, _label in options(name)] == list(get_args(hints[name]))


@pytest.mark.parametrize("cores", CORES)
def test_every_slider_position_is_a_value_the_server_accepts(cores: int) -> None:
    """Exhaustive: each position of each slider, alone, goes into Scenario / LoadSpec."""
    ranges = Ranges.for_cores(cores)
    for name, scale in ranges.scales().items():
        lo, hi = scale.positions
        for position in range(lo, hi + 1):
            value = Ranges.control_value(name, scale.value(position))
            controls = Controls().with_changes(**{name: value})
            controls.scenario()
            controls.load(running=True)
            assert scale.lo <= value <= scale.hi
            assert scale.position(value) == position or scale.log  # log positions share rounded values


def producible(cores: int) -> st.SearchStrategy[Controls]:
    """Every Controls the panel can reach on ``cores`` cores: a sequence of slider moves and clicks."""
    ranges = Ranges.for_cores(cores)
    moves: list[st.SearchStrategy[tuple[str, Any]]] = [
        st.integers(*scale.positions).map(
            lambda p, name=name, scale=scale: (name, Ranges.control_value(name, scale.value(p)))
        )
        for name, scale in ranges.scales().items()
    ]
    moves += [
        st.sampled_from([value for value, _label in options(name)]).map(lambda v, name=name: (name, v))
        for name in CHOICE_KINDS
    ]

    def play(steps: list[tuple[str, Any]]) -> Controls:
        controls = Controls()
        for name, value in steps:
            if name == "socket" and not controls.socket_enabled:
                continue  # greyed out in the panel: it cannot be clicked
            if value in controls.refused().get(name, {}):
                continue  # this option is greyed out
            controls = controls.with_changes(**{name: value})
        return controls

    return st.lists(st.one_of(moves), max_size=30).map(play)


@pytest.mark.parametrize("cores", CORES)
def test_every_control_combination_the_panel_can_produce_is_accepted(cores: int) -> None:
    @settings(max_examples=300, deadline=None)
    @given(producible(cores), st.booleans())
    def check(controls: Controls, running: bool) -> None:
        scenario = controls.scenario()
        load = controls.load(running=running)
        assert endpoint_refusal(scenario, load.endpoint) is None
        assert Scenario.from_json(scenario.to_json()) == scenario
        assert LoadSpec.from_json(load.to_json()) == load
        # and what the Lab runs reads back as the same panel
        assert controls_from(scenario, load, controls.handler) == controls.with_changes(
            socket=scenario.socket
        )

    check()


@pytest.mark.parametrize("cores", CORES)
def test_stored_values_past_a_slider_are_brought_inside_it(cores: int) -> None:
    ranges = Ranges.for_cores(cores)
    big = controls_from(Scenario(workers=32, tokens=1000), LoadSpec(users=10_000, rate=100_000.0, ms=10_000))
    fitted = ranges.fit(big)
    for name, scale in ranges.scales().items():
        assert getattr(fitted, name) == scale.hi
    fitted.scenario()
    fitted.load(running=True)


def test_the_connection_control_offers_every_kind_the_load_takes_and_round_trips() -> None:
    assert [word for word, _ in options("connection")] == list(get_args(Connection))
    assert Controls().load(running=False).connection == LoadSpec().connection == "1s"
    for kind in get_args(Connection):
        load = Controls(connection=kind).load(running=False)
        assert load.connection == kind
        assert controls_from(Scenario(), load).connection == kind


def test_reuse_port_asked_for_with_uvicorn_is_refused_not_rewritten() -> None:
    asked = Controls().with_changes(server="uvicorn", socket="reuse_port")
    assert asked.socket == "reuse_port"
    with pytest.raises(NotAllowedError, match="reuse_port needs gunicorn"):
        asked.scenario()


def test_choosing_flask_moves_server_worker_class_and_handler_to_ones_that_work() -> None:
    c = Controls(handler="await").with_changes(framework="flask")
    assert (c.server, c.worker_class, c.handler) == ("gunicorn", "sync", "threadpool")
    assert c.scenario().wsgi and c.load(running=False).endpoint == "io/sync"
    back = c.with_changes(framework="fastapi")
    assert (back.server, back.worker_class) == ("gunicorn", "uvicorn")
    django = Controls(server="gunicorn", framework="django").with_changes(worker_class="gthread")
    assert django.scenario().worker_class == "gthread" and django.handler == "threadpool"
    assert django.with_changes(server="uvicorn").worker_class == "uvicorn"


def test_refused_options_carry_the_servers_own_sentence() -> None:
    flask = Controls().with_changes(framework="flask")
    refused = flask.refused()
    assert set(refused["server"]) == {"uvicorn"} and "Flask is WSGI" in refused["server"]["uvicorn"]
    assert set(refused["worker_class"]) == {"uvicorn"}
    assert set(refused["handler"]) == {"await", "blocking"}
    assert "under WSGI" in refused["handler"]["await"]
    fastapi = Controls().refused()
    assert fastapi["server"] == {} and fastapi["handler"] == {}
    assert set(fastapi["worker_class"]) == {"sync", "gthread"}
    assert "gunicorn's workers" in fastapi["worker_class"]["sync"]
    django = Controls(server="gunicorn", framework="django").refused()
    assert django == {"server": {}, "worker_class": {}, "handler": {}}


@pytest.mark.parametrize("cores", CORES)
def test_the_load_processes_control_offers_auto_and_up_to_the_cores(cores: int) -> None:
    words = [word for word, _label in load_process_options(cores)]
    assert words == ["auto", *(str(k) for k in range(1, min(cores, 32) + 1))]
    for word in words:  # each is a value LoadSpec takes, and it reaches the load
        c = Controls(load_processes=as_load_processes(word))
        assert c.load(running=False).load_processes == as_load_processes(word)
        assert controls_from(c.scenario(), c.load(running=False)).load_processes == c.load_processes
    assert fit_load_processes(64, cores) == min(cores, 32) and fit_load_processes("auto", cores) == "auto"
