"""``asgiscope serve`` as a user runs it: a foreground process, real HTTP, stopped by a signal."""

from __future__ import annotations

import argparse
import signal

import httpx
import pytest

from asgiscope.server.launch.proctree import wait_gone
from asgiscope.server.scenario import Scenario
from asgiscope.server.serve import add_scenario_arguments, main, scenario_from_args
from tests.serve_proc import serve


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_scenario_arguments(parser)
    return parser.parse_args(argv)


def test_flags_cover_every_scenario_field() -> None:
    argv = "--server gunicorn --workers 3 --loop uvloop --http httptools --tokens 7 --socket reuse_port"
    ns = parse([*argv.split(), "--port", "0"])
    assert scenario_from_args(ns) == Scenario("gunicorn", 3, "uvloop", "httptools", 7, "reuse_port")
    assert ns.port == 0
    assert scenario_from_args(parse([])) == Scenario()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "0"], "workers=0 is not allowed: workers must be a whole number from 1 to 32"),
        (["--loop", "trio"], "loop='trio' is not allowed"),
        (["--socket", "reuse_port"], "reuse_port needs gunicorn"),
        (["--workers", "two"], "--workers='two' is not allowed: workers must be a whole number from 1 to 32"),
        (["--port", "70000"], "--port=70000 is not allowed: port must be a whole number from 0 to 65535"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_exit_2_with_the_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    assert code == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_starts_answers_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    with serve("--workers", "2", "--server", "gunicorn") as run:
        assert len(run.workers) == 2
        reply = httpx.get(f"{run.url}/hello").json()
        assert reply["pid"] in run.workers

        run.proc.send_signal(stop_signal)
        out, err = run.proc.communicate(timeout=15)
        assert run.proc.returncode == 0, err
        assert "stopping" in out
        assert wait_gone({run.master, *run.workers}, 3.0) == set()
