"""Whether a measurement bears its prediction out: the one verdict for ``asgiscope tour`` and the app.

Within ``VERDICT_TOLERANCE`` (10 %) of the prediction, the claim a tour step makes held on this machine;
further off, the step says by how much. The words are made here, so the terminal and the tour bar read
the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.limits import VERDICT_TOLERANCE
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Verdict:
    measured_rps: float
    predicted_rps: float
    explanation: str  # the prediction's own sentence: which bound binds and why
    tolerance: float = VERDICT_TOLERANCE

    @property
    def error(self) -> float:
        """(measured - predicted) / predicted: +0.05 is 5 % more than predicted."""
        return (self.measured_rps - self.predicted_rps) / self.predicted_rps

    @property
    def within(self) -> bool:
        return abs(self.error) <= self.tolerance

    @property
    def text(self) -> str:
        """``measured 985 req/s, predicted 1,000: within 10 % (-1.5 %)``."""
        how = "within" if self.within else "more than"
        return (
            f"measured {self.measured_rps:,.0f} req/s, predicted {self.predicted_rps:,.0f}: "
            f"{how} {self.tolerance * 100:.0f} % ({self.error * 100:+.1f} %)"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "measured_rps": round(self.measured_rps, 2),
            "predicted_rps": round(self.predicted_rps, 2),
            "error_percent": round(self.error * 100, 2),
            "tolerance_percent": round(self.tolerance * 100, 2),
            "within": self.within,
            "text": self.text,
            "explanation": self.explanation,
        }


def judge(measured_rps: float | None, predicted_rps: float | None, explanation: str = "") -> Verdict | None:
    """The verdict, or None when there is nothing to judge (no load, no prediction)."""
    if measured_rps is None or predicted_rps is None:
        return None
    if not (math.isfinite(measured_rps) and math.isfinite(predicted_rps)) or predicted_rps <= 0:
        return None
    return Verdict(measured_rps, predicted_rps, explanation)


def live_verdict(snap: Snapshot) -> Verdict | None:
    """The last window's throughput beside the prediction, while the load runs (the tour bar's line)."""
    p = snap.prediction
    if not snap.load_running or p is None or snap.requests == 0:
        return None
    return judge(snap.client_rps, p.throughput_rps, p.explanation)


def tour_line(snap: Snapshot, scenario: Scenario, load: LoadSpec) -> tuple[str, Verdict | None]:
    """What the tour bar says under a step's caption, and the verdict it shows (None: none yet).

    Only a snapshot of the step's own scenario and load is judged: until the servers have been
    restarted or scaled to it, the numbers on screen still belong to the step before."""
    if snap.state in ("starting", "restarting"):
        return "bringing the servers to this step…", None
    if snap.scenario != scenario or not same_load(snap.load, load):
        return "waiting for this step's scenario to run", None
    if not snap.load_running:
        return "the load is off (Space starts it)", None
    verdict = live_verdict(snap)
    if verdict is None:
        return "measuring…", None
    return f"{verdict.text}, over the last {snap.window_s:g} s", verdict


def same_load(running: LoadSpec, wanted: LoadSpec) -> bool:
    """The fields a tour step sets and the panel shows (what the panel cannot show is not the step's)."""
    shown = ("endpoint", "ms", "mode", "users", "rate", "engine", "connection")
    return all(getattr(running, f) == getattr(wanted, f) for f in shown)
