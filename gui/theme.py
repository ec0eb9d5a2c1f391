"""A dark theme that reads well on a projector: Fusion style, one palette, one stylesheet, plot colours."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True, slots=True)
class Colors:
    window: str = "#16181d"
    panel: str = "#1d2027"
    plot_bg: str = "#121419"
    text: str = "#e6e8ee"
    dim: str = "#8b93a3"
    grid: str = "#3a3f4b"
    accent: str = "#4fb3ff"
    client: str = "#4fb3ff"  # what the load generator measured
    server: str = "#ffb347"  # what the workers reported
    predicted: str = "#c9d1d9"
    p50: str = "#7ee787"
    p99: str = "#ff7b72"
    marker: str = "#d2a8ff"
    warn: str = "#ffcc66"
    error: str = "#ff6b6b"
    ok: str = "#7ee787"
    # one colour per series that comes and goes (workers, processes), cycled
    series: tuple[str, ...] = (
        "#4fb3ff",
        "#ffb347",
        "#7ee787",
        "#ff7b72",
        "#d2a8ff",
        "#79c0ff",
        "#f2cc60",
        "#56d4dd",
        "#ff9bce",
        "#a5d6ff",
    )

    def series_color(self, index: int) -> str:
        return self.series[index % len(self.series)]


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
        QPalette.ColorRole.HighlightedText: "#0b0d10",
        QPalette.ColorRole.PlaceholderText: colors.dim,
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colors.dim))
    app.setPalette(palette)
    app.setStyleSheet(stylesheet(colors))


def stylesheet(c: Colors) -> str:
    return f"""
    QLabel#heading {{ color: {c.dim}; font-weight: bold; letter-spacing: 1px; padding-top: 6px; }}
    QLabel#value {{ color: {c.accent}; font-weight: bold; }}
    QToolButton {{ background: {c.window}; border: 1px solid {c.grid}; padding: 3px 6px; }}
    QToolButton:checked {{ background: {c.accent}; color: #0b0d10; border-color: {c.accent}; }}
    QToolButton:disabled {{ color: {c.grid}; }}
    QToolButton:checked:disabled {{ background: {c.grid}; color: {c.dim}; }}
    QToolTip {{ background: {c.panel}; color: {c.text}; border: 1px solid {c.grid}; padding: 4px; }}
    QTreeWidget {{ background: {c.panel}; border: none; }}
    QHeaderView::section {{ background: {c.window}; color: {c.dim}; border: none; padding: 3px; }}
    QDockWidget::title {{ background: {c.window}; padding: 4px; }}
    QFrame#insight {{ background: {c.panel}; border-bottom: 1px solid {c.grid}; }}
    QLabel#big {{ font-size: 20pt; font-weight: bold; }}
    QLabel#caption {{ color: {c.dim}; }}
    QLabel#warn {{ color: {c.warn}; }}
    QFrame#tour {{ background: {c.window}; border-bottom: 1px solid {c.accent}; }}
    QLabel#tourcaption {{ font-size: 16pt; font-weight: bold; }}
    QLabel#verdict {{ color: {c.dim}; font-size: 12pt; }}
    QLabel#ok {{ color: {c.ok}; font-size: 12pt; }}
    QLabel#error {{ color: {c.error}; }}
    QFrame#tour QLabel#error {{ font-size: 12pt; }}
    """
