"""Tour files: a good one loads, every kind of bad one is refused in one sentence, the built-in one holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgiscope.server import cli_tour
from asgiscope.server.limits import USERS, NotAllowedError
from asgiscope.server.scenario import Scenario
from asgiscope.server.tour import TourFileError, load_builtin, load_tour, parse_tour

GOOD = """
title = "A tour"
seconds = 8
warmup = 1

[[steps]]
title = "async"
caption = "One loop overlaps every wait."
scenario = { workers = 1 }
load = { endpoint = "io/async", ms = 100, users = 50 }

[[steps]]
title = "scaling"
caption = "A second worker adds a core."
seconds = 10
scenario = { server = "gunicorn", workers = 1 }
load = { endpoint = "cpu/sync", ms = 20, users = 8, rate = 50 }
changes = ["5:workers=2", "2:ms=10"]

[[steps]]
title = "Flask"
caption = "A sync worker serves one request at a time."
scenario = { framework = "flask", server = "gunicorn", worker_class = "sync" }
load = { endpoint = "io/sync" }
"""


def step(body: str, scenario: str = "{}", load: str = '{ endpoint = "io/async" }') -> str:
    """A one-step tour whose step is ``body`` plus a scenario and a load."""
    return (
        f'title = "T"\n[[steps]]\ntitle = "S"\ncaption = "C."\nscenario = {scenario}\nload = {load}\n{body}\n'
    )


def refusal(text: str) -> TourFileError:
    with pytest.raises(TourFileError) as info:
        parse_tour(text, "my.toml")
    return info.value


def test_a_good_file_loads_with_its_defaults_and_changes(tmp_path: Path) -> None:
    path = tmp_path / "tour.toml"
    path.write_text(GOOD)
    tour = load_tour(path)
    assert (tour.title, tour.source, tour.warmup) == ("A tour", str(path), 1.0)
    first, second, flask = tour.steps
    assert (first.title, first.caption, first.seconds) == ("async", "One loop overlaps every wait.", 8.0)
    assert first.scenario == Scenario(workers=1)
    assert (first.load.endpoint, first.load.ms, first.load.users) == ("io/async", 100, 50)
    assert second.seconds == 10.0 and second.load.rate == 50.0
    # in time order, each with what runs from then on
    assert [(c.at_s, c.values) for c in second.changes] == [(2.0, {"ms": 10}), (5.0, {"workers": 2})]
    assert second.changes[1].scenario == Scenario(server="gunicorn", workers=2)
    assert second.changes[1].load.ms == 10
    assert (flask.scenario.framework, flask.scenario.worker_class) == ("flask", "sync")


def test_step_seconds_keeps_each_change_at_its_place_in_the_step() -> None:
    tour = parse_tour(GOOD, "t").with_step_seconds(4)
    assert [s.seconds for s in tour.steps] == [4.0, 4.0, 4.0]
    assert [c.at_s for c in tour.steps[1].changes] == [0.8, 2.0]
    with pytest.raises(NotAllowedError, match="step_seconds=0"):
        tour.with_step_seconds(0)


def test_the_built_in_tour_tells_the_story_of_issue_9() -> None:
    tour = load_builtin()
    assert len(tour.steps) >= 8
    frameworks = {(s.scenario.framework, s.scenario.worker_class) for s in tour.steps}
    assert {("flask", "sync"), ("flask", "gthread"), ("django", "sync"), ("fastapi", "uvicorn")} <= frameworks
    assert ("django", "uvicorn") in frameworks
    endpoints = {s.load.endpoint for s in tour.steps}
    assert {"io/async", "io/sync", "io/blocking", "cpu/sync"} <= endpoints
    changed = {k for s in tour.steps for c in s.changes for k in c.values}
    assert {"workers", "socket", "loop", "http"} <= changed
    for s in tour.steps:
        assert s.caption.endswith(".") and s.caption.count(". ") == 0, s.caption  # one sentence


@pytest.mark.parametrize(
    ("text", "field", "value", "allowed"),
    [
        ("title = 'T'\nsteps = []", "steps", 0, "a list of [[steps]] tables, 1 to 50 of them"),
        ("title = 'T'\nsteps = [1]", "steps[1]", 1, "a table"),
        ("title = 'T'\nspeed = 2\n[[steps]]", "speed", 2, "absent (known: title, seconds, warmup, steps)"),
        ("[[steps]]", "title", None, "one line of text, 1 to 80 characters"),
        ("title = 'T'\nseconds = -1\n[[steps]]", "seconds", -1, "a number above 0 and at most 3600"),
        (step('caption = "x"'), "tour", "the file", None),  # a key given twice is not TOML
        (step("", scenario="{ workers = 48 }"), "scenario.workers", 48, "a whole number from 1 to 32"),
        (step("", scenario="{ cores = 2 }"), "scenario.cores", 2, None),
        (step("", scenario='{ framework = "flask" }'), "scenario.server", "uvicorn", None),
        (step("", load='{ endpoint = "io/nothing" }'), "load.endpoint", "io/nothing", None),
        (step("", load='{ endpoint = "hello", running = false }'), "load.running", False, None),
        (step("", load='{ endpoint = "hello", users = 0 }'), "load.users", 0, USERS.allowed),
        (
            step("", scenario='{ framework = "flask", server = "gunicorn", worker_class = "sync" }'),
            "load.endpoint",
            "io/async",
            None,
        ),
        (step("scenario = 3"), "tour", "the file", None),
        (step("speed = 3"), "speed", 3, None),
        (step("changes = '4:workers=2'"), "changes", "4:workers=2", None),
        (step("changes = ['4:workers=99']"), "changes", "4:workers=99", None),
        (step("changes = ['40:workers=2']"), "changes", "40:workers=2", None),
        (step("changes = ['4:cores=2']"), "changes", "4:cores=2", None),
        (step("seconds = 5\nchanges = ['4:socket=reuse_port']"), "changes", "4:socket=reuse_port", None),
    ],
)
def test_a_bad_file_is_refused_naming_file_step_field_value_and_what_is_allowed(
    text: str, field: str, value: object, allowed: str | None
) -> None:
    exc = refusal(text)
    message = str(exc)
    assert message.startswith("my.toml"), message
    assert (exc.field, exc.value) == (field, value), message
    assert f"{field}={value!r} is not allowed: {field} must be " in message
    if allowed is not None:
        assert exc.allowed == allowed
    if "[[steps]]" not in text and field not in ("steps", "steps[1]"):
        assert "step 1 ('S')" in message or field == "title", message
    assert "\n" not in message


def test_a_missing_or_unreadable_file_is_one_sentence(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(TourFileError, match="a readable UTF-8 TOML file"):
        load_tour(missing)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TourFileError, match="a readable UTF-8 TOML file"):
        load_tour(binary)


def test_the_command_refuses_a_bad_file_and_bad_flags_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(step("", scenario="{ workers = 48 }"))
    assert cli_tour.main(["--tour", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("asgiscope tour: error: ") and "scenario.workers=48 is not allowed" in err
    assert str(bad) in err and "Traceback" not in err and "\n" not in err
    for argv in (["--step-seconds", "0"], ["--step-seconds", "x"], ["--warmup", "-1"], ["--bogus"]):
        assert cli_tour.main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("asgiscope tour: error: ") and "\n" not in err, err
