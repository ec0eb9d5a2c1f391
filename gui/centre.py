"""The window's centre: the request-flow panel, and the process table as a tab beside it.

The tabs share one row with the flow's presenter bar (live, slow motion, pause, steps, the timeline):
a tab row of its own above the drawing cost the plots below 27 px of a 1280x720 window (36 at big
type). The bar belongs to the flow, so it hides while the table is shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QStackedWidget, QTabBar, QVBoxLayout, QWidget

from asgiscope.gui.flow_panel import FlowPanel
from asgiscope.gui.process_view import ProcessView


class Centre(QWidget):
    def __init__(self, flow: FlowPanel, processes: ProcessView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flow = flow
        self.processes = processes
        self.stack = QStackedWidget()
        self.stack.addWidget(flow)
        self.stack.addWidget(processes)
        self.tabs = QTabBar()
        self.tabs.setDocumentMode(True)
        self.tabs.setExpanding(False)
        self.tabs.addTab("Request flow")
        self.tabs.addTab("Processes")
        self.tabs.currentChanged.connect(self._show)
        self.bar = flow.take_bar()
        keep = self.bar.sizePolicy()
        keep.setRetainSizeWhenHidden(True)  # the row keeps its height beside the table's tab
        self.bar.setSizePolicy(keep)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(self.tabs, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.bar, 1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addLayout(row)
        box.addWidget(self.stack, 1)

    def currentWidget(self) -> QWidget | None:
        return self.stack.currentWidget()

    def setCurrentWidget(self, widget: QWidget) -> None:
        self.tabs.setCurrentIndex(self.stack.indexOf(widget))

    def _show(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.bar.setVisible(self.stack.currentWidget() is self.flow)
