"""The insight bar's judgement from hand-made figures: what is said, and what is not."""

from __future__ import annotations

from dataclasses import replace

from asgiscope.server.lab.insight import Figures, client_bound, insights, telemetry_warning
from asgiscope.server.lab.snapshot import WorkerStats
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.theory import Prediction

PREDICTED = Prediction(1000.0, 100.0, "users", "100 users each wait 100 ms")
EVEN = (WorkerStats(pid=1, share=0.5), WorkerStats(pid=2, share=0.5))


def figures(**changes: object) -> Figures:
    base = Figures(
        load=LoadSpec(endpoint="io/async", ms=100, users=100),
        load_running=True,
        client_rps=980.0,
        server_rps=980.0,
        sent_rps=980.0,
        client_cpu_percent=30.0,
        client_wait_percent=5.0,
        overflow=0,
        prediction=PREDICTED,
        workers=EVEN,
        warm=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def say(f: Figures) -> tuple[str, ...]:
    return insights(f, client_bound(f))


def test_no_load_says_so_and_what_to_expect() -> None:
    assert say(figures(load_running=False)) == (
        "No load is being sent.",
        "Predicted when on: 100 users each wait 100 ms.",
    )


def test_on_target_is_one_line_of_measured_against_predicted() -> None:
    assert say(figures()) == (
        "Last 1 s: measured 980 req/s vs predicted 1,000 (98%). Limit: 100 users each wait 100 ms.",
    )


def test_before_one_window_has_passed_it_only_warms_up() -> None:
    f = figures(warm=False, client_rps=10.0, client_cpu_percent=99.0)
    assert client_bound(f) is None  # rates of a half-filled window prove nothing
    assert say(f) == ("Warming up... predicted 100 users each wait 100 ms.",)


def test_well_below_prediction_says_why_by_endpoint() -> None:
    lines = say(figures(client_rps=500.0, load=LoadSpec(endpoint="cpu/sync", ms=10, users=100)))
    assert lines[0].startswith("Last 1 s: measured 500 req/s vs predicted 1,000 (50%)")
    assert "GIL" in lines[1]


def test_below_prediction_for_no_named_reason_says_what_was_measured() -> None:
    predicted = Prediction(8000.0, 25.0, "cores", "cores", others_cores=0.3, server_cpu_s=150e-6, cores=2)
    busy = (WorkerStats(pid=1, share=0.5, cpu_percent=65.0), WorkerStats(pid=2, share=0.5, cpu_percent=65.0))
    full = figures(
        client_rps=5000.0,
        server_rps=5000.0,
        prediction=predicted,
        workers=busy,
        load=LoadSpec("hello", users=1000),
    )
    assert say(full)[1] == (
        "Below prediction: the 2 cores are full (workers 1.3, load generator 0.3, other processes 0.3) "
        "and each request took 260 µs of worker CPU against 150 µs predicted."
    )
    # With the speeds measured on the workers the prediction charges what they spend: the line says
    # how much dearer that is than the fitted costs instead of comparing a figure with itself.
    measured = replace(predicted, cpu_speed=1.3, costs_measured=True, server_cpu_s=255e-6)
    assert say(replace(full, prediction=measured))[1].endswith(
        "and each request took 260 µs of worker CPU (1.30x the theory's fitted costs, as measured now)."
    )
    lagging = (WorkerStats(pid=7, share=1.0, cpu_percent=20.0, loop_lag_ms=120.0),)
    stuck = figures(client_rps=500.0, server_rps=500.0, prediction=predicted, workers=lagging)
    assert "worker 7's event loop ran 120 ms late" in say(stuck)[1]
    idle = figures(client_rps=500.0, server_rps=500.0, prediction=predicted)
    assert say(idle)[1].startswith("Below prediction with cores to spare (workers 0.0, load generator 0.3)")


def test_below_prediction_with_more_workers_than_cores_names_the_turns_they_take() -> None:
    predicted = Prediction(8000.0, 25.0, "cores", "cores", others_cores=0.1, server_cpu_s=300e-6, cores=2)
    # 16 workers share 1.5 cores and are each preempted 250 times a second at 4,000 req/s: 1 per request
    crowd = tuple(
        WorkerStats(pid=i, share=1 / 16, cpu_percent=9.375, preempted_per_s=250.0) for i in range(1, 17)
    )
    f = figures(
        client_rps=4000.0,
        server_rps=4000.0,
        prediction=predicted,
        workers=crowd,
        client_cpu_percent=30.0,
        gui_cpu_percent=20.0,
        load=LoadSpec("hello", users=200),
    )
    assert say(f)[1] == (
        "Below prediction: too many processes for the cores: 16 workers take turns on 2 cores, all busy "
        "(workers 1.5, load generator 0.3, this app 0.2, other processes 0.1). The workers were preempted "
        "1.0 times per request, and each turn starts on caches the others filled: each request took 375 µs "
        "of worker CPU against 300 µs predicted. One worker per core would serve more."
    )
    # As many workers as cores: the cores are full, but nobody waits for a turn.
    two = tuple(WorkerStats(pid=i, share=0.5, cpu_percent=75.0) for i in (1, 2))
    assert say(replace(f, workers=two))[1].startswith("Below prediction: the 2 cores are full (workers 1.5, ")
    # The app's own share counts towards full cores: without it these figures leave cores to spare.
    spare = replace(f, gui_cpu_percent=0.0, client_cpu_percent=10.0, workers=crowd[:12])
    assert say(spare)[1].startswith("Below prediction with cores to spare")
    assert "too many processes" in say(replace(spare, gui_cpu_percent=45.0))[1]


def test_a_saturated_client_is_the_reason_not_the_server() -> None:
    f = figures(client_rps=500.0, client_cpu_percent=95.0)
    bound = client_bound(f)
    assert bound is not None and "95% of a core" in bound.reason
    assert not any(line.startswith("Below prediction") for line in say(f))


def test_a_client_that_runs_or_waits_for_a_core_all_the_time_is_bound_too() -> None:
    bound = client_bound(figures(client_cpu_percent=60.0, client_wait_percent=35.0))
    assert bound is not None and "never idled" in bound.reason
    assert client_bound(figures(client_cpu_percent=60.0, client_wait_percent=20.0)) is None


def test_an_open_loop_that_cannot_keep_its_rate_is_client_bound() -> None:
    open_loop = LoadSpec(mode="open", rate=1000.0)
    bound = client_bound(figures(load=open_loop, sent_rps=700.0))
    assert bound is not None and "700 of 1,000" in bound.reason
    # Skipped sends (the cap was reached) are the server's fault, not the client's.
    assert client_bound(figures(load=open_loop, sent_rps=700.0, overflow=5)) is None


def test_uneven_accept_is_pointed_out() -> None:
    uneven = (WorkerStats(pid=1, share=0.8), WorkerStats(pid=2, share=0.2))
    assert any("busiest worker takes 80%, the idlest 20%" in line for line in say(figures(workers=uneven)))
    idle = (WorkerStats(pid=1, share=1.0), WorkerStats(pid=2, share=0.0))
    # A worker with nothing at all is keep-alive pinning, told in its own words, not uneven accept.
    assert not any("Uneven accept" in line for line in say(figures(workers=idle)))
    assert any("served no requests" in line for line in say(figures(workers=idle)))
    assert not any("Uneven accept" in line for line in say(figures()))
    dead = (WorkerStats(pid=1, share=1.0), WorkerStats(pid=2, alive=False))
    assert not any("Uneven accept" in line for line in say(figures(workers=dead)))


def test_loop_lag_names_the_worker_and_the_cause() -> None:
    lagging = (
        WorkerStats(pid=1, share=0.5, loop_lag_ms=20.0),
        WorkerStats(pid=2, share=0.5, loop_lag_ms=480.0),
    )
    blocking = LoadSpec(endpoint="io/blocking", ms=100, users=100)
    line = next(x for x in say(figures(workers=lagging, load=blocking)) if x.startswith("Event loop"))
    assert line.startswith("Event loop late by up to 480 ms in worker 2: a blocking call")
    line = next(x for x in say(figures(workers=lagging)) if x.startswith("Event loop"))
    assert "waited for a core" in line
    assert not any(x.startswith("Event loop") for x in say(figures()))


def test_threadpool_queue_and_open_loop_overflow() -> None:
    waiting = (WorkerStats(pid=1, share=0.5, pool_waiting=30), WorkerStats(pid=2, share=0.5, pool_waiting=12))
    assert "42 requests wait for a threadpool token" in say(figures(workers=waiting))[-1]
    lines = say(figures(load=LoadSpec(mode="open", rate=1000.0, max_in_flight=500), overflow=1234))
    assert lines[-1].startswith("Open loop: 1,234 sends skipped because 500 requests")


PINNED = (WorkerStats(pid=1, share=1.0), WorkerStats(pid=2, share=0.0))


def test_a_worker_without_connections_under_forever_is_told_as_keep_alive_pinning() -> None:
    """cpu/async, 2 workers, one served nothing: not the GIL, not uneven accept, but pinning."""
    load = LoadSpec(endpoint="cpu/async", ms=5, users=8, connection="forever")
    lines = say(figures(load=load, workers=PINNED, client_rps=186.0))
    text = " ".join(lines)
    assert "GIL" not in text and "Uneven accept" not in text
    assert lines[1] == (
        "Below prediction: the prediction counts every worker, but only 1 of them served: "
        "worker 2 has no connections, so the others do all the work."
    )
    assert lines[2].startswith("Worker 2 served no requests: keep-alive connections stay with the worker ")
    assert "with connection 'forever' this load opens no new ones" in lines[2]


def test_a_worker_without_connections_under_churn_is_told_it_gets_them_soon() -> None:
    lines = say(figures(load=LoadSpec(endpoint="io/async", ms=100, users=100), workers=PINNED))
    assert any(line.startswith("Worker 2 served no requests yet: keep-alive") for line in lines)
    assert any("about every second" in line for line in lines)


def test_a_busy_worker_beside_a_light_one_is_still_uneven_accept() -> None:
    uneven = (WorkerStats(pid=1, share=0.8), WorkerStats(pid=2, share=0.2))
    lines = say(figures(workers=uneven))
    assert any(line.startswith("Uneven accept") for line in lines)
    assert not any("served no requests" in line for line in lines)


def test_below_prediction_with_every_worker_serving_keeps_the_endpoint_reason() -> None:
    lines = say(figures(client_rps=500.0, load=LoadSpec(endpoint="cpu/async", ms=10, users=100)))
    assert "GIL" in lines[1]


def test_the_measured_rate_names_the_window_it_is_over() -> None:
    # A window's rate quoted beside a whole-run average must say which it is.
    assert say(figures(window_s=2.0))[0].startswith("Last 2 s: measured 980 req/s")


def test_lost_telemetry_undercounts_and_rejected_telemetry_changes_nothing() -> None:
    assert telemetry_warning(0, 0, 1424) is None
    lost = telemetry_warning(12, 0, 1412)
    assert (
        lost
        == "Telemetry: 12 datagrams lost (of 1,424 sent): server-side numbers undercount by their requests."
    )
    rejected = telemetry_warning(0, 19267, 1424)
    assert rejected is not None
    assert "19,267 datagrams rejected" in rejected and "no figure changes" in rejected
    assert "undercount" not in rejected
    both = telemetry_warning(3, 5, 100)
    assert both is not None and "undercount" in both and "no figure changes" in both
