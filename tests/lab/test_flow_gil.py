"""The GIL in the flow model: each busy slot's thread gets its share of a core, the worker's threads
together about one, from the CPU samples the workers send (recorded traces)."""

from __future__ import annotations

from asgiscope.server.lab.flow import THREAD, frame_at
from asgiscope.server.lab.flow_cpu import GAP_NS
from tests.lab.flow_traces import MS, at, batch, cpu_bound, events_of, hello, pool, request, thread_cpu, wsgi


def test_eight_cpu_bound_threads_share_one_core_an_eighth_each() -> None:
    events, _ = cpu_bound(threads=8)
    f = frame_at(events, at(600))
    (w,) = f.workers
    assert w.busy == (True,) * 8 and int((f.stage == THREAD).sum()) == 8
    assert all(abs(c - 0.125) < 1e-6 for c in w.cpu)
    assert abs(w.threads_cpu - 1.001) < 1e-6  # the loop thread's 0.001 besides
    assert w.taking_turns == 8 and w.gil_note == "8 threads, 1.00 core together: one runs at a time (GIL)"
    assert frame_at(events, at(600)).workers == f.workers  # deterministic: same records, same frame


def test_two_sync_workers_each_run_one_thread_on_a_core_of_its_own() -> None:
    rows = {
        pid: [hello("sync", tid=tid), wsgi(0, 1000, tid=tid), pool(10, 1, 1, 0, 1)]
        + [thread_cpu(t, tid, t * 0.99) for t in range(0, 1001, 250)]
        for pid, tid in ((201, 901), (202, 902))
    }
    f = frame_at(events_of(*(batch(pid, r) for pid, r in rows.items())), at(500))
    assert [w.busy for w in f.workers] == [(True,), (True,)]
    for w in f.workers:
        assert abs(w.cpu[0] - 0.99) < 1e-6 and abs(w.threads_cpu - 0.99) < 1e-6
        assert w.gil_note == ""  # one thread each: nothing to take turns over


def test_the_share_is_the_interval_around_t_and_the_latest_one_past_the_samples() -> None:
    # thread 50 runs alone until 500 ms, then thread 51 alone: the picture follows the samples
    rows = [request(0, 3000, token_ms=1, tid=50), request(0, 3000, token_ms=2, tid=51)]
    rows += [thread_cpu(t, 50, min(t, 500)) for t in (0, 250, 500, 750, 1000)]
    rows += [thread_cpu(t, 51, max(0, t - 500)) for t in (0, 250, 500, 750, 1000)]
    events = events_of(batch(100, rows))
    early, late, live = (frame_at(events, at(ms)) for ms in (300, 800, 1200))
    assert early.workers[0].cpu == (1.0, 0.0) and late.workers[0].cpu == (0.0, 1.0)
    assert live.workers[0].cpu == (0.0, 1.0)  # past the newest sample: its latest interval stands
    stale = frame_at(events, at(1000) + GAP_NS + MS)
    assert stale.workers[0].cpu == (-1.0, -1.0) and stale.workers[0].threads_cpu == -1.0


def test_without_thread_samples_nothing_is_invented() -> None:
    events = events_of(batch(100, [request(0, 1000, token_ms=1, tid=50), pool(10, 4, 1, 0, 1)]))
    (w,) = frame_at(events, at(500)).workers
    assert w.busy == (True, False, False, False)
    assert w.cpu == (-1.0,) * 4 and w.threads_cpu == -1.0 and w.gil_note == ""


def test_idle_slots_have_no_share_and_io_bound_threads_get_no_note() -> None:
    # two threads hold slots while sleeping (I/O): next to no CPU, no GIL to point at
    rows = [request(0, 1000, token_ms=1, tid=50), request(0, 1000, token_ms=1, tid=51)]
    rows.append(pool(10, tokens=4, borrowed=2, waiting=0, in_flight=2))
    rows += [thread_cpu(t, tid, t * 0.002) for t in (0, 500, 1000) for tid in (50, 51)]
    (w,) = frame_at(events_of(batch(100, rows)), at(700)).workers
    assert w.busy == (True, True, False, False)
    assert [round(c, 6) for c in w.cpu] == [0.002, 0.002, -1.0, -1.0]
    assert w.taking_turns == 0 and w.gil_note == ""


def test_thread_samples_are_kept_for_replay_and_dropped_with_the_rest() -> None:
    events, end = cpu_bound(threads=4, ms=1000)
    assert sum(len(c.threads) for c in events.chunks) == 5 * 4  # 4 threads and the loop, 5 samples each
    events.set_tree(end + events.history_ns + 2 * GAP_NS, 1, (100,), 0, set())
    assert not events.chunks  # 30 s later they are gone like the requests


def test_forty_cpu_bound_threads_get_the_note_though_each_gets_a_fortieth() -> None:
    events, _ = cpu_bound(threads=40)
    (w,) = frame_at(events, at(600)).workers
    assert all(abs(c - 1 / 40) < 1e-6 for c in w.cpu)
    assert w.gil_note == "40 threads, 1.00 core together: one runs at a time (GIL)"
