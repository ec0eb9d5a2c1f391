import math

import pytest

from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import mva, predict


def test_async_io_is_users_over_service_time() -> None:
    p = predict(Scenario(workers=1), LoadSpec(endpoint="io/async", ms=100, users=100), cores=2)
    assert p.limit == "users"
    # N / S, less a little: the timer's lateness and the round trip add ~1 ms to each 100 ms
    assert p.throughput_rps == pytest.approx(1000, rel=0.02)
    assert p.throughput_rps < 1000
    assert p.latency_ms == pytest.approx(100, rel=0.02)


def test_threadpool_tokens_bind_sync_io() -> None:
    p = predict(Scenario(workers=1, tokens=8), LoadSpec(endpoint="io/sync", ms=100, users=100), cores=2)
    assert p.limit == "tokens"
    assert p.throughput_rps == pytest.approx(80, rel=0.01)
    # Little's law: 100 users in the system at 80 req/s → 1.25 s each
    assert p.latency_ms == pytest.approx(1250, rel=0.01)


def test_tokens_do_not_bind_when_users_are_fewer() -> None:
    p = predict(Scenario(workers=2, tokens=40), LoadSpec(endpoint="io/sync", ms=100, users=50), cores=2)
    assert p.limit == "users"
    assert p.throughput_rps == pytest.approx(500, rel=0.02)


def test_blocking_call_in_async_handler_binds_by_workers() -> None:
    p = predict(Scenario(workers=2), LoadSpec(endpoint="io/blocking", ms=100, users=100), cores=2)
    assert p.limit == "loop"
    assert p.throughput_rps == pytest.approx(20, rel=0.01)
    assert "blocks" in p.explanation


def test_cpu_work_is_capped_by_cores_not_threads() -> None:
    few = predict(Scenario(workers=1, tokens=1), LoadSpec(endpoint="cpu/sync", ms=10, users=50), cores=2)
    many = predict(Scenario(workers=1, tokens=200), LoadSpec(endpoint="cpu/sync", ms=10, users=50), cores=2)
    assert few.throughput_rps == pytest.approx(many.throughput_rps)
    assert few.throughput_rps < 100  # one process: at most one core of 10 ms requests
    four = predict(Scenario(workers=4), LoadSpec(endpoint="cpu/async", ms=10, users=50), cores=2)
    two = predict(Scenario(workers=2), LoadSpec(endpoint="cpu/async", ms=10, users=50), cores=2)
    assert four.limit == "cores"
    assert four.throughput_rps <= two.throughput_rps * 1.0001  # workers beyond cores add nothing
    assert 150 < two.throughput_rps < 200


def test_many_async_users_hit_the_cpu_ceiling() -> None:
    p = predict(Scenario(workers=2), LoadSpec(endpoint="io/async", ms=100, users=2000), cores=2)
    assert p.limit == "cores"
    assert p.throughput_rps < 20000
    assert p.latency_ms > 100  # queueing: Little's law


def test_open_loop_below_and_above_capacity() -> None:
    below = predict(Scenario(workers=2), LoadSpec(endpoint="io/async", ms=50, mode="open", rate=200), cores=2)
    assert below.limit == "rate" and below.throughput_rps == 200
    assert below.latency_ms == pytest.approx(50, rel=0.05)
    above = predict(
        Scenario(workers=1), LoadSpec(endpoint="io/blocking", ms=50, mode="open", rate=100), cores=2
    )
    assert above.limit == "loop" and above.throughput_rps == pytest.approx(20, rel=0.01)
    assert math.isinf(above.latency_ms)


def test_client_ceiling_binds_when_given() -> None:
    p = predict(Scenario(workers=2), LoadSpec(endpoint="hello", users=50), cores=2, client_ceiling_rps=1000.0)
    assert p.limit == "client" and p.throughput_rps == 1000


def test_a_slow_client_engine_is_predicted_to_bind() -> None:
    load = LoadSpec(endpoint="io/async", ms=100, users=2000)
    httpx = predict(Scenario(workers=4), load.with_changes(engine="httpx"), cores=2)
    raw = predict(Scenario(workers=4), load.with_changes(engine="raw"), cores=2)
    assert httpx.limit == "client" and httpx.throughput_rps < 1500
    assert raw.limit == "cores" and raw.throughput_rps > httpx.throughput_rps * 3


def test_mva_bends_below_both_asymptotes_near_the_knee() -> None:
    # think 100 ms, 1 ms of CPU on one core: asymptotes N/0.1 and 1000 req/s meet at N = 100
    assert mva(1, 0.1, 0.001, 1) == pytest.approx(1 / 0.101)
    knee = mva(100, 0.1, 0.001, 1)
    assert 800 < knee < 1000
    assert mva(1000, 0.1, 0.001, 1) == pytest.approx(1000, rel=0.001)
    # two cores: same demand, twice the ceiling
    assert mva(2000, 0.1, 0.001, 2) == pytest.approx(2000, rel=0.01)


def test_cpu_cost_of_the_parser_shows_in_the_ceiling() -> None:
    load = LoadSpec(endpoint="hello", users=200)
    h11 = predict(Scenario(workers=1, http="h11"), load, cores=2)
    fast = predict(Scenario(workers=1, http="httptools"), load, cores=2)
    assert h11.limit == fast.limit == "cores"
    assert fast.throughput_rps > h11.throughput_rps * 1.3


def test_connecting_costs_cpu_in_proportion_to_the_share_of_requests_that_connect() -> None:
    """/hello is CPU-bound: a connection per request costs ~90 µs of server CPU and ~70 µs of raw
    client CPU more per request; a 1 s life at a few ms of latency connects for well under 1 %."""
    base = LoadSpec(endpoint="hello", users=50)
    forever = predict(Scenario(workers=2), base.with_changes(connection="forever"), cores=2)
    second = predict(Scenario(workers=2), base.with_changes(connection="1s"), cores=2)
    each = predict(Scenario(workers=2), base.with_changes(connection="per-request"), cores=2)
    assert each.throughput_rps < forever.throughput_rps * 0.85
    assert second.throughput_rps == pytest.approx(forever.throughput_rps, rel=0.01)
    assert second.throughput_rps < forever.throughput_rps


def test_connecting_costs_nothing_visible_when_the_handler_waits() -> None:
    """100 users x 100 ms are bound by the users: connects move the CPU, not the throughput."""
    base = LoadSpec(endpoint="io/async", ms=100, users=100)
    forever = predict(Scenario(workers=1), base.with_changes(connection="forever"), cores=2)
    each = predict(Scenario(workers=1), base.with_changes(connection="per-request"), cores=2)
    assert each.throughput_rps == pytest.approx(forever.throughput_rps, rel=0.02)


def test_an_open_loop_past_capacity_still_gets_a_finite_prediction() -> None:
    load = LoadSpec(endpoint="hello", mode="open", rate=50_000.0)
    p = predict(Scenario(workers=1), load, cores=2)
    assert math.isfinite(p.throughput_rps) and p.throughput_rps < 50_000
