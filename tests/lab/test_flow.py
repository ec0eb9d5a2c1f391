"""The flow motion model from recorded traces: each lesson's picture follows from the records."""

from __future__ import annotations

import numpy as np

from asgiscope.server.lab.flow import (
    ARRIVE,
    CHANGE_NS,
    LOOP,
    MAX_DRAWN,
    RESPOND,
    THREAD,
    TRANSIT_NS,
    WAIT,
    frame_at,
)
from asgiscope.server.lab.flow_events import FlowEvents
from tests.lab.flow_traces import MS, T0, at, batch, events_of, hello, lag, pool, request, wsgi, wsgi_sync


def test_an_async_request_arrives_runs_on_the_loop_and_responds() -> None:
    events = events_of(batch(100, [request(200, 300)]))
    transit_ms = TRANSIT_NS / MS
    assert frame_at(events, at(200 - transit_ms - 1)).drawn == 0  # not yet: never drawn early
    f = frame_at(events, at(200 - transit_ms / 2))
    assert (f.stage.tolist(), f.progress.tolist()) == ([ARRIVE], [0.5])
    f = frame_at(events, at(225))
    assert f.stage.tolist() == [LOOP] and abs(f.progress[0] - 0.25) < 1e-6
    assert f.workers[0].on_loop == 1 and f.in_flight == 1
    f = frame_at(events, at(300 + transit_ms / 2))
    assert f.stage.tolist() == [RESPOND] and f.in_flight == 0
    assert frame_at(events, at(300 + transit_ms + 1)).drawn == 0


def test_a_full_threadpool_queues_for_tokens_first_come_first_served() -> None:
    # 2 tokens, 6 def requests of 100 ms all arriving at 0: three waves of two threads.
    rows = [request(0, 100 * (1 + i // 2), token_ms=100 * (i // 2) or 0.001, tid=7 + i % 2) for i in range(6)]
    rows.append(pool(50, tokens=2, borrowed=2, waiting=4, in_flight=6))
    events = events_of(batch(100, rows))
    f = frame_at(events, at(60))
    w = f.workers[0]
    assert (w.tokens, w.busy, w.waiting) == (2, (True, True), 4)
    assert sorted(f.lane[f.stage == THREAD].tolist()) == [0, 1]
    assert sorted(f.lane[f.stage == WAIT].tolist()) == [0, 1, 2, 3]  # places in the queue
    # the two that get the next tokens are at the head of the queue
    head = f.key[(f.stage == WAIT) & (f.lane < 2)]
    f2 = frame_at(events, at(150))
    assert set(f2.key[f2.stage == THREAD].tolist()) == set(head.tolist())
    assert f2.workers[0].waiting == 2


def test_a_blocked_loop_turns_red_and_its_requests_freeze() -> None:
    # An async request on the loop from 0 to 500 ms; the loop was stuck from 200 to 400 ms.
    events = events_of(batch(100, [request(0, 500), lag(400, 200), lag(100, 1)]))
    before, during, later = (frame_at(events, at(ms)) for ms in (150, 300, 350))
    assert not before.workers[0].blocked and not before.frozen.any()
    assert during.workers[0].blocked and during.frozen.tolist() == [True]
    assert during.workers[0].lag_ms == 200
    # frozen where the block began: no motion between two frames inside the block
    assert during.progress[0] == later.progress[0] == np.float32(200 / 500)
    after = frame_at(events, at(450))
    assert not after.workers[0].blocked and after.progress[0] == np.float32(450 / 500)


def test_a_small_lag_is_not_a_block() -> None:
    events = events_of(batch(100, [request(0, 500), lag(300, 20)]))
    f = frame_at(events, at(290))
    assert not f.workers[0].blocked and f.workers[0].lag_ms == 20


def test_high_rates_draw_a_stable_sample_and_count_the_rest() -> None:
    rows = [request(i * 0.5, 1000 + i * 0.5) for i in range(1000)]
    events = events_of(batch(100, rows[:500]), batch(200, rows[500:]))
    f = frame_at(events, at(999))
    assert f.drawn == MAX_DRAWN and f.in_flight == 1000
    assert f.workers[0].on_loop + f.workers[1].on_loop == 1000  # exact counts beside the sample
    again = frame_at(events, at(999))
    assert np.array_equal(f.key, again.key) and np.array_equal(f.progress, again.progress)
    nearby = frame_at(events, at(1004))
    assert len(set(f.key.tolist()) & set(nearby.key.tolist())) >= 0.9 * MAX_DRAWN


def test_nothing_is_drawn_that_no_record_names() -> None:
    events = events_of(batch(100, [request(0, 50), request(10, 20)]))
    for ms in range(-200, 300, 7):
        f = frame_at(events, at(ms))
        assert f.drawn <= 2 and len(set(f.key.tolist())) == f.drawn


def test_stream_width_is_what_each_worker_finished_in_the_last_second() -> None:
    a = [request(i, i + 1) for i in range(0, 1000, 10)]  # 100 in the second
    b = [request(i, i + 1) for i in range(0, 1000, 40)]  # 25
    f = frame_at(events_of(batch(100, a), batch(200, b)), at(1000))
    assert [round(w.rate_rps) for w in f.workers] == [100, 25]


def test_uneven_accept_is_uneven_streams_and_the_kernel_queue_holds_the_rest() -> None:
    events = events_of(batch(100, [request(0, 1000)] * 3), client_in_flight=10)
    f = frame_at(events, at(500))
    assert f.in_flight == 3 and f.kernel_queue == 7


def test_scaling_adds_a_worker_that_arrives_then_runs() -> None:
    events = FlowEvents()
    events.set_tree(at(0), 1, (100,), 0, set())
    events.add([batch(100, [request(0, 10)])])
    events.set_tree(at(1000), 1, (100, 200), 0, set())
    assert [w.pid for w in frame_at(events, at(500)).workers] == [100]
    f = frame_at(events, at(1500))
    assert [(w.pid, w.state) for w in f.workers] == [(100, "running"), (200, "arriving")]
    assert frame_at(events, at(1000) + CHANGE_NS + 1).workers[1].state == "running"
    # scaling down retires the newest
    events.set_tree(at(4000), 1, (100,), 0, set())
    assert [(w.pid, w.state) for w in frame_at(events, at(4100)).workers][1] == (200, "retiring")
    assert [w.pid for w in frame_at(events, at(4000) + CHANGE_NS + 1).workers] == [100]


def test_a_crash_shows_the_worker_dying_and_its_replacement_arriving() -> None:
    events = FlowEvents()
    events.set_tree(at(0), 1, (100, 200), 0, set())
    events.set_tree(at(2000), 1, (100,), 0, {200})
    events.set_tree(at(2600), 1, (100, 300), 0, set())
    f = frame_at(events, at(2700))
    assert [(w.pid, w.state) for w in f.workers] == [(100, "running"), (200, "dying"), (300, "arriving")]
    assert frame_at(events, at(1000)).workers[1].state == "running"  # replay: before the crash
    assert [w.pid for w in frame_at(events, at(2000) + CHANGE_NS + 1).workers] == [100, 300]


def test_the_master_is_named_and_never_holds_a_request() -> None:
    f = frame_at(events_of(batch(100, [request(0, 100)])), at(50))
    assert f.master_pid == 1 and 1 not in [w.pid for w in f.workers]


def test_history_is_bounded_by_time_and_by_count() -> None:
    events = FlowEvents(max_records=5_000)
    for s in range(60):
        events.add([batch(100, [request(s * 1000 + i, s * 1000 + i + 1) for i in range(100)], seq=s)])
        events.set_tree(at(s * 1000), 1, (100,), s, set())
    assert events.oldest >= at(59_000) - 30_000 * MS
    assert all(c.hi >= at(59_000) - 31_000 * MS for c in events.chunks)
    assert len(events.tree) <= 31
    flood = FlowEvents(max_records=5_000)
    for s in range(20):
        flood.add([batch(100, [request(s, s + 1)] * 1000, seq=s)])
    assert sum(c.size for c in flood.chunks) <= 5_000
    assert frame_at(events, at(10_000)).t_ns == at(10_000)  # a time no longer kept draws empty, no error


def test_an_empty_store_gives_an_empty_frame() -> None:
    f = frame_at(FlowEvents(), T0)
    assert f.drawn == 0 and f.workers == () and f.master_pid == 0


def test_a_wsgi_sync_worker_holds_one_request_and_the_others_wait_in_the_kernel() -> None:
    events, end = wsgi_sync(users=8, workers=2, ms=100)
    frames = [frame_at(events, t) for t in range(at(0), end, 5 * MS)]
    for f in frames:
        assert [w.kind for w in f.workers] == ["sync", "sync"]
        assert all(w.tokens == 1 and w.on_loop == 0 and w.waiting == 0 for w in f.workers)
        inside = (f.stage != ARRIVE) & (f.stage != RESPOND)
        assert set(f.stage[inside].tolist()) <= {THREAD}  # no loop, no token to wait for
        for i in range(2):  # at most one request in each worker, in its one slot
            assert np.count_nonzero(inside & (f.worker == i)) <= 1
            assert set(f.lane[inside & (f.worker == i)].tolist()) <= {0}
        assert f.in_flight <= 2 and 6 <= f.kernel_queue <= 8 - f.in_flight  # the rest: in the kernel
    busy = [f for f in frames if f.in_flight == 2]
    assert len(busy) > len(frames) * 0.9  # each worker is busy all but the 0.5 ms between requests
    assert all(f.workers[0].busy == (True,) and f.kernel_queue == 6 for f in busy)


def test_a_gthread_worker_runs_its_requests_in_its_threads_from_the_start() -> None:
    # 3 threads; 6 requests of 100 ms, two waves: each in the slot of the thread that ran it
    rows = [hello("gthread")] + [wsgi(100 * (i // 3), 100 * (i // 3) + 90, tid=700 + i % 3) for i in range(6)]
    # 7 users: 3 in threads, 3 accepted by gthread and queued for a thread (its POOL says), 1 in the kernel
    rows.append(pool(50, tokens=3, borrowed=3, waiting=3, in_flight=6))
    events = events_of(batch(300, rows), client_in_flight=7)
    f = frame_at(events, at(50))
    (w,) = f.workers
    assert (w.kind, w.tokens, w.busy, w.waiting, w.on_loop) == ("gthread", 3, (True, True, True), 3, 0)
    assert sorted(f.lane[f.stage == THREAD].tolist()) == [0, 1, 2]
    assert f.in_flight == 3 and f.kernel_queue == 1  # the queued are counted, never drawn as invented dots
    later = frame_at(events, at(150))
    assert sorted(later.lane[later.stage == THREAD].tolist()) == [0, 1, 2]  # the same threads again


def test_a_worker_is_drawn_as_what_its_hello_says() -> None:
    events = events_of(batch(401, [hello("sync"), wsgi(0, 50, tid=5)]), batch(402, [request(0, 50)]))
    f = frame_at(events, at(25))
    assert [(w.pid, w.kind) for w in f.workers] == [(401, "sync"), (402, "uvicorn")]
    assert f.stage.tolist() == [THREAD, LOOP]  # the WSGI request in its thread, the async one on a loop
    # a worker the tree lists before its HELLO arrived is what the scenario started; its HELLO then wins
    events.set_tree(at(30), 1, (401, 402, 403), 0, set(), "gthread")
    events.set_tree(at(40), 1, (401, 402, 403, 404), 0, set(), "sync")
    assert [w.kind for w in frame_at(events, at(45)).workers][2:] == ["gthread", "sync"]
    events.add([batch(403, [hello("sync")])])
    assert [w.kind for w in frame_at(events, at(45)).workers] == ["sync", "uvicorn", "sync", "sync"]
