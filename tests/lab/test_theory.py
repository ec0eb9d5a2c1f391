import math
from dataclasses import replace

import pytest

from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Costs, Cpu, mva, outside_s, predict, timer_lateness_s


def test_async_io_is_users_over_service_time() -> None:
    p = predict(Scenario(workers=1), LoadSpec(endpoint="io/async", ms=100, users=100), cores=2)
    assert p.limit == "users"
    # N / S, less a little: the timer's lateness in a loop serving 100 connections (~3 ms; 2.6 ms
    # measured, 969 req/s) and the round trip add to each 100 ms
    assert p.throughput_rps == pytest.approx(1000, rel=0.05)
    assert p.throughput_rps < 1000
    assert p.latency_ms == pytest.approx(100, rel=0.05)


def test_a_timer_ends_later_the_more_connections_its_loop_serves_and_the_longer_it_sleeps() -> None:
    c = Costs()
    # bench/loop_wait.py's medians of 3 runs, (connections per worker, sleep s): needed lateness, ms.
    medians = {
        (1, 0.001): 0.09, (2, 0.001): 0.32, (5, 0.001): 0.89, (10, 0.001): 1.42,
        (1, 0.005): 0.56, (2, 0.005): 0.61, (5, 0.005): 1.38, (10, 0.005): 1.61, (25, 0.005): 2.21,
        (1, 0.020): 1.47, (2, 0.020): 1.67, (5, 0.020): 1.91, (10, 0.020): 2.13, (25, 0.020): 1.81,
    }  # fmt: skip
    for (n, sleep), ms in medians.items():
        assert timer_lateness_s(c, n, sleep) * 1e3 == pytest.approx(ms, abs=0.55), (n, sleep)
    # Later with more connections, and with a longer sleep.
    assert timer_lateness_s(c, 1, 0.005) < timer_lateness_s(c, 2, 0.005) < timer_lateness_s(c, 25, 0.005)
    assert timer_lateness_s(c, 2, 0.001) < timer_lateness_s(c, 2, 0.005) < timer_lateness_s(c, 2, 0.020)
    slow, fast = (LoadSpec(endpoint="io/async", ms=ms, users=10) for ms in (20, 1))
    assert 0.019 < outside_s(slow, c, 2) - outside_s(fast, c, 2) < 0.020
    # Twice the workers, half the connections each: less late.
    assert outside_s(slow, c, 4) < outside_s(slow, c, 2)
    # time.sleep in a thread and a handler with no sleep are not late at all.
    threaded = LoadSpec(endpoint="io/sync", ms=20, users=10)
    assert outside_s(threaded, c, 2) == pytest.approx(0.020 + c.round_trip_s)
    assert outside_s(LoadSpec(endpoint="hello", users=10), c, 2) == pytest.approx(c.round_trip_s)


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
    # Workers beyond cores add nothing (4 workers hold fewer connections each: a hair cheaper per request)
    assert four.throughput_rps <= two.throughput_rps * 1.01
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
    costs = hand_costs(client={"raw": Cpu(30e-6), "aiohttp": Cpu(90e-6), "httpx": Cpu(500e-6, 300e-6)})
    httpx = predict(Scenario(workers=4), load.with_changes(engine="httpx"), cores=2, costs=costs)
    raw = predict(Scenario(workers=4), load.with_changes(engine="raw"), cores=2, costs=costs)
    # The load process saturates when it never sleeps: at 1 / busy, not 1 / (busy + wake).
    assert httpx.limit == "client" and httpx.throughput_rps == pytest.approx(2000)
    assert raw.limit == "cores" and raw.throughput_rps > httpx.throughput_rps * 3


def hand_costs(**changes: object) -> Costs:
    """Round numbers: 100 µs per request in a worker, 50 in the load process, none in the Lab, and
    connects free and open connections costless (both have tests of their own)."""
    base = Costs(
        server={"h11": Cpu(100e-6), "httptools": Cpu(60e-6)},
        endpoint=dict.fromkeys(
            ("hello", "io/async", "io/sync", "io/blocking", "cpu/async", "cpu/sync"), Cpu(0.0)
        ),
        client={"raw": Cpu(50e-6), "aiohttp": Cpu(90e-6), "httpx": Cpu(500e-6)},
        open_loop_extra=Cpu(0.0),
        lab=Cpu(0.0),
        connect_server_s=0.0,
        connect_client=dict.fromkeys(("raw", "aiohttp", "httpx"), 0.0),
        conn_growth=0.0,
        proc_growth=0.0,
        proc_growth_client=0.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_cpu_per_request_falls_from_busy_plus_wake_to_busy_as_the_rate_rises() -> None:
    cpu = Cpu(busy=100e-6, wake=50e-6)
    assert cpu.at(0.0) == cpu.queued(0.0) == pytest.approx(150e-6)  # every request wakes the process
    assert cpu.queued(1.0) == pytest.approx(125e-6)  # one waiting: half the requests find it awake
    assert cpu.queued(1e6) == pytest.approx(100e-6, rel=1e-3)
    rates = [0.0, 1000.0, 3000.0, 6000.0, 10_000.0]
    costs = [cpu.at(x) for x in rates]
    assert costs == sorted(costs, reverse=True)
    assert cpu.at(10_000.0) == pytest.approx(100e-6)  # at 1 / busy it never sleeps: busy alone
    assert Cpu(100e-6).at(5000.0) == 100e-6  # no wake part: the same at every rate
    assert cpu + Cpu(10e-6, 5e-6) == Cpu(110e-6, 55e-6)


def test_the_cores_bound_with_hand_given_costs() -> None:
    # 2 workers x 100 µs + 50 µs in the load process: 150 µs of CPU per request on 2 cores.
    p = predict(Scenario(workers=2), LoadSpec(endpoint="hello", users=2000), cores=2, costs=hand_costs())
    assert p.limit == "cores"
    assert p.throughput_rps == pytest.approx(2 / 150e-6, rel=0.01)
    assert p.latency_ms == pytest.approx(2000 / (2 / 150e-6) * 1000, rel=0.01)


def test_the_wake_part_lowers_a_few_users_rate_but_not_the_saturated_one() -> None:
    load = LoadSpec(endpoint="hello", users=1)
    plain = hand_costs()
    waking = hand_costs(server={"h11": Cpu(100e-6, 100e-6), "httptools": Cpu(60e-6)})
    one, one_waking = (predict(Scenario(workers=2), load, cores=2, costs=c) for c in (plain, waking))
    # One user: every request wakes the worker: 100 µs more than 0.15 ms round trip + 150 µs of CPU.
    assert one.throughput_rps == pytest.approx(1 / (0.15e-3 + 150e-6))
    assert one_waking.throughput_rps == pytest.approx(1 / (0.15e-3 + 250e-6))
    many = load.with_changes(users=2000)
    sat, sat_waking = (predict(Scenario(workers=2), many, cores=2, costs=c) for c in (plain, waking))
    # 2,000 users keep every process busy: the wake-ups are shared by so many requests they vanish.
    assert sat_waking.throughput_rps == pytest.approx(sat.throughput_rps, rel=0.03)
    assert sat_waking.throughput_rps < sat.throughput_rps


def test_a_machine_twice_as_fast_predicts_twice_the_cpu_bound_rate() -> None:
    load = LoadSpec(endpoint="hello", users=2000)
    here = predict(Scenario(workers=2), load, cores=2, costs=hand_costs())
    fast = predict(Scenario(workers=2), load, cores=2, costs=hand_costs().at_speed(0.5))
    assert fast.throughput_rps == pytest.approx(2 * here.throughput_rps, rel=0.01)
    assert (here.cpu_speed, fast.cpu_speed) == (1.0, 0.5)
    # Scaling is from the reference, not compounded: back to 1.0 is where it started.
    assert hand_costs().at_speed(0.5).at_speed(1.0) == hand_costs()


def test_handler_time_is_not_scaled_by_the_machine_speed() -> None:
    # I/O waits are wall time: a faster CPU leaves 100 users x 100 ms at ~1,000 req/s.
    load = LoadSpec(endpoint="io/async", ms=100, users=100)
    fast = predict(Scenario(workers=1), load, cores=2, costs=Costs().at_speed(0.5))
    slow = predict(Scenario(workers=1), load, cores=2, costs=Costs().at_speed(2.0))
    assert fast.limit == "users" and fast.throughput_rps == pytest.approx(1000, rel=0.05)
    assert fast.throughput_rps == pytest.approx(slow.throughput_rps, rel=0.01)


def test_mva_bends_below_both_asymptotes_near_the_knee() -> None:
    # think 100 ms, 1 ms of CPU on one core: asymptotes N/0.1 and 1000 req/s meet at N = 100
    assert mva(1, 0.1, 0.001, 1) == pytest.approx(1 / 0.101)
    knee = mva(100, 0.1, 0.001, 1)
    assert 800 < knee < 1000
    assert mva(1000, 0.1, 0.001, 1) == pytest.approx(1000, rel=0.001)
    # two cores: same demand, twice the ceiling
    assert mva(2000, 0.1, 0.001, 2) == pytest.approx(2000, rel=0.01)


def test_mva_of_several_servers_is_exact() -> None:
    # The machine-repairman model (N users thinking Z, c servers of demand D) solved as a birth-death
    # chain: the throughput MVA must give, where Seidmann's approximation queued requests that never wait.
    def repairman(users: int, think: float, demand: float, c: int) -> float:
        weights, w = [1.0], 1.0
        for k in range(1, users + 1):
            w *= (users - k + 1) / think * demand / min(k, c)
            weights.append(w)
        return sum(wk * min(k, c) / demand for k, wk in enumerate(weights)) / sum(weights)

    for users, think, demand, c in (
        (2, 0.0002, 0.02, 2),
        (3, 0.0002, 0.02, 2),
        (5, 0.05, 0.02, 2),
        (40, 0.1, 0.01, 4),
    ):
        assert mva(users, think, demand, c) == pytest.approx(repairman(users, think, demand, c), rel=1e-9)
    assert mva(2, 0.0002, 0.02, 2) == pytest.approx(2 / 0.0202)  # each of 2 users has a server of its own


def test_cpu_bound_throughput_is_min_of_workers_cores_users_over_s() -> None:
    s = 0.020
    for workers, users, k in ((1, 8, 1), (2, 8, 2), (4, 8, 2), (2, 1, 1), (2, 2, 2), (4, 3, 2)):
        for endpoint in ("cpu/sync", "cpu/async"):
            p = predict(Scenario(workers=workers), LoadSpec(endpoint=endpoint, ms=20, users=users), cores=2)
            # below k / S only by what a request costs outside the handler (~1-1.5 ms: CPU, round trip)
            assert 0.9 * k / s <= p.throughput_rps <= k / s, (endpoint, workers, users)


def test_mva_with_a_demand_that_falls_with_throughput_reaches_the_lower_demands_ceiling() -> None:
    # 2 ms per request when idle, 1 ms when busy: the ceiling is set by the busy demand.
    cpu = Cpu(busy=0.001, wake=0.001)

    def demand(waiting: float, _rate: float) -> float:
        return cpu.queued(waiting)

    assert mva(1, 0.1, 0.002, 1, demand_at=demand) == pytest.approx(1 / 0.102)
    assert mva(2000, 0.1, 0.002, 1, demand_at=demand) == pytest.approx(1000, rel=0.02)


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


def test_open_connections_make_requests_dearer() -> None:
    crowded = hand_costs(conn_growth=1.0, conn_half=100.0)
    assert crowded.crowded(0) == 1.0 and crowded.crowded(100) == pytest.approx(1.5)
    load = LoadSpec(endpoint="hello", users=2000)
    few = predict(Scenario(workers=2), load.with_changes(users=200), cores=2, costs=crowded)
    many = predict(Scenario(workers=2), load, cores=2, costs=crowded)
    assert many.limit == few.limit == "cores"
    # 1,000 connections per worker vs 100: (100 x 1.5 + 50 x 1.67) / (100 x 1.91 + 50 x 1.95) = 0.81
    assert many.throughput_rps == pytest.approx(few.throughput_rps * 0.81, rel=0.02)


def test_other_processes_take_cores_from_the_prediction() -> None:
    load = LoadSpec(endpoint="hello", users=200)
    alone = predict(Scenario(workers=2), load, cores=2, costs=hand_costs())
    shared = predict(Scenario(workers=2), load, cores=2, costs=hand_costs(), others=0.5)
    assert shared.throughput_rps == pytest.approx(alone.throughput_rps * 1.5 / 2, rel=0.02)
    assert "other processes use 0.5 of the 2 cores" in shared.explanation
    # However busy the machine, the prediction never drops to nothing
    assert predict(Scenario(workers=2), load, cores=2, costs=hand_costs(), others=5.0).throughput_rps > 0


def test_more_workers_than_cores_make_every_request_dearer() -> None:
    costs = hand_costs(proc_growth=3.0, proc_growth_client=1.0, proc_half=1.0)
    assert costs.oversubscribed(1, 2) == costs.oversubscribed(2, 2) == 1.0  # a core each: no change
    assert costs.oversubscribed(4, 2) == pytest.approx(2.5)  # x = 1: 1 + 3 x 1 / 2
    assert costs.oversubscribed(4, 2, costs.proc_growth_client) == pytest.approx(1.5)
    load = LoadSpec(endpoint="hello", users=200)
    two = predict(Scenario(workers=2), load, cores=2, costs=costs)
    eight = predict(Scenario(workers=8), load, cores=2, costs=costs)
    assert two.limit == eight.limit == "cores"
    # x = 3: workers 100 x 3.25, the client 50 x 1.75: 412.5 µs a request against 150 on the 2 cores
    assert eight.throughput_rps == pytest.approx(two.throughput_rps * 150 / 412.5, rel=0.02)
    assert eight.server_cpu_s == pytest.approx(325e-6)
    assert "8 workers take turns on them: 3.2x the CPU per request of one per core" in eight.explanation
    assert "take turns" not in two.explanation
    # Without the term, workers past the cores change nothing here (the cores bound either way).
    flat = predict(Scenario(workers=8), load, cores=2, costs=hand_costs())
    assert flat.throughput_rps == pytest.approx(two.throughput_rps, rel=0.02)


def test_uvloop_makes_many_connections_cheaper_not_one() -> None:
    costs = hand_costs(conn_growth=1.0, conn_half=100.0)
    assert costs.crowded(0, "uvloop") == costs.crowded(0, "asyncio") == 1.0
    assert costs.crowded(100, "uvloop") < costs.crowded(100, "asyncio")
    load = LoadSpec(endpoint="io/async", ms=5, users=1000)
    asyncio_ = predict(Scenario(workers=1), load, cores=2, costs=costs)
    uvloop = predict(Scenario(workers=1, loop="uvloop"), load, cores=2, costs=costs)
    assert uvloop.throughput_rps > asyncio_.throughput_rps * 1.2


def test_gunicorn_sync_workers_serve_one_request_at_a_time_and_connect_for_each() -> None:
    sync = Scenario(server="gunicorn", framework="flask", worker_class="sync", workers=2)
    p = predict(sync, LoadSpec(endpoint="io/sync", ms=100, users=100), cores=2)
    assert p.limit == "workers"
    assert p.throughput_rps == pytest.approx(20, rel=0.02)  # min(N, W) / S
    # The same load at /hello: every request pays a connect, so the ceiling is lower than keep-alive's.
    hello = LoadSpec(endpoint="hello", users=50, connection="forever")
    gthread = replace(sync, worker_class="gthread")
    assert predict(sync, hello, cores=2).throughput_rps < predict(gthread, hello, cores=2).throughput_rps


def test_gthread_workers_are_bound_by_workers_times_threads() -> None:
    s = Scenario(server="gunicorn", framework="django", worker_class="gthread", workers=2, tokens=5)
    p = predict(s, LoadSpec(endpoint="io/sync", ms=100, users=100), cores=2)
    assert p.limit == "tokens"
    assert p.throughput_rps == pytest.approx(100, rel=0.02)  # min(N, W * T) / S


def test_each_framework_costs_its_own_cpu_per_request() -> None:
    hello = LoadSpec(endpoint="hello", users=50)
    fastapi = predict(Scenario(workers=1), hello, cores=2)
    flask = predict(
        Scenario(workers=1, server="gunicorn", framework="flask", worker_class="gthread"), hello, cores=2
    )
    django_asgi = predict(Scenario(workers=1, framework="django"), hello, cores=2)
    # Measured here: Flask 2-2.5x FastAPI's CPU per request at /hello, Django under ASGI 7-9x.
    assert fastapi.server_cpu_s * 1.5 < flask.server_cpu_s < fastapi.server_cpu_s * 3
    assert django_asgi.server_cpu_s > fastapi.server_cpu_s * 5
    assert django_asgi.throughput_rps < flask.throughput_rps < fastapi.throughput_rps
