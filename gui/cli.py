"""Command-line flags of the desktop app (no Qt here: parsing must work before Qt is imported)."""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any, Literal, get_args, get_origin, get_type_hints

from asgiscope.gui.model import Controls

# controls that can be set from the command line; their values are checked by Scenario / LoadSpec
OVERRIDES: dict[str, type] = {f.name: type(getattr(Controls(), f.name)) for f in fields(Controls)}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="asgiscope",
        description="Start real FastAPI servers on 127.0.0.1, drive load at them and watch why async "
        "is fast. "
        "`asgiscope serve ...` and `asgiscope run ...` are the headless tools.",
    )
    p.add_argument("--autostart", action="store_true", help="start the load at once")
    p.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window after the load ran a while")
    p.add_argument(
        "--screenshot-after",
        metavar="SECONDS",
        type=float,
        default=5.0,
        help="seconds of load before --screenshot is taken (default 5; taken at quit time at the latest)",
    )
    p.add_argument("--quit-after", metavar="SECONDS", type=float, help="close the app after this long")
    p.add_argument("--port", type=int, default=0, help="server port (default: any free one)")
    p.add_argument(
        "--fps", type=float, default=60.0, help="frame rate (default 60; plots redraw one per frame)"
    )
    p.add_argument("--lab-hz", type=float, default=20.0, help="snapshots per second (default 20)")
    p.add_argument("--settings", metavar="FILE", help="INI file for settings instead of the user's")
    p.add_argument("--reset", action="store_true", help="ignore stored settings (defaults, then flags)")
    p.add_argument("--frame-stats", metavar="FILE", help="write GUI frame timing as JSON at exit")
    group = p.add_argument_group("scenario and load (override the stored settings)")
    hints = get_type_hints(Controls)
    defaults = Controls()
    for name, kind in OVERRIDES.items():
        default = getattr(defaults, name)
        if get_origin(hints[name]) is Literal:
            # A word the panel does not offer is refused here, with the choices, before anything starts.
            choices = [str(c) for c in get_args(hints[name])]
            group.add_argument(
                f"--{name}", choices=choices, default=None, help=f"{', '.join(choices)} (default {default})"
            )
        else:
            group.add_argument(
                f"--{name}", type=kind, default=None, metavar=name.upper(), help=f"(default {default})"
            )
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    return parser().parse_args(argv)


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in OVERRIDES if getattr(args, name) is not None}
