"""Themes for a projector: text contrast, big type, a palette whose series stay apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor

from asgiscope.gui.cli import parse
from asgiscope.gui.settings import Store
from asgiscope.gui.theme import BIG_TYPE, THEMES, ThemeName, theme


def luminance(hex_colour: str) -> float:
    c = QColor(hex_colour)

    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("name", list(THEMES))
def test_text_is_high_contrast_and_lines_are_visible(name: ThemeName) -> None:
    c = theme(name)
    assert contrast(c.text, c.window) >= 7.0 and contrast(c.text, c.plot_bg) >= 7.0  # WCAG AAA
    assert contrast(c.dim, c.window) >= 4.5
    for line in (c.client, c.server, c.p50, c.p99):
        assert contrast(line, c.plot_bg) >= 2.0, line  # a 2 px line stays visible on the plot
    assert len(set(c.series)) == len(c.series)
    assert c.client != c.server and c.p50 != c.p99


def test_big_type_is_one_and_a_half_times() -> None:
    assert BIG_TYPE >= 1.5
    assert theme("light", big=True).pt(10) == 15.0 and theme("light").pt(10) == 10.0
    assert theme("dark", big=True).plot_bg == theme("dark").plot_bg


def test_the_theme_is_kept_for_the_next_start(tmp_path: Path) -> None:
    path = str(tmp_path / "s.ini")
    store = Store(QSettings(path, QSettings.Format.IniFormat))
    assert store.theme() == "dark"
    store.save_theme("light")
    store.sync()
    assert Store(QSettings(path, QSettings.Format.IniFormat)).theme() == "light"


def test_the_app_takes_theme_flags_before_qt_starts() -> None:
    args = parse(["--theme", "light", "--big-type"], cores=2)
    assert args.theme == "light" and args.big_type
    with pytest.raises(SystemExit) as exit_:
        parse(["--theme", "sepia"], cores=2)
    assert exit_.value.code == 2
