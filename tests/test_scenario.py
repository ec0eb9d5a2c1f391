"""Scenario and LoadSpec: validated on construction by the limits, with one error and one wording."""

from __future__ import annotations

import pytest

from asgiscope.server.limits import (
    MARKER_HORIZON_S,
    PLOT_WINDOW_S,
    SERIES_HISTORY_S,
    WORKERS,
    IntRange,
    NotAllowedError,
    NumberRange,
)
from asgiscope.server.load.spec import LoadReport, LoadSpec
from asgiscope.server.scenario import Scenario


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
    with pytest.raises(NotAllowedError) as info:
        Scenario(**changes)  # type: ignore[arg-type]
    assert needle in str(info.value)
    assert info.value.field == next(iter(changes))


def test_unknown_json_field_is_named() -> None:
    with pytest.raises(NotAllowedError, match="threads"):
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
        with pytest.raises(NotAllowedError) as info:
            LoadSpec(**bad)  # type: ignore[arg-type]
        assert info.value.field == field and field in str(info.value)
    report = LoadReport(t=1.0, interval_s=0.1, completed=3, ok=2, errors={"status_5xx": 1})
    assert LoadReport.from_json(report.to_json()) == report


def test_one_error_and_one_wording_for_fields_and_flags() -> None:
    with pytest.raises(NotAllowedError) as scenario_error:
        Scenario(workers=48)
    with pytest.raises(NotAllowedError) as load_error:
        LoadSpec(max_in_flight=0)
    assert (
        str(scenario_error.value) == "workers=48 is not allowed: workers must be a whole number from 1 to 32"
    )
    assert scenario_error.value.as_flag() == (
        "--workers=48 is not allowed: workers must be a whole number from 1 to 32"
    )
    assert load_error.value.as_flag() == (
        "--max-in-flight=0 is not allowed: max-in-flight must be a whole number from 1 to 100000"
    )


@pytest.mark.parametrize(
    ("rule", "text", "value", "allowed"),
    [
        (IntRange(1, 32), "7", 7, None),
        (IntRange(1, 32), "33", None, "a whole number from 1 to 32"),
        (IntRange(1, 32), "two", None, "a whole number from 1 to 32"),
        (IntRange(1, 32), "2.5", None, "a whole number from 1 to 32"),
        (NumberRange(100.0, above=0.0), "0.5", 0.5, None),
        (NumberRange(100.0, above=0.0), "0", None, "a number above 0 and at most 100"),
        (NumberRange(100.0, above=0.0), "nan", None, "a number above 0 and at most 100"),
        (NumberRange(600.0, lo=0.0), "0", 0.0, None),
        (NumberRange(600.0, lo=0.0), "-1", None, "a number from 0 to 600"),
    ],
)
def test_ranges_read_words_or_refuse_them(
    rule: IntRange | NumberRange, text: str, value: float | None, allowed: str | None
) -> None:
    if allowed is None:
        assert rule.parse("x", text) == value
    else:
        with pytest.raises(NotAllowedError) as info:
            rule.parse("x", text)
        assert info.value.allowed == allowed and info.value.field == "x"


def test_a_capped_range_never_leaves_the_server_range() -> None:
    assert WORKERS.capped(48) == WORKERS
    assert WORKERS.capped(4) == IntRange(1, 4)
    assert WORKERS.capped(0) == IntRange(1, 1)


def test_history_is_kept_longer_than_shown_and_markers_longer_still() -> None:
    assert PLOT_WINDOW_S < SERIES_HISTORY_S < MARKER_HORIZON_S
