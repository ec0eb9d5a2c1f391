"""Pictures of a widget for slides: PNG rendered at 1x/2x/3x (not upscaled), SVG, the clipboard.

pyqtgraph's SVGExporter fails on Qt >= 6.11 (pyqtgraph #3495), so SVG goes through QSvgGenerator,
which records whatever ``QWidget.render`` paints — the plots stay paths, the text stays text.
A caption, when given, is a band under the picture (never over it), drawn by the same painter.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QImage, QPainter, QPixmap, QRegion
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget


def caption_font(widget: QWidget, caption: str = "", width: int = 0) -> QFont:
    """The widget's font, a little larger; smaller (to 60 %) when ``caption`` would not fit the width."""
    font = QFont(widget.font())
    font.setPointSizeF(font.pointSizeF() * 1.1)
    room = (width or widget.width()) - 24
    wide = QFontMetrics(font).horizontalAdvance(caption)
    if caption and wide > room > 0:
        font.setPointSizeF(max(font.pointSizeF() * room / wide, font.pointSizeF() * 0.6))
    return font


def area_of(widget: QWidget, area: QRect | None) -> QRect:
    """The part of ``widget`` drawn: all of it, or ``area`` (one plot of the plots' scene)."""
    return QRect(QPoint(0, 0), widget.size()) if area is None else area


def band_height(widget: QWidget, caption: str) -> int:
    """Logical pixels the caption band adds under the picture (0 without a caption)."""
    return round(QFontMetrics(caption_font(widget)).height() * 1.8) if caption else 0


def _paint(painter: QPainter, widget: QWidget, caption: str, area: QRect | None) -> QSize:
    part = area_of(widget, area)
    size = part.size()
    band = band_height(widget, caption)
    whole = QRect(0, 0, size.width(), size.height() + band)
    painter.fillRect(whole, QColor(widget.palette().window().color()))
    # QWidget's render, not a subclass's: pyqtgraph's GraphicsView replaces it with QGraphicsView's,
    # which takes no region
    QWidget.render(widget, painter, QPoint(0, 0), QRegion(part))
    if caption:
        font = caption_font(widget, caption, size.width())
        painter.setFont(font)
        painter.setPen(QColor(widget.palette().windowText().color()))
        where = QRect(12, size.height(), size.width() - 24, band)
        flags = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        text = QFontMetrics(font).elidedText(caption, Qt.TextElideMode.ElideMiddle, where.width())
        painter.drawText(where, int(flags), text)
    return whole.size()


def picture(widget: QWidget, scale: float = 2.0, caption: str = "", area: QRect | None = None) -> QImage:
    """``widget`` (and its caption band) painted at ``scale`` device pixels per logical pixel."""
    size = area_of(widget, area).size()
    height = size.height() + band_height(widget, caption)
    pixmap = QPixmap(round(size.width() * scale), round(height * scale))
    pixmap.setDevicePixelRatio(scale)
    painter = QPainter(pixmap)
    try:
        _paint(painter, widget, caption, area)
    finally:
        painter.end()
    return pixmap.toImage()


def save_png(
    widget: QWidget, path: str | Path, scale: float = 2.0, caption: str = "", area: QRect | None = None
) -> QSize:
    """Render ``widget`` into a PNG ``scale`` times its logical size; returns the pixel size."""
    image = picture(widget, scale, caption, area)
    # the stubs want bytes for the format, PySide6 6.x takes only str at run time
    if not image.save(str(path), "PNG"):  # type: ignore[call-overload]
        raise OSError(f"could not write {path}")
    return image.size()


def copy_to_clipboard(
    widget: QWidget, scale: float = 2.0, caption: str = "", area: QRect | None = None
) -> QSize:
    image = picture(widget, scale, caption, area)
    QGuiApplication.clipboard().setImage(image)
    return image.size()


def save_svg(
    widget: QWidget, path: str | Path, title: str = "asgiscope", caption: str = "", area: QRect | None = None
) -> None:
    size = area_of(widget, area).size()
    height = size.height() + band_height(widget, caption)
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(size.width(), height))
    generator.setViewBox(QRect(0, 0, size.width(), height))
    generator.setTitle(title)
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {path}")
    try:
        _paint(painter, widget, caption, area)
    finally:
        painter.end()
