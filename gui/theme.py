"""Themes that read on a projector: dark, light (white screens), big type, one colour-blind-safe palette.

Every series colour comes from the Okabe-Ito palette (safe for the common colour-vision deficiencies),
ordered so that lines drawn side by side differ in lightness too; text is near black or near white on
its background (contrast well above 7:1). ``type_scale`` multiplies every font size: big type is 1.5x.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

ThemeName = Literal["dark", "light"]
BIG_TYPE = 1.5  # the big-type mode: every font this many times its normal size
BASE_PT = 10.0  # the application font's size at type_scale 1

# Okabe & Ito (2008), "Color Universal Design": orange, sky blue, bluish green, yellow, blue,
# vermillion, reddish purple.
ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#e69f00",
    "#56b4e9",
    "#009e73",
    "#f0e442",
    "#0072b2",
    "#d55e00",
    "#cc79a7",
)


@dataclass(frozen=True, slots=True)
class Colors:
    name: ThemeName = "dark"
    type_scale: float = 1.0
    window: str = "#16181d"
    panel: str = "#1d2027"
    plot_bg: str = "#121419"
    text: str = "#f2f4f8"
    dim: str = "#a9b1bf"
    grid: str = "#3a3f4b"
    accent: str = SKY
    on_accent: str = "#0b0d10"  # text on an accent-coloured button
    client: str = SKY  # what the load generator measured
    server: str = ORANGE  # what the workers reported
    predicted: str = "#d9dee6"
    p50: str = GREEN
    p99: str = VERMILLION
    marker: str = PURPLE
    warn: str = YELLOW
    error: str = "#ff6b6b"
    ok: str = GREEN
    # one colour per series that comes and goes (workers, processes): eight that stay apart (CIE
    # delta E > 20 between any two, tests/gui/test_many_workers.py); past five workers the plots
    # summarise, so no more are ever drawn at once. (A pale sky and a pale orange were the 7th and
    # 8th: they read as the 1st and 2nd again.)
    series: tuple[str, ...] = (SKY, ORANGE, GREEN, YELLOW, PURPLE, VERMILLION, BLUE, "#d9dee6")

    def series_color(self, index: int) -> str:
        return self.series[index % len(self.series)]

    def pt(self, size: float) -> float:
        """A font size in points at this theme's type scale."""
        return round(size * self.type_scale, 1)


# White projector screens wash out light colours: darker text and grid, the palette's deep variants.
LIGHT = Colors(
    name="light",
    window="#ffffff",
    panel="#f2f3f5",
    plot_bg="#ffffff",
    text="#0b0d10",
    dim="#3a414c",
    grid="#a8afba",
    accent=BLUE,
    on_accent="#ffffff",
    client=BLUE,
    server=VERMILLION,
    predicted="#222222",
    p50=GREEN,
    p99=VERMILLION,
    marker=PURPLE,
    warn="#9a6a00",
    error="#c00000",
    ok=GREEN,
    series=(BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, "#6b4c00", "#444444"),
)
THEMES: dict[ThemeName, Colors] = {"dark": Colors(), "light": LIGHT}


def theme(name: ThemeName = "dark", *, big: bool = False) -> Colors:
    """The named theme, at big type or normal."""
    return replace(THEMES[name], type_scale=BIG_TYPE if big else 1.0)


def apply_theme(app: QApplication, colors: Colors) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: colors.window,
        QPalette.ColorRole.WindowText: colors.text,
        QPalette.ColorRole.Base: colors.panel,
        QPalette.ColorRole.AlternateBase: colors.window,
        QPalette.ColorRole.ToolTipBase: colors.panel,
        QPalette.ColorRole.ToolTipText: colors.text,
        QPalette.ColorRole.Text: colors.text,
        QPalette.ColorRole.Button: colors.panel,
        QPalette.ColorRole.ButtonText: colors.text,
        QPalette.ColorRole.Highlight: colors.accent,
        QPalette.ColorRole.HighlightedText: colors.on_accent,
        QPalette.ColorRole.PlaceholderText: colors.dim,
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colors.dim))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSizeF(colors.pt(BASE_PT))
    app.setFont(font)
    app.setStyleSheet(stylesheet(colors))


def stylesheet(c: Colors) -> str:
    return f"""
    QLabel#heading {{ color: {c.dim}; font-weight: bold; letter-spacing: 1px; padding-top: 6px; }}
    QLabel#value {{ color: {c.accent}; font-weight: bold; }}
    QToolButton {{ background: {c.window}; border: 1px solid {c.grid}; padding: 3px 6px; }}
    QToolButton:checked {{ background: {c.accent}; color: {c.on_accent}; border-color: {c.accent}; }}
    QToolButton:disabled {{ color: {c.grid}; }}
    QToolButton:checked:disabled {{ background: {c.grid}; color: {c.dim}; }}
    QToolTip {{ background: {c.panel}; color: {c.text}; border: 1px solid {c.grid}; padding: 4px; }}
    QTreeWidget {{ background: {c.panel}; border: none; }}
    QHeaderView::section {{ background: {c.window}; color: {c.dim}; border: none; padding: 3px; }}
    QDockWidget::title {{ background: {c.window}; padding: 4px; }}
    QFrame#insight {{ background: {c.panel}; border-bottom: 1px solid {c.grid}; }}
    QLabel#big {{ font-size: {c.pt(20)}pt; font-weight: bold; }}
    QLabel#caption {{ color: {c.dim}; }}
    QLabel#warn {{ color: {c.warn}; }}
    QFrame#tour {{ background: {c.window}; border-bottom: 1px solid {c.accent}; }}
    QLabel#tourcaption {{ font-size: {c.pt(16)}pt; font-weight: bold; }}
    QLabel#verdict {{ color: {c.dim}; font-size: {c.pt(12)}pt; }}
    QLabel#ok {{ color: {c.ok}; font-size: {c.pt(12)}pt; }}
    QLabel#error {{ color: {c.error}; }}
    QFrame#tour QLabel#error {{ font-size: {c.pt(12)}pt; }}
    QLabel#stamp {{ color: {c.dim}; background: {c.window}; font-size: {c.pt(10)}pt; padding: 4px 8px; }}
    QLabel#keys {{ color: {c.text}; background: {c.panel}; border: 2px solid {c.accent};
                   font-size: {c.pt(11)}pt; padding: 12px; }}
    """
