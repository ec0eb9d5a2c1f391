"""``asgiscope export``: run a scenario (or every step of a tour) offscreen and write slide-ready files.

    asgiscope export --duration 5 --out DIR --format png,svg,csv,json,gif --scale 2 [--size 1920x1080]
                     [--theme light] [--panel window|plots|flow] [scenario and load flags] [--tour FILE]

Parsing imports no Qt, so a refused flag exits 2 with one sentence before anything starts. Panels and
formats are names here (``Panel``, ``Format``) and tables of builders and writers in
``gui/export_panels.py``: a new panel or format is one entry in each. One file set per scenario, or per
tour step named after it (``03-one-worker-blocks-{panel}.png``). Exit 0 written (each path printed),
1 the run or the writing failed, 2 bad flags.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, get_args

from asgiscope.server.cli_run import add_load_arguments, load_from_args
from asgiscope.server.flags import Parser, UsageError, add_flag, refused
from asgiscope.server.lab.session import Lab, LabError
from asgiscope.server.limits import DURATION_S, IntRange, NotAllowedError, NumberRange
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.serve import add_scenario_arguments, scenario_from_args
from asgiscope.server.tour import Tour, load_builtin, load_tour

Panel = Literal["window", "plots", "flow"]
Format = Literal["png", "svg", "csv", "json", "gif", "apng"]
Size = Literal["1920x1080", "1280x720"]
ThemeName = Literal["dark", "light"]  # as gui/theme.py, which imports Qt
WIDTH = IntRange(640, 7680)
HEIGHT = IntRange(360, 4320)
SCALE = IntRange(1, 3)
CLIP_S = NumberRange(10.0, lo=0.5)
OUT = "a folder that exists (or whose parent exists) and that you may write to"
FORMATS = f"a comma-separated list of {', '.join(get_args(Format))}"
PICTURES: tuple[Format, ...] = ("png", "svg")
SERIES: tuple[Format, ...] = ("csv", "json")  # the same rows whatever the panel
CLIPS: tuple[Format, ...] = ("gif", "apng")


@dataclass(frozen=True, slots=True)
class Shot:
    """One file set: what runs, and the name its files start with."""

    stem: str  # "" for a lone scenario, "03-one-worker-blocks-" for a tour's step 3
    scenario: Scenario
    load: LoadSpec


@dataclass(frozen=True, slots=True)
class ExportArgs:
    panel: Panel
    formats: tuple[Format, ...]
    duration: float
    out: Path
    width: int
    height: int
    scale: int
    theme: ThemeName
    big_type: bool
    caption: bool
    clip_s: float
    shots: tuple[Shot, ...]
    no_load: bool
    port: int

    @property
    def format(self) -> Format:
        return self.formats[0]

    @property
    def path(self) -> Path:
        return self.path_for(self.shots[0], self.format)

    def path_for(self, shot: Shot, fmt: Format) -> Path:
        what = "series" if fmt in SERIES else self.panel
        return self.out / f"{shot.stem}{what}.{fmt}"


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="asgiscope export", description=__doc__.splitlines()[0] if __doc__ else None)
    e = p.add_argument_group("export")
    add_flag(e, "panel", Panel, "what to draw", "flow")
    e.add_argument(
        "--format", default="png", metavar="FORMATS", help=f"what to write: {FORMATS} (default: png)"
    )
    add_flag(
        e, "duration", DURATION_S, "seconds the scenario (each step) runs before the files are written", 5.0
    )
    e.add_argument("--out", required=True, metavar="DIR", help=f"where the files are written: {OUT}")
    add_flag(e, "size", Size, "canvas size of a slide (sets --width and --height)")
    add_flag(e, "width", WIDTH, "picture width in logical pixels", 1920)
    add_flag(e, "height", HEIGHT, "picture height in logical pixels", 1080)
    add_flag(
        e,
        "scale",
        SCALE,
        "device pixels per logical pixel of a png, rendered at that resolution (clips are 1x)",
        1,
    )
    add_flag(e, "theme", ThemeName, "colours: light for a white projector screen", "dark")
    e.add_argument("--big-type", action="store_true", help="every font 1.5x (the back of the room)")
    e.add_argument(
        "--caption",
        action="store_true",
        help="stamp the scenario, measured vs predicted and the version under it",
    )
    add_flag(e, "clip", CLIP_S, "seconds of the last part of the run a gif/apng clip holds", 3.0)
    e.add_argument(
        "--tour",
        metavar="FILE",
        help="export every step of this tour (TOML, or 'builtin'), one file set per step named after it",
    )
    add_scenario_arguments(p, port=0)
    g = add_load_arguments(p)
    g.add_argument("--no-load", action="store_true", help="send nothing: picture the idle server")
    return p


def formats_from(text: str) -> tuple[Format, ...]:
    words = tuple(w.strip() for w in text.split(","))
    allowed: tuple[str, ...] = get_args(Format)
    if not words or any(w not in allowed for w in words) or len(set(words)) != len(words):
        raise NotAllowedError("format", text, FORMATS)
    return words  # type: ignore[return-value]


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48]


def shots_from(ns: argparse.Namespace) -> tuple[Shot, ...]:
    if ns.tour is None:
        return (Shot("", scenario_from_args(ns), load_from_args(ns)),)
    tour: Tour = load_builtin() if ns.tour == "builtin" else load_tour(ns.tour)
    return tuple(
        Shot(f"{k:02d}-{slug(step.title)}-", step.scenario, step.load) for k, step in enumerate(tour.steps, 1)
    )


def parse(argv: list[str]) -> ExportArgs:
    ns = build_parser().parse_args(argv)
    try:
        formats = formats_from(ns.format)
        shots = shots_from(ns)
    except NotAllowedError as exc:
        # a tour file's own sentence names the file, step and field; a flag's names the flag
        raise UsageError(
            str(exc) if ns.tour is not None and exc.field != "format" else exc.as_flag()
        ) from None
    out = Path(ns.out).expanduser()
    where = out if out.is_dir() else out.parent
    if not (where.is_dir() and os.access(where, os.W_OK | os.X_OK)):
        raise UsageError(NotAllowedError("out", ns.out, OUT).as_flag())
    if ns.clip > ns.duration and set(formats) & set(CLIPS):
        allowed = f"at most --duration ({ns.duration:g} s): the clip is the run's last part"
        raise UsageError(NotAllowedError("clip", ns.clip, allowed).as_flag())
    width, height = (int(x) for x in ns.size.split("x")) if ns.size else (ns.width, ns.height)
    return ExportArgs(
        panel=ns.panel,
        formats=formats,
        duration=ns.duration,
        out=out,
        width=width,
        height=height,
        scale=ns.scale,
        theme=ns.theme,
        big_type=ns.big_type,
        caption=ns.caption,
        clip_s=ns.clip,
        shots=shots,
        no_load=ns.no_load,
        port=ns.port or 0,
    )


class Drawer(Protocol):
    """What export_panels' Exporter does, as seen from here (no Qt import at parse time)."""

    def begin(self, shot: Shot) -> None: ...
    def frame(self, lab: Lab) -> None: ...
    def write(self, lab: Lab, shot: Shot) -> list[Path]: ...
    def fps(self) -> float: ...


async def capture(args: ExportArgs, drawer: Drawer) -> list[Path]:
    """Run each shot for ``args.duration`` seconds, grabbing clip frames over its last part, then write."""
    first = args.shots[0]
    written: list[Path] = []
    lab = Lab(first.scenario, first.load, port=args.port)
    clip = bool(set(args.formats) & set(CLIPS))
    async with lab:
        for shot in args.shots:
            if len(args.shots) > 1:
                print(f"{shot.stem.rstrip('-')}", file=sys.stderr, flush=True)
            await lab.apply(shot.scenario)
            await lab.set_load(shot.load)
            if not args.no_load:
                await lab.start_load()
            drawer.begin(shot)
            await asyncio.sleep(args.duration - (args.clip_s if clip else 0.0))
            if clip:
                loop = asyncio.get_running_loop()
                period = 1.0 / drawer.fps()
                frames = round(args.clip_s * drawer.fps())
                start = loop.time()
                for k in range(frames):
                    drawer.frame(lab)
                    # on a schedule, not after each grab: a slow grab must not stretch the clip
                    await asyncio.sleep(max(0.0, start + (k + 1) * period - loop.time()))
            written += drawer.write(lab, shot)
            if not args.no_load:
                await lab.stop_load()
    return written


def main(argv: list[str]) -> int:
    try:
        args = parse(argv)
    except UsageError as exc:
        return refused("asgiscope export", exc)
    # Offscreen whatever the display: an export opens no window.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["QT_API"] = "pyside6"
    os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"
    from asgiscope.gui.export_panels import Exporter

    exporter = Exporter(args)
    try:
        paths = asyncio.run(capture(args, exporter))
    except (LabError, OSError) as exc:
        print(f"asgiscope export: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("asgiscope export: interrupted", file=sys.stderr)
        return 1
    finally:
        exporter.close()
    for path in paths:
        print(path)
    return 0
