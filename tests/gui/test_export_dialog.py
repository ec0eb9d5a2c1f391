"""The export dialog's choices written from a real window: scales, one plot, series, clipboard, clips."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from asgiscope.gui.driver import LabDriver
from asgiscope.gui.export_dialog import Choice, ExportDialog, target_of
from asgiscope.gui.model import Controls
from asgiscope.gui.theme import Colors
from asgiscope.gui.window import MainWindow
from tests.gui.fakes import FakeLab


def make(qtbot: QtBot, fake_lab: FakeLab, folder: Path) -> MainWindow:
    c = Controls()
    driver = LabDriver(fake_lab, c.scenario(), c.load(running=False), lambda _m: None)
    w = MainWindow(driver, c, store=None, colors=Colors(), cores=2)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w.show_snapshot(fake_lab.snap)
    w.exports.last = Choice(folder=str(folder))
    return w


def test_png_at_each_scale_and_one_plot(qtbot: QtBot, fake_lab: FakeLab, tmp_path: Path) -> None:
    w = make(qtbot, fake_lab, tmp_path)
    for scale in (1, 2, 3):
        w.exports.last = Choice(target="window", how="png", scale=scale, folder=str(tmp_path))
        path = w.exports.again()
        assert path is not None
        image = QImage(str(path))
        assert (image.width(), image.height()) == (1200 * scale, 800 * scale)
        path.unlink()
    w.exports.last = Choice(target="latency", how="png", scale=2, caption=True, folder=str(tmp_path))
    path = w.exports.again()
    assert path is not None and "latency" in path.name
    _view, area = target_of(w, "latency")
    assert area is not None and 100 < area.width() < 1200
    image = QImage(str(path))
    assert image.width() == area.width() * 2 and image.height() > area.height() * 2  # + the caption band


def test_svg_series_and_clipboard(qtbot: QtBot, fake_lab: FakeLab, tmp_path: Path) -> None:
    w = make(qtbot, fake_lab, tmp_path)
    w.exports.last = Choice(target="plots", how="svg", caption=True, folder=str(tmp_path))
    root = ET.parse(w.exports.again() or "").getroot()
    texts = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Throughput" in texts and "fastapi on uvicorn" in texts  # the caption, as text
    w.exports.last = Choice(target="plots", how="csv", folder=str(tmp_path))
    with (w.exports.again() or Path()).open() as f:
        rows = list(csv.reader(f))
    assert len(rows) - 1 == len(fake_lab.snap.series.t)
    w.exports.last = Choice(target="flow", how="clipboard", scale=2, folder=str(tmp_path))
    assert w.exports.again() is None
    copied = QGuiApplication.clipboard().image()
    assert copied.width() == w.flow.width() * 2


def test_a_clip_records_then_writes_the_last_seconds(qtbot: QtBot, fake_lab: FakeLab, tmp_path: Path) -> None:
    w = make(qtbot, fake_lab, tmp_path)
    w.exports.last = Choice(target="flow", how="gif", clip_s=1.0, folder=str(tmp_path))
    assert w.exports.again() is None  # starts recording
    recorder = w.exports.recorder
    assert recorder is not None
    qtbot.waitUntil(lambda: recorder.full, timeout=10_000)
    path = w.exports.again()
    assert path is not None
    with Image.open(path) as gif:
        assert gif.size == (w.flow.width(), w.flow.height())
    w.exports.stop()


def test_the_dialog_gives_back_its_choices(qtbot: QtBot) -> None:
    chosen = Choice(target="cpu", how="apng", scale=3, caption=True, clip_s=4.0, folder="/tmp")
    dialog = ExportDialog(chosen)
    qtbot.addWidget(dialog)
    assert dialog.choice() == chosen


def test_a_short_span_scales_to_what_it_shows(qtbot: QtBot) -> None:
    """An export's plots span the run: a tour's earlier step, scrolled out, must not set the y scale."""
    from dataclasses import replace

    import numpy as np

    from asgiscope.gui.plots import PlotsPanel
    from tests.gui.fakes import make_snapshot

    snap = make_snapshot(t=30.0)
    s = snap.series
    rps = np.where(s.t < 20.0, 5000.0, 100.0)  # a fast step long ago, then a slow one
    snap = replace(snap, series=replace(s, client_rps=rps, server_rps=rps, predicted_rps=rps))
    panel = PlotsPanel(Colors(), window_s=5.0)
    qtbot.addWidget(panel)
    panel.show_snapshot(snap)
    top = panel.throughput.getViewBox().viewRange()[1][1]
    assert 100 < top < 1000
