"""Which plots are worth redrawing when: pure bookkeeping, no Qt."""

from __future__ import annotations

from dataclasses import replace

from asgiscope.gui.pacing import IDLE_REDRAW_S, Pacer, Sample

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
