"""How the window's height is shared between the request-flow panel (top) and the plots (bottom).

A fixed 3:2 split gave the lower row of plots ~40 px of data at 1280x720 (the insight bar and the
plots' titles and axes take their height first). The plots get what keeps every data area
``PLOT_DATA_PX`` tall, and past that a share of what is left; the flow keeps a useful least height.
Once the user drags the handle, their split stands: Qt keeps its proportions on later resizes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter

PLOT_DATA_PX = 112  # every plot's data area (ViewBox) at least this tall, when the window has room
PLOTS_SHARE = 0.42  # past that, the plots' share: the flow is the picture people remember

Needs = Callable[[], tuple[int, int]]  # (flow, plots): the least height each wants, in pixels


def shares(total: int, flow_need: int, plots_need: int) -> tuple[int, int]:
    """(flow, plots) heights that fill ``total``: each its need and the plots ``PLOTS_SHARE`` of the
    whole if there is room; if not, the room shared in proportion to the needs."""
    if total <= 0:
        return 0, 0
    if flow_need + plots_need >= total:
        plots = round(total * plots_need / max(flow_need + plots_need, 1))
    else:
        plots = min(max(round(total * PLOTS_SHARE), plots_need), total - flow_need)
    return total - plots, plots


class SplitFitter(QObject):
    """Sets a two-pane vertical splitter's sizes from ``shares`` whenever it is resized (the window,
    the insight bar, presentation mode's big type), until the user drags its handle."""

    def __init__(self, splitter: QSplitter, needs: Needs) -> None:
        super().__init__(splitter)
        self._splitter = splitter
        self._needs = needs
        self.user_set = False
        splitter.splitterMoved.connect(self._moved)
        splitter.installEventFilter(self)

    def _moved(self, _pos: int, _index: int) -> None:
        self.user_set = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._splitter and event.type() == QEvent.Type.Resize and not self.user_set:
            assert isinstance(event, QResizeEvent)
            self.fit(event.size().height())
        return False

    def fit(self, height: int | None = None) -> None:
        """Share ``height`` (the splitter's own, if None) between the panes, unless the user set it."""
        if self.user_set:
            return
        split = self._splitter
        total = (split.height() if height is None else height) - split.handleWidth()
        self._splitter.setSizes(list(shares(total, *self._needs())))
