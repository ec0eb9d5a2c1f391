"""The flow panel's playhead: live behind now, slow motion, pause, single steps, scrubbing, bounds."""

from __future__ import annotations

import pytest

from asgiscope.server.lab.flow import TRANSIT_NS
from asgiscope.server.lab.flow_replay import MAX_DELAY_NS, MIN_DELAY_NS, STEP_NS, Playhead

S = 1_000_000_000
NOW = 100 * S
OLDEST = 70 * S


def test_live_runs_behind_now_by_what_telemetry_needs() -> None:
    ph = Playhead()
    ph.follow(NOW, 0)
    assert ph.position(NOW, OLDEST) == NOW - MIN_DELAY_NS
    ph.follow(NOW, 2 * S)  # a slow request: grow at once
    assert ph.position(NOW, OLDEST) == NOW - 2 * S
    ph.follow(NOW + S, 0)  # then come back slowly, never jumping
    assert NOW + S - 2 * S < ph.position(NOW + S, OLDEST) <= NOW + S - 2 * S + S // 4
    ph.follow(NOW, 60 * S)
    assert ph.delay_ns == MAX_DELAY_NS


def test_slow_motion_moves_at_its_speed() -> None:
    ph = Playhead()
    ph.follow(NOW, 0)
    live = ph.position(NOW, OLDEST)
    ph.replay(NOW, 0.1, back_ns=2 * S)
    assert ph.position(NOW, OLDEST) == live - 2 * S
    assert ph.position(NOW + S, OLDEST) == live - 2 * S + S // 10  # one second shows 100 ms
    ph.replay(NOW + S, 0.01)
    assert ph.position(NOW + 2 * S, OLDEST) == live - 2 * S + S // 10 + S // 100
    assert ph.transit_ns == TRANSIT_NS // 100  # the same transit on screen at any speed
    with pytest.raises(ValueError, match="speed"):
        ph.replay(NOW, 0.5)


def test_pause_holds_and_steps_move_by_one_step() -> None:
    ph = Playhead()
    ph.follow(NOW, 0)
    t = ph.position(NOW, OLDEST)
    ph.pause(NOW)
    assert ph.position(NOW + 5 * S, OLDEST) == t and ph.state().paused
    ph.step(NOW + 5 * S)
    ph.step(NOW + 5 * S)
    ph.step(NOW + 5 * S, -1)
    assert ph.position(NOW + 9 * S, OLDEST) == t + STEP_NS
    ph.resume(NOW + 9 * S)
    assert ph.position(NOW + 10 * S, OLDEST) == t + STEP_NS + S  # resumed at its speed (1x)


def test_scrubbing_stays_inside_what_is_kept_and_live_comes_back() -> None:
    ph = Playhead()
    ph.follow(NOW, 0)
    ph.position(NOW, OLDEST)
    ph.seek(NOW, 10 * S)  # before the oldest kept
    assert ph.position(NOW, OLDEST) == OLDEST
    ph.seek(NOW, NOW + 10 * S)  # past live: no frame is drawn from records not yet arrived
    assert ph.position(NOW, OLDEST) == NOW - MIN_DELAY_NS
    ph.go_live()
    assert ph.state().live and ph.position(NOW + S, OLDEST) == NOW + S - MIN_DELAY_NS
