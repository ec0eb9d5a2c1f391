"""``asgiscope export``: run a scenario offscreen and write one panel as a picture after S seconds.

    asgiscope export --panel flow --format png --duration 5 --out DIR [scenario and load flags as for run]

Parsing imports no Qt, so a refused flag exits 2 with one sentence before anything starts. Panels and
formats are names here (``Panel``, ``Format``) and tables of builders and writers in
``gui/export_panels.py``: a new panel, format or theme is one entry in each. Exit 0 written (the path
is printed), 1 the run or the writing failed, 2 bad flags.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from asgiscope.server.cli_run import UsageError, _Parser, add_load_arguments, load_from_args
from asgiscope.server.flags import EXIT_USAGE, add_flag
from asgiscope.server.lab.session import Lab, LabError
from asgiscope.server.limits import DURATION_S, IntRange, NotAllowedError, NumberRange
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.serve import add_scenario_arguments, scenario_from_args

Panel = Literal["flow"]
Format = Literal["png", "svg"]
WIDTH = IntRange(640, 7680)
HEIGHT = IntRange(360, 4320)
SCALE = NumberRange(4.0, lo=0.5)
OUT = "a folder that exists (or whose parent exists) and that you may write to"


@dataclass(frozen=True, slots=True)
class ExportArgs:
    panel: Panel
    format: Format
    duration: float
    out: Path
    width: int
    height: int
    scale: float
    scenario: Scenario
    load: LoadSpec
    no_load: bool
    port: int

    @property
    def path(self) -> Path:
        return self.out / f"{self.panel}.{self.format}"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="asgiscope export", description=__doc__.splitlines()[0] if __doc__ else None)
    e = p.add_argument_group("export")
    add_flag(e, "panel", Panel, "what to draw", "flow")
    add_flag(e, "format", Format, "picture format", "png")
    add_flag(e, "duration", DURATION_S, "seconds the scenario runs before the picture is taken", 5.0)
    e.add_argument(
        "--out", required=True, metavar="DIR", help=f"where {{panel}}.{{format}} is written: {OUT}"
    )
    add_flag(e, "width", WIDTH, "picture width in logical pixels", 1920)
    add_flag(e, "height", HEIGHT, "picture height in logical pixels", 1080)
    add_flag(e, "scale", SCALE, "device pixels per logical pixel (png)", 1.0)
    add_scenario_arguments(p, port=0)
    g = add_load_arguments(p)
    g.add_argument("--no-load", action="store_true", help="send nothing: picture the idle server")
    return p


def parse(argv: list[str]) -> ExportArgs:
    ns = build_parser().parse_args(argv)
    try:
        scenario = scenario_from_args(ns)
    except NotAllowedError as exc:
        raise UsageError(exc.as_flag()) from None
    out = Path(ns.out).expanduser()
    where = out if out.is_dir() else out.parent
    if not (where.is_dir() and os.access(where, os.W_OK | os.X_OK)):
        raise UsageError(NotAllowedError("out", ns.out, OUT).as_flag())
    return ExportArgs(
        panel=ns.panel,
        format=ns.format,
        duration=ns.duration,
        out=out,
        width=ns.width,
        height=ns.height,
        scale=ns.scale,
        scenario=scenario,
        load=load_from_args(ns),
        no_load=ns.no_load,
        port=ns.port or 0,
    )


async def capture(args: ExportArgs, draw: Any) -> Path:
    """Run the scenario for ``args.duration`` seconds, then ``draw(lab)`` (Qt, in export_panels)."""
    lab = Lab(args.scenario, args.load, port=args.port)
    async with lab:
        if not args.no_load:
            await lab.start_load()
        await asyncio.sleep(args.duration)
        draw(lab)
        if not args.no_load:
            await lab.stop_load()
    return args.path


def main(argv: list[str]) -> int:
    try:
        args = parse(argv)
    except UsageError as exc:
        print(f"asgiscope export: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Offscreen whatever the display: an export opens no window.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["QT_API"] = "pyside6"
    os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"
    from asgiscope.gui.export_panels import Exporter

    exporter = Exporter(args)
    try:
        path = asyncio.run(capture(args, exporter.draw))
    except (LabError, OSError) as exc:
        print(f"asgiscope export: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("asgiscope export: interrupted", file=sys.stderr)
        return 1
    print(path)
    return 0
