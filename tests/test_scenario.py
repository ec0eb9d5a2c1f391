"""Scenario and LoadSpec: validated on construction, with messages naming field, value and rule."""

from __future__ import annotations

import pytest

from asgiscope.server.load.spec import LoadReport, LoadSpec, LoadSpecError
from asgiscope.server.scenario import Scenario, ScenarioError


def test_defaults_and_json_round_trip() -> None:
    s = Scenario(server="gunicorn", workers=4, loop="uvloop", http="httptools", tokens=8, socket="reuse_port")
    assert Scenario.from_json(s.to_json()) == s
    assert Scenario() == Scenario(server="uvicorn", workers=2, loop="asyncio", http="h11", tokens=40)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"workers": 0}, "workers=0 is not allowed: workers must be a whole number from 1 to 32"),
        ({"workers": 33}, "workers=33"),
        ({"workers": True}, "workers=True"),
        ({"tokens": 1001}, "tokens=1001"),
        ({"loop": "trio"}, "loop='trio' is not allowed: loop must be one of 'asyncio', 'uvloop'"),
        ({"http": "h2"}, "http='h2'"),
        ({"server": "hypercorn"}, "server='hypercorn'"),
        ({"socket": "reuse_port"}, "reuse_port needs gunicorn"),
    ],
)
def test_invalid_values_are_refused_with_their_message(changes: dict[str, object], needle: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario(**changes)  # type: ignore[arg-type]
    assert needle in str(info.value)
    assert info.value.field == next(iter(changes))


def test_unknown_json_field_is_named() -> None:
    with pytest.raises(ScenarioError, match="threads"):
        Scenario.from_json('{"threads": 4}')


def test_restart_is_needed_for_everything_but_workers() -> None:
    base = Scenario()
    assert not base.needs_restart(base.with_changes(workers=5))
    for field, value in [("loop", "uvloop"), ("http", "httptools"), ("tokens", 8), ("server", "gunicorn")]:
        assert base.needs_restart(base.with_changes(**{field: value}))


def test_load_spec_validation_and_round_trip() -> None:
    spec = LoadSpec(endpoint="io/sync", ms=250, mode="open", rate=12.5, engine="httpx")
    assert LoadSpec.from_json(spec.to_json()) == spec
    assert spec.path == "/io/sync?ms=250"
    assert LoadSpec(endpoint="hello").path == "/hello"
    for bad, field in [
        ({"ms": 10_001}, "ms"),
        ({"users": 0}, "users"),
        ({"rate": 0}, "rate"),
        ({"engine": "curl"}, "engine"),
    ]:
        with pytest.raises(LoadSpecError) as info:
            LoadSpec(**bad)  # type: ignore[arg-type]
        assert info.value.field == field and field in str(info.value)
    report = LoadReport(t=1.0, interval_s=0.1, completed=3, ok=2, errors={"status_5xx": 1})
    assert LoadReport.from_json(report.to_json()) == report
