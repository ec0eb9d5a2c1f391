"""The OthersMeter: cores used by processes outside the session, from real CPU counters."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from asgiscope.server.lab.others import STEP, OthersMeter

SPIN = "import time\nend = time.monotonic() + 30\nwhile time.monotonic() < end: pass\n"


def test_a_spinning_stranger_counts_and_the_same_spinner_as_ours_does_not() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        proc = psutil.Process(spinner.pid)
        as_other, as_ours = OthersMeter(cores=os.cpu_count() or 1), OthersMeter(cores=os.cpu_count() or 1)
        t0, cpu0 = time.monotonic(), sum(proc.cpu_times()[:2])
        seen_other = seen_ours = 0.0
        while time.monotonic() - t0 < 2.5:
            seen_other = as_other.sample([])
            seen_ours = as_ours.sample([spinner.pid])
            time.sleep(0.1)
        spun = (sum(proc.cpu_times()[:2]) - cpu0) / (time.monotonic() - t0)
        # The spinner is "others" unless it is ours; the machine's other sessions add the same noise to
        # both readings, so their difference is what the spinner got (however busy the machine).
        assert spun > 0.2
        assert abs((seen_other - seen_ours) - spun) < 0.3
        assert abs(seen_other / STEP - round(seen_other / STEP)) < 1e-6  # in steps of STEP cores
    finally:
        spinner.kill()
        spinner.wait()


def test_it_reads_nothing_before_a_window_and_never_more_than_the_cores() -> None:
    meter = OthersMeter(cores=1, min_interval_s=0.0)
    first = meter.sample([], now=100.0)
    assert first == 0.0
    time.sleep(0.2)
    assert 0.0 <= meter.sample([os.getpid()], now=100.2) <= 1.0


def test_this_process_counts_as_others_beyond_what_the_theory_counts_for_it() -> None:
    meter, fully = OthersMeter(cores=os.cpu_count() or 1), OthersMeter(cores=os.cpu_count() or 1)
    t0, cpu0 = time.monotonic(), time.process_time()
    seen = seen_fully = 0.0
    while time.monotonic() - t0 < 2.5:
        spin = time.monotonic() + 0.08  # this process busy most of the time, as a window drawing is
        while time.monotonic() < spin:
            pass
        seen = meter.sample([])
        seen_fully = fully.sample([], own_counted=lambda: 5.0)  # all of it counted by the theory already
        time.sleep(0.02)
    # What this process got of a core: near 0.8 on a quiet machine, less when others share its core.
    own = (time.process_time() - cpu0) / (time.monotonic() - t0)
    if own < 0.2:
        pytest.skip(f"this process got only {own:.2f} of a core: the machine is too busy to tell")
    assert seen - seen_fully > 0.6 * own - 0.1
