"""Pictures of the window for slides: PNG at any scale (2x for crisp slides) and SVG.

pyqtgraph's SVGExporter fails on Qt >= 6.11 (pyqtgraph #3495), so SVG goes through QSvgGenerator,
which records whatever ``QWidget.render`` paints — the plots stay vectors.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget


def save_png(widget: QWidget, path: str | Path, scale: float = 2.0) -> QSize:
    """Render ``widget`` into a PNG ``scale`` times its logical size; returns the pixel size."""
    size = widget.size()
    pixmap = QPixmap(round(size.width() * scale), round(size.height() * scale))
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(widget.palette().window().color())
    widget.render(pixmap)
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return pixmap.size()


def save_svg(widget: QWidget, path: str | Path, title: str = "asgiscope") -> None:
    size = widget.size()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle(title)
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {path}")
    try:
        painter.fillRect(QRect(0, 0, size.width(), size.height()), QColor(widget.palette().window().color()))
        widget.render(painter, QPoint(0, 0))
    finally:
        painter.end()
