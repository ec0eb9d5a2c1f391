"""Which plots are worth redrawing when: pure bookkeeping, no Qt."""

from __future__ import annotations

from dataclasses import replace

from asgiscope.gui.pacing import (
    CALM_FRAMES,
    IDLE_REDRAW_S,
    STRAIN_WINDOW,
    STRAINED_FRAMES,
    FrameRate,
    Pacer,
    Sample,
)

NAMES = ("throughput", "shares")
STEP = {"throughput": 0.25, "shares": 0.0}  # seconds per pixel of scrolling; the bars do not scroll


def sample(length: int, *, load_running: bool = True, workers: int = 2) -> Sample:
    return Sample(length, length / 10, workers=workers, markers=0, load_running=load_running)


def drain(pacer: Pacer, s: Sample, t: float) -> list[str]:
    drawn = []
    while pacer.stale:
        drawn.append(pacer.take(s, t))
    return drawn


def test_every_plot_is_drawn_once_then_only_for_a_sample_it_has_not_shown() -> None:
    pacer = Pacer(NAMES)
    pacer.mark(sample(100), 10.0, STEP.__getitem__)
    assert drain(pacer, sample(100), 10.0) == ["throughput", "shares"]
    for t in (10.0, 11.0, 60.0):  # the same sample, however late: nothing to draw
        pacer.mark(sample(100), t, STEP.__getitem__)
        assert pacer.stale == []


def test_a_scrolling_plot_waits_for_a_pixel_of_movement() -> None:
    pacer = Pacer(NAMES)
    pacer.mark(sample(100), 10.0, STEP.__getitem__)
    drain(pacer, sample(100), 10.0)
    pacer.mark(sample(101), 10.1, STEP.__getitem__)
    assert drain(pacer, sample(101), 10.1) == ["shares"]  # the bars at once; the curves moved 0.4 px
    pacer.mark(sample(102), 10.2, STEP.__getitem__)
    assert drain(pacer, sample(102), 10.2) == ["shares"]
    pacer.mark(sample(103), 10.3, STEP.__getitem__)
    assert drain(pacer, sample(103), 10.3) == ["throughput", "shares"]  # 1.2 px since 10.0
    # the newest sample is still drawn when samples stop, once time has moved a pixel on
    pacer.mark(sample(104), 10.4, STEP.__getitem__)
    drain(pacer, sample(104), 10.4)
    pacer.mark(sample(104), 10.6, STEP.__getitem__)
    assert drain(pacer, sample(104), 10.6) == ["throughput"]


def test_a_new_shape_is_drawn_at_once_and_an_idle_load_once_a_second() -> None:
    pacer = Pacer(NAMES)
    pacer.mark(sample(100), 10.0, STEP.__getitem__)
    drain(pacer, sample(100), 10.0)
    grown = sample(101, workers=3)
    pacer.mark(grown, 10.1, STEP.__getitem__)
    assert drain(pacer, grown, 10.1) == ["throughput", "shares"]
    stopped = replace(sample(102, workers=3), load_running=False)
    pacer.mark(stopped, 10.2, STEP.__getitem__)
    assert drain(pacer, stopped, 10.2) == ["throughput", "shares"]  # the load stopped: a new shape
    t = 10.2
    for n in range(103, 103 + int(IDLE_REDRAW_S * 10) - 1):  # samples at 10 Hz, under a second
        t += 0.1
        idle = replace(sample(n, workers=3), load_running=False)
        pacer.mark(idle, t, STEP.__getitem__)
        assert pacer.stale == [], t
    t += 0.1 + 1e-9
    idle = replace(sample(200, workers=3), load_running=False)
    pacer.mark(idle, t, STEP.__getitem__)
    assert drain(pacer, idle, t) == ["throughput", "shares"]


def test_now_draws_every_new_sample_unpaced() -> None:
    pacer = Pacer(NAMES)
    pacer.mark(sample(100), 10.0, STEP.__getitem__)
    drain(pacer, sample(100), 10.0)
    pacer.mark(sample(101), 10.01, STEP.__getitem__, now=True)
    assert drain(pacer, sample(101), 10.01) == ["throughput", "shares"]


def frames(rate: FrameRate, count: int, *, gap: float | None = None, work: float = 1.0) -> list[int]:
    """Feed ``count`` frames (gap: the timer's own interval unless given); the intervals seen after each."""
    seen = []
    for _ in range(count):
        rate.record(rate.interval_ms if gap is None else gap, work)
        seen.append(rate.interval_ms)
    return seen


def test_frame_rate_holds_while_frames_are_cheap_and_on_time() -> None:
    rate = FrameRate(60.0)
    assert frames(rate, 1000, work=3.0) == [16] * 1000


def test_frame_rate_steps_down_when_frames_are_costly_then_to_twenty_fps() -> None:
    rate = FrameRate(60.0)
    seen = frames(rate, STRAINED_FRAMES, work=12.0)  # 12 ms of work in a 16 ms frame
    assert seen[:-1] == [16] * (STRAINED_FRAMES - 1) and seen[-1] == 33  # 30 fps
    assert frames(rate, STRAINED_FRAMES, work=20.0)[-1] == 50  # 20 fps
    assert frames(rate, 100, work=40.0)[-1] == 50  # the slowest step: no further


def test_late_but_cheap_frames_keep_the_rate() -> None:
    # waiting for a core is not something a lower rate fixes (measured: it made the p99 worse)
    rate = FrameRate(60.0)
    assert frames(rate, 300, gap=120.0, work=2.0) == [16] * 300


def test_a_costly_frame_now_and_then_does_not_change_the_rate() -> None:
    rate = FrameRate(60.0)
    for _ in range(20):  # one costly frame in every STRAIN_WINDOW: below STRAINED_FRAMES
        frames(rate, 1, work=30.0)
        assert frames(rate, STRAIN_WINDOW - 1) == [16] * (STRAIN_WINDOW - 1)


def test_frame_rate_climbs_back_only_after_a_long_calm() -> None:
    rate = FrameRate(60.0)
    frames(rate, STRAINED_FRAMES, work=12.0)
    assert rate.interval_ms == 33
    assert frames(rate, CALM_FRAMES - 1, work=2.0)[-1] == 33  # calm, not yet long enough
    frames(rate, 1, work=12.0)  # work that would not fit a 60 fps frame breaks the calm
    assert frames(rate, CALM_FRAMES - 1, work=2.0)[-1] == 33
    assert frames(rate, 1, work=2.0)[-1] == 16


def test_a_fixed_frame_rate_never_moves() -> None:
    rate = FrameRate(60.0, adaptive=False)
    assert frames(rate, 100, gap=300.0, work=40.0) == [16] * 100


def test_a_slow_requested_rate_is_never_raised_nor_lowered() -> None:
    rate = FrameRate(20.0)
    assert frames(rate, 100, work=45.0) == [50] * 100
    assert frames(rate, 400, work=0.1) == [50] * 400


def test_the_first_frame_without_a_gap_counts_for_nothing() -> None:
    rate = FrameRate(60.0)
    assert not rate.record(float("nan"), 100.0)
    assert frames(rate, STRAINED_FRAMES - 1, work=12.0)[-1] == 16
