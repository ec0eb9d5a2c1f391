"""Scripted changes for ``asgiscope run``: the headless twin of moving a slider.

``--at SECONDS:FIELD=VALUE[,FIELD=VALUE]`` changes scenario or load fields that many seconds into the
measurement, through the same ``Lab.apply`` / ``Lab.set_load`` the app's controls use; the run reports
one phase per stretch between changes. Every value is checked by the rule of its own flag, and the
scenario and load each change makes are built while parsing, so a refused change stops the run before
anything starts, in one sentence naming the flag, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from asgiscope.server.flags import Rule, read
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.limits import NotAllowedError
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario, check_endpoint

FORM = "SECONDS:FIELD=VALUE[,FIELD=VALUE], e.g. 4:workers=2"
SCENARIO_FIELDS = tuple(f.name for f in fields(Scenario))


class ScriptError(ValueError):
    """A refused ``--at``: the message is the whole sentence; the parts let a tour file say it its way."""

    def __init__(self, text: str, subject: str, allowed: str) -> None:
        self.text, self.subject, self.allowed = text, subject, allowed
        super().__init__(f"--at {text!r} is not allowed: {subject} must be {allowed}")


def _refuse(text: str, subject: str, allowed: str) -> ScriptError:
    return ScriptError(text, subject, allowed)


@dataclass(frozen=True, slots=True)
class Change:
    at_s: float  # seconds into the measurement
    values: dict[str, Any]  # field → checked value, in the order given
    scenario: Scenario  # what runs from then on
    load: LoadSpec

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.values.items())


def parse_at(
    texts: list[str], rules: dict[str, Rule], duration_s: float, scenario: Scenario, load: LoadSpec
) -> list[Change]:
    """The ``--at`` words in time order, each with the scenario and load it leads to."""
    parsed = sorted(((*_parse_one(text, rules, duration_s), text) for text in texts), key=lambda p: p[0])
    changes: list[Change] = []
    for at_s, values, text in parsed:
        ours = {k: v for k, v in values.items() if k in SCENARIO_FIELDS}
        theirs = {k: v for k, v in values.items() if k not in SCENARIO_FIELDS}
        try:
            scenario = scenario.with_changes(**ours)
            load = load.with_changes(**theirs)
            check_endpoint(scenario, load.endpoint)
        except NotAllowedError as exc:  # only the whole can say (reuse_port without gunicorn)
            raise _refuse(text, exc.field, exc.allowed) from None
        changes.append(Change(at_s, values, scenario, load))
    return changes


def _parse_one(text: str, rules: dict[str, Rule], duration_s: float) -> tuple[float, dict[str, Any]]:
    when, colon, rest = text.partition(":")
    if not colon or not rest:
        raise _refuse(text, "--at", FORM)
    try:
        at_s = float(when)
    except ValueError:
        at_s = float("nan")
    if not 0 < at_s < duration_s:  # also refuses nan
        raise _refuse(text, "SECONDS", f"a number above 0 and below the duration ({duration_s:g} s)")
    values: dict[str, Any] = {}
    for item in rest.split(","):
        name, eq, word = item.partition("=")
        name = name.strip().replace("-", "_")
        if not eq or not name:
            raise _refuse(text, "--at", FORM)
        if name not in rules:
            raise _refuse(text, "FIELD", "one of " + ", ".join(rules))
        try:
            values[name] = read(name, word.strip(), rules[name])
        except NotAllowedError as exc:
            raise _refuse(text, name, exc.allowed) from None
    return at_s, values


# -- phases --------------------------------------------------------------------------------------


def worker_rows(first: Snapshot, last: Snapshot) -> list[dict[str, Any]]:
    """Requests per worker over the run: the living ones, then those that died during it (alive: false),
    so the rows add up to the server's total."""
    before = {w.pid: w.requests for w in (*first.workers, *first.gone)}
    gone_before = {w.pid for w in first.gone}
    alive = [w for w in last.workers if w.alive]
    living = {w.pid for w in alive}
    died = [w for w in last.gone if w.pid not in gone_before and w.pid not in living]
    return [
        {"pid": w.pid, "alive": w.alive, "requests": w.requests - before.get(w.pid, 0)}
        for w in (*alive, *died)
    ]


def phase(start: Snapshot, end: Snapshot, origin_t: float, change: Change | None) -> dict[str, Any]:
    """One stretch of the run, from ``start`` to ``end`` (``origin_t``: when the measurement began)."""
    dt = max(end.t - start.t, 1e-9)
    workers = worker_rows(start, end)
    served = sum(w["requests"] for w in workers)
    for w in workers:
        w["share"] = round(w["requests"] / served, 4) if served else 0.0
    p = end.prediction
    return {
        "from_s": round(start.t - origin_t, 3),
        "to_s": round(end.t - origin_t, 3),
        "change": dict(change.values) if change else {},
        "workers_configured": end.scenario.workers,
        "measured_rps": round((end.requests - start.requests) / dt, 2) if end.load_running else None,
        "predicted_rps": round(p.throughput_rps, 2) if p is not None and end.load_running else None,
        # the cores other processes used when the phase ended, which its prediction left out
        "others_cores": round(p.others_cores, 2) if p is not None else None,
        # the speeds its costs were scaled by then (lab/costscale.py measures them as the load runs)
        "cpu_speed": round(p.cpu_speed, 3) if p is not None else None,
        "client_speed": round(p.client_speed, 3) if p is not None else None,
        "workers": workers,
    }


def render_phases(phases: list[dict[str, Any]]) -> list[str]:
    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:,.1f}"

    head = f"{'phase':<7}{'from s':>7}{'to s':>7}  {'change':<22}{'measured':>10}{'predicted':>11}"
    lines = [head + "  requests per worker"]
    for i, ph in enumerate(phases, 1):
        change = ",".join(f"{k}={v}" for k, v in ph["change"].items()) or "-"
        shares = "  ".join(f"{w['pid']}: {w['requests']:,} ({w['share'] * 100:.0f}%)" for w in ph["workers"])
        lines.append(
            f"{i:<7}{ph['from_s']:>7.1f}{ph['to_s']:>7.1f}  {change:<22}"
            f"{fmt(ph['measured_rps']):>10}{fmt(ph['predicted_rps']):>11}  {shares}"
        )
    return lines
