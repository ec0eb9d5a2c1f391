"""``--at``: scripted changes are parsed and checked before anything starts (pure logic, no servers)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asgiscope.server import cli_run
from asgiscope.server.cli_run import at_rules
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.scripted import ScriptError, parse_at, render_phases


def parse(*texts: str, duration: float = 10.0) -> list:  # type: ignore[type-arg]
    return parse_at(list(texts), at_rules(), duration, Scenario(workers=1), LoadSpec())


def test_changes_come_in_time_order_each_with_what_runs_from_then_on() -> None:
    early, late = parse("8:endpoint=io/sync,ms=50", "4:workers=2")
    assert (early.at_s, early.values) == (4.0, {"workers": 2})
    assert early.scenario == Scenario(workers=2) and early.load == LoadSpec()
    assert (late.at_s, late.values) == (8.0, {"endpoint": "io/sync", "ms": 50})
    # changes add up: the later one keeps the earlier one's workers
    assert late.scenario.workers == 2 and late.load.endpoint == "io/sync" and late.load.ms == 50
    assert late.label == "endpoint=io/sync,ms=50"


def test_every_scenario_and_load_field_can_be_scripted() -> None:
    (change,) = parse(
        "2.5:server=gunicorn,socket=reuse_port,tokens=8,loop=uvloop,http=httptools,users=7,"
        "engine=aiohttp,connection=forever,mode=open,rate=12.5,max-in-flight=9"
    )
    assert change.scenario == Scenario(
        server="gunicorn", workers=1, loop="uvloop", http="httptools", tokens=8, socket="reuse_port"
    )
    assert change.load == LoadSpec(
        users=7, engine="aiohttp", connection="forever", mode="open", rate=12.5, max_in_flight=9
    )


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("3:workers=99", "--at '3:workers=99' is not allowed: workers must be a whole number from 1 to 32"),
        ("3:ms=soon", "--at '3:ms=soon' is not allowed: ms must be a whole number from 0 to 10000"),
        ("3:connection=never", "connection must be one of 'per-request', '1s', 'forever'"),
        ("3:wrkers=2", "--at '3:wrkers=2' is not allowed: FIELD must be one of server, workers, loop,"),
        ("3workers=2", "--at '3workers=2' is not allowed: --at must be SECONDS:FIELD=VALUE[,FIELD=VALUE]"),
        ("3:", "--at must be SECONDS:FIELD=VALUE"),
        ("3:workers", "--at must be SECONDS:FIELD=VALUE"),
        ("3:=2", "--at must be SECONDS:FIELD=VALUE"),
        ("0:workers=2", "SECONDS must be a number above 0 and below the duration (10 s)"),
        ("10:workers=2", "SECONDS must be a number above 0 and below the duration (10 s)"),
        ("nan:workers=2", "SECONDS must be a number above 0"),
        ("soon:workers=2", "SECONDS must be a number above 0"),
        ("3:socket=reuse_port", "socket must be 'shared' with server 'uvicorn' (reuse_port needs gunicorn)"),
    ],
)
def test_a_bad_change_is_refused_in_one_sentence(text: str, sentence: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse(text)
    assert sentence in str(info.value)
    assert "\n" not in str(info.value)


def test_the_command_line_refuses_a_bad_change_with_exit_2_before_anything_starts() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asgiscope.server.cli_run", "--at", "3:workers=99", "--at", "1:ms=5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    sentence = "--at '3:workers=99' is not allowed: workers must be a whole number from 1 to 32"
    assert proc.stderr.strip() == f"asgiscope run: error: {sentence}"


def test_parse_builds_the_changes_and_the_connection_flag() -> None:
    args = cli_run.parse(["--connection", "forever", "--at", "4:workers=3", "--at", "2:connection=1s"])
    assert args.lab.load.connection == "forever"
    assert [(c.at_s, c.load.connection, c.scenario.workers) for c in args.changes] == [
        (2.0, "1s", 2),
        (4.0, "1s", 3),
    ]


def test_phases_render_as_a_small_table() -> None:
    phases = [
        {
            "from_s": 0.0,
            "to_s": 3.0,
            "change": {},
            "measured_rps": 186.0,
            "predicted_rps": 190.0,
            "workers": [{"pid": 11, "requests": 558, "share": 1.0}],
        },
        {
            "from_s": 3.0,
            "to_s": 8.0,
            "change": {"workers": 2},
            "measured_rps": 370.0,
            "predicted_rps": None,
            "workers": [
                {"pid": 11, "requests": 1000, "share": 0.54},
                {"pid": 12, "requests": 850, "share": 0.46},
            ],
        },
    ]
    head, first, second = render_phases(phases)
    assert head.split()[:6] == ["phase", "from", "s", "to", "s", "change"]
    assert first.split()[:6] == ["1", "0.0", "3.0", "-", "186.0", "190.0"]
    assert second.split()[:6] == ["2", "3.0", "8.0", "workers=2", "370.0", "-"]
    assert "12: 850 (46%)" in second
