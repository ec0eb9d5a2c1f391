""" "Send one request": a real request, found in its worker's own record, highlighted in the flow."""

from __future__ import annotations

import asyncio

import pytest

from asgiscope.server.lab.flow import THREAD, WAIT, frame_at
from asgiscope.server.lab.session import Lab, LabError
from asgiscope.server.lab.trace_one import Sent, find
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from tests.lab.flow_traces import at, batch, events_of, hello, request, wsgi


def test_the_match_is_the_record_with_the_least_time_left_over() -> None:
    events = events_of(batch(100, [request(10, 90), request(2, 98, token_ms=50, tid=7), request(1, 120)]))
    events.add([batch(200, [request(1, 99)])])
    traced = find(events, Sent(100, 200, at(0), at(100)))
    assert traced is not None and (traced.start_ns, traced.token_ns, traced.end_ns) == (at(2), at(50), at(98))
    assert traced.slack_ms == pytest.approx(4.0)
    assert "waited for a token 48.0 ms" in traced.describe() and "in a thread 48.0 ms" in traced.describe()
    assert find(events, Sent(100, 200, at(200), at(300))) is None  # not arrived (yet): nothing invented


def test_a_request_a_sync_worker_served_is_told_without_a_token_or_a_loop() -> None:
    events = events_of(batch(100, [hello("sync"), wsgi(5, 45, tid=9)]))
    traced = find(events, Sent(100, 200, at(0), at(50)))
    assert traced is not None and traced.worker_class == "sync"
    words = traced.describe()
    assert "in the worker 40.0 ms" in words and "token" not in words and "loop" not in words


async def test_one_request_sent_under_load_is_found_and_followed() -> None:
    lab = Lab(Scenario(workers=2, tokens=2), LoadSpec(endpoint="io/sync", ms=50, users=12))
    async with lab:
        await lab.start_load()
        await asyncio.sleep(1.5)
        traced = await lab.send_one()
        pids = {w.pid for w in lab.snapshot().workers}
        await lab.stop_load()
    assert traced.pid in pids and traced.status == 200
    # its own record: inside the time it was out, a def handler that got a token, then ran 50 ms
    assert traced.sent_ns <= traced.start_ns < traced.token_ns < traced.end_ns <= traced.received_ns
    assert traced.end_ns - traced.token_ns >= 50_000_000
    # 12 users on 2 x 2 tokens: it queued for a token behind others
    assert traced.token_ns - traced.start_ns > 10_000_000
    events = lab._flow
    waiting = frame_at(events, (traced.start_ns + traced.token_ns) // 2)
    in_thread = frame_at(events, (traced.token_ns + traced.end_ns) // 2)
    assert waiting.traced >= 0 and waiting.stage[waiting.traced] == WAIT
    assert in_thread.traced >= 0 and in_thread.stage[in_thread.traced] == THREAD
    assert in_thread.traced_label == traced.describe()


async def test_nothing_to_send_to_before_the_server_runs() -> None:
    with pytest.raises(LabError, match="not running"):
        await Lab(Scenario(), LoadSpec()).send_one()
