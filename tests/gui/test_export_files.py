"""``asgiscope export`` of real runs, offscreen: every format at the asked pixel size, and a tour's steps.

Each test starts real servers and real load for a few seconds (the subprocess runs with no display).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QColor, QImage

from asgiscope.gui.theme import LIGHT, Colors

SVG = "{http://www.w3.org/2000/svg}"
SCENARIO = ("--workers", "2", "--tokens", "4", "--endpoint", "io/sync", "--ms", "100", "--users", "20")


def export(*args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    # no display of any kind and no platform chosen: the command must pick offscreen itself
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    cmd = [sys.executable, "-m", "asgiscope", "export", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def clip_ms(image: Image.Image) -> int:
    total = 0
    for k in range(image.n_frames):
        image.seek(k)
        total += int(image.info["duration"])
    return total


def colours_of(image: QImage, step: int = 5) -> set[int]:
    return {image.pixel(x, y) for x in range(0, image.width(), step) for y in range(0, image.height(), step)}


def test_plots_in_every_format_at_2x_in_the_light_theme(tmp_path: Path) -> None:
    out = export(
        "--panel", "plots", "--format", "png,svg,csv,json,gif", "--scale", "2", "--size", "1280x720",
        "--theme", "light", "--duration", "3", "--clip", "1", "--out", str(tmp_path), *SCENARIO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    names = ["plots.png", "plots.svg", "series.csv", "series.json", "plots.gif"]
    assert out.stdout.split() == [str(tmp_path / n) for n in names]

    png = QImage(str(tmp_path / "plots.png"))
    assert (png.width(), png.height()) == (2560, 1440)  # rendered at 2x, exactly
    colours = colours_of(png)
    assert len(colours) > 20  # not blank
    assert QColor(LIGHT.plot_bg).rgb() in colours  # the light theme, not the dark one
    assert QColor(Colors().plot_bg).rgb() not in colours

    root = ET.parse(tmp_path / "plots.svg").getroot()
    assert root.tag == f"{SVG}svg"
    paths = root.findall(f".//{SVG}path") + root.findall(f".//{SVG}polyline")
    texts = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert len(paths) > 10  # curves and axes stay vectors
    assert "Throughput" in texts and "% of a core" in texts  # text stays text

    with (tmp_path / "series.csv").open() as f:
        table = list(csv.reader(f))
    data = json.loads((tmp_path / "series.json").read_text())
    assert table[0] == data["columns"] and table[0][:3] == ["t", "client_rps", "server_rps"]
    assert len(table) - 1 == len(data["rows"]) > 10  # ~10 samples a second for 3 s
    for row, jrow in zip(table[1:], data["rows"], strict=True):
        assert [float(v) if v else None for v in row] == jrow  # the same Snapshot, both ways
    assert data["scenario"]["workers"] == 2 and data["load"]["endpoint"] == "io/sync"
    served = [r[2] for r in data["rows"] if r[2] is not None]
    assert max(served) > 20  # 2 workers x 4 tokens / 100 ms: real requests were measured

    with Image.open(tmp_path / "plots.gif") as gif:
        assert gif.size == (1280, 720)  # clips are 1x
        # 1 s at 10 frames a second; Pillow merges a frame identical to the one before into it (plots
        # move only with a new sample), adding its time: the clip's length is exact either way
        assert 1 < gif.n_frames <= 10 and clip_ms(gif) == 1000


def test_flow_at_3x_with_big_type_and_a_caption_in_the_dark_theme(tmp_path: Path) -> None:
    out = export(
        "--panel", "flow", "--format", "png,apng", "--scale", "3", "--size", "1280x720", "--big-type",
        "--caption", "--duration", "3", "--clip", "0.5", "--out", str(tmp_path), *SCENARIO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    png = QImage(str(tmp_path / "flow.png"))
    # the caption band is inside the canvas: the file is exactly the slide size
    assert (png.width(), png.height()) == (3840, 2160)
    assert QColor(Colors().server).rgb() in colours_of(png, 3)  # the full threadpools, drawn
    with Image.open(tmp_path / "flow.apng") as clip:
        assert clip.size == (1280, 720) and 1 < clip.n_frames <= 5 and clip_ms(clip) == 500


TOUR = """
title = "two steps"
[[steps]]
title = "One worker, threads"
caption = "Four tokens serve four requests at a time."
scenario = { workers = 1, tokens = 4 }
load = { endpoint = "io/sync", ms = 100, users = 10 }
[[steps]]
title = "Async!"
caption = "The loop overlaps the waits."
scenario = { workers = 1 }
load = { endpoint = "io/async", ms = 100, users = 10 }
"""


def test_a_tour_gives_one_file_set_per_step_named_after_it(tmp_path: Path) -> None:
    tour = tmp_path / "talk.toml"
    tour.write_text(TOUR)
    out = export(
        "--tour", str(tour), "--panel", "window", "--format", "png,json", "--size", "1280x720",
        "--duration", "2", "--out", str(tmp_path / "deck"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    deck = tmp_path / "deck"
    assert sorted(p.name for p in deck.iterdir()) == [
        "01-one-worker-threads-series.json",
        "01-one-worker-threads-window.png",
        "02-async-series.json",
        "02-async-window.png",
    ]
    for k, endpoint in ((1, "io/sync"), (2, "io/async")):
        (data,) = [json.loads(p.read_text()) for p in deck.glob(f"0{k}-*.json")]
        assert data["load"]["endpoint"] == endpoint  # each step's own scenario ran
        image = QImage(str(next(deck.glob(f"0{k}-*.png"))))
        assert (image.width(), image.height()) == (1280, 720)
