"""Command-line flags of the desktop app (no Qt here: parsing must work before Qt is imported).

The scenario and load flags take exactly what the panel's controls can show on this machine (sliders
from ``Ranges``, choices from the Literals), checked while parsing and refused in the same sentence as
``asgiscope serve`` and ``asgiscope run`` use.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import fields
from typing import Any, Literal

from asgiscope.gui.model import CHOICE_KINDS, ENDPOINTS, TITLES, Controls, Ranges, load_processes_rule
from asgiscope.server.flags import Rule, add_flag
from asgiscope.server.limits import PORT, TOUR_STEPS, NotAllowedError, NumberRange
from asgiscope.server.priority import BELOW_WINDOW, SAME, WINDOW_FIRST, Priority
from asgiscope.server.scenario import Scenario, check_endpoint
from asgiscope.server.tour import Tour, load_builtin, load_tour

# The app's own knobs: a frame rate a screen can show, snapshots the Lab can build, a day of seconds.
FPS = NumberRange(240.0, lo=1.0)
LAB_HZ = NumberRange(100.0, lo=1.0)
SECONDS = NumberRange(86_400.0, lo=0.0)
WRITABLE = "a file in a folder that exists and that you may write to"
Centre = Literal["flow", "processes"]  # the window's centre tab at start
ThemeName = Literal["dark", "light"]  # as gui/theme.py, which imports Qt


def control_rules(cores: int) -> dict[str, Rule]:
    """Per Controls field, what its flag may ask: what the panel's control can show."""
    rules: dict[str, Rule] = {
        **Ranges.for_cores(cores).rules(),
        **CHOICE_KINDS,
        "load_processes": load_processes_rule(cores),
    }
    assert set(rules) == {f.name for f in fields(Controls)}, "every control has a flag"
    return rules


def parser(cores: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="asgiscope",
        description="Start real FastAPI, Flask and Django servers on 127.0.0.1, drive load at them and "
        "watch why async is fast. `asgiscope serve`, `run`, `tour` and `export` are the headless tools.",
    )
    p.add_argument("--autostart", action="store_true", help="start the load at once")
    p.add_argument(
        "--screenshot",
        metavar="FILE",
        help=f"save a PNG of the window after the load ran a while: {WRITABLE}",
    )
    add_flag(
        p,
        "screenshot_after",
        SECONDS,
        "seconds of load before --screenshot is taken (taken at quit time at the latest)",
        5.0,
    )
    add_flag(p, "quit_after", SECONDS, "close the app after this many seconds")
    add_flag(p, "port", PORT, "server port, 0 for any free one", 0)
    add_flag(p, "fps", FPS, "frame rate (plots redraw one per frame)", 60.0)
    p.add_argument(
        "--fixed-fps",
        action="store_true",
        help="keep --fps even when frames come late on a busy machine (the frame benchmark's baseline)",
    )
    ranks = p.add_mutually_exclusive_group()
    ranks.add_argument(
        "--same-priority",
        action="store_true",
        help="start the servers and the load at the window's CPU priority, not below it (the frame "
        "benchmark's baseline)",
    )
    ranks.add_argument(
        "--window-first",
        action="store_true",
        help="Linux: also put the servers' session below every other program's, so the window stays "
        "smooth while others are busy too; the servers then get less CPU than the prediction expects",
    )
    add_flag(p, "lab_hz", LAB_HZ, "snapshots per second", 20.0)
    add_flag(p, "centre", Centre, "what the centre of the window shows at start", "flow")
    add_flag(p, "theme", ThemeName, "colours: light for a white projector screen (kept for the next start)")
    p.add_argument("--big-type", action="store_true", help="every font 1.5x (the back of the room)")
    p.add_argument("--settings", metavar="FILE", help="INI file for settings instead of the user's")
    p.add_argument("--reset", action="store_true", help="ignore stored settings (defaults, then flags)")
    p.add_argument(
        "--tour",
        metavar="FILE",
        help="start in presenter mode with this tour file (TOML; 'builtin' for the built-in tour); "
        "Right/Left and Page Down/Page Up step through it",
    )
    add_flag(p, "tour_step", TOUR_STEPS, "with --tour: the step to start at (resume a talk, or a slide)", 1)
    p.add_argument(
        "--frame-stats", metavar="FILE", help=f"write GUI frame timing as JSON at exit: {WRITABLE}"
    )
    group = p.add_argument_group("scenario and load (override the stored settings)")
    defaults = Controls()
    for name, rule in control_rules(cores).items():
        add_flag(group, name, rule, TITLES[name], shown_default=getattr(defaults, name))
    return p


def parse(argv: list[str], cores: int | None = None) -> argparse.Namespace:
    """The flags; a refused value exits 2 with usage and one sentence naming flag, value and rule,
    before Qt is imported, so nothing opens and nothing starts."""
    cores = cores or os.cpu_count() or 1
    p = parser(cores)
    args = p.parse_args(argv)
    args.cores = cores
    try:
        check_together(args)
    except NotAllowedError as exc:
        p.error(exc.as_flag())
    try:
        args.tour_loaded = tour_from(args.tour)
    except NotAllowedError as exc:  # the file's own sentence: file, step, field, value, what is allowed
        p.error(str(exc))
    steps = len(args.tour_loaded.steps) if args.tour_loaded else 1
    if args.tour_step > steps:
        p.error(NotAllowedError("tour_step", args.tour_step, f"a step of the tour, 1 to {steps}").as_flag())
    return args


def tour_from(path: str | None) -> Tour | None:
    """The tour ``--tour`` names, read and checked before any window opens."""
    if path is None:
        return None
    return load_builtin() if path == "builtin" else load_tour(path)


def check_together(args: argparse.Namespace) -> None:
    """What no single flag's rule can refuse: a combination the Scenario refuses, an output file that
    could not be written when the time comes (the frame stats are written at exit, after a session)."""
    pair = ("server", "socket", "framework", "worker_class")
    given = {f: getattr(args, f) for f in pair if getattr(args, f) is not None}
    if len(given) > 1 or "framework" in given or "worker_class" in given:
        scenario = Scenario(**given)  # the one rule for pairs, unset fields at their defaults
        if args.handler is not None:
            check_endpoint(scenario, ENDPOINTS[(args.handler, args.work or "io")])
    for field in ("frame_stats", "screenshot"):
        path = getattr(args, field)
        if path is not None:
            folder = os.path.dirname(os.path.abspath(path))
            if not (os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)):
                raise NotAllowedError(field, path, WRITABLE)


def priority(args: argparse.Namespace) -> Priority:
    """What the app starts the servers and the load at: below its window unless ``--same-priority``,
    below every other program with ``--window-first`` (the policy and its price: ``server.priority``)."""
    if args.same_priority:
        return SAME
    return WINDOW_FIRST if args.window_first else BELOW_WINDOW


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {f.name: getattr(args, f.name) for f in fields(Controls) if getattr(args, f.name) is not None}
