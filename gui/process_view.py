"""The process view: the master and its workers (pid, CPU, memory, requests, threadpool, loop lag),
the load and GUI processes, dead workers, and the tree's recent events (exits, restarts, scaling).

It sits in the centre of the window until the animated request-flow panel takes that place.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QListWidget,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from asgiscope.gui.theme import Colors
from asgiscope.server.lab.snapshot import ProcessStats, Snapshot, WorkerStats

COLUMNS = (
    "process",
    "pid",
    "CPU %",
    "memory",
    "requests",
    "share",
    "in flight",
    "threadpool",
    "loop lag",
    "threads",
    "",
)
EVENT_LINES = 8
# Past this many workers their rows start folded under the master (the master's row names how many):
# 16 or 32 rows filled the centre. A click on the arrow unfolds them, and a fold the user chose stays.
FOLD_ABOVE = 8


def _worker_cells(w: WorkerStats) -> tuple[str, ...]:
    return (
        "worker",
        str(w.pid),
        f"{w.cpu_percent:.0f}",
        f"{w.rss_mb:.0f} MB",
        f"{w.requests:,}",
        f"{w.share * 100:.0f} %",
        str(w.in_flight),
        f"{w.pool_busy}/{w.pool_total}" + (f" +{w.pool_waiting} waiting" if w.pool_waiting else ""),
        f"{w.loop_lag_ms:.0f} ms",
        # under the GIL the busy threads of one worker share one core: their sum stays <= ~100 %
        f"{w.busy_threads} busy, {w.threads_cpu_percent:.0f} %" if w.threads else "",
        "" if w.alive else "dead",
    )


def _process_cells(p: ProcessStats, name: str) -> tuple[str, ...]:
    return (name, str(p.pid), f"{p.cpu_percent:.0f}", f"{p.rss_mb:.0f} MB") + ("",) * (len(COLUMNS) - 4)


class Row(QTreeWidgetItem):
    """A tree row that remembers the cells it shows."""

    shown: tuple[str, ...] = ()


class ProcessView(QWidget):
    def __init__(self, colors: Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colors = colors
        self.title = QLabel("PROCESSES")
        self.title.setObjectName("heading")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)  # the master's arrow folds its workers
        self.tree.setUniformRowHeights(True)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tree.setIndentation(14)
        for col in range(1, len(COLUMNS)):
            self.tree.headerItem().setTextAlignment(col, Qt.AlignmentFlag.AlignRight)
        header = self.tree.header()
        header.setStretchLastSection(True)
        # Columns grow to fit their text, checked as cells change. ResizeToContents did the same by
        # re-measuring every cell of the table on each update (5 Hz): ~6 % of the GUI's CPU at the
        # load ceiling.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._metrics = self.tree.fontMetrics()
        self._pad = 3 * self._metrics.averageCharWidth()
        for col, title in enumerate(COLUMNS[:-1]):
            header.resizeSection(col, self._metrics.horizontalAdvance(title) + self._pad)
        self.events = QListWidget()
        self.events.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.events.setMinimumWidth(240)
        self.events.setWordWrap(True)
        events = QWidget()
        events_box = QVBoxLayout(events)
        events_box.setContentsMargins(0, 0, 0, 0)
        events_title = QLabel("EVENTS")
        events_title.setObjectName("heading")
        events_box.addWidget(events_title)
        events_box.addWidget(self.events)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tree)
        split.addWidget(events)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        box = QVBoxLayout(self)
        box.setContentsMargins(6, 4, 6, 4)
        box.addWidget(self.title)
        box.addWidget(split)
        self.title.hide()  # the tree's own header says enough; the title is for the flow panel swap
        self.master = Row(self.tree, ["master"] + [""] * (len(COLUMNS) - 1))
        self.master.setExpanded(True)
        self._folded_by = ""  # who folded the workers last: "" (nobody), "view" or "user"
        self._folding = False  # the view itself is folding (not the user)
        self.tree.itemCollapsed.connect(lambda _item: self._user_folded(True))
        self.tree.itemExpanded.connect(lambda _item: self._user_folded(False))
        self.rows: dict[int, Row] = {}  # worker pid → row under the master
        self.others: dict[tuple[str, int], Row] = {}  # load and gui processes
        self._events_shown: tuple[object, ...] = ()

    def show_snapshot(self, snap: Snapshot) -> bool:
        """Show ``snap``'s processes and events; returns whether any cell or line changed (a cell whose
        text is the same is not set again: each set repaints the row)."""
        changed = False
        processes = {(p.role, p.pid): p for p in snap.processes}
        master = processes.get(("master", snap.master_pid))
        count = len(snap.workers)
        name = f"master ({snap.scenario.server}), {count} worker{'s' if count != 1 else ''}"
        if snap.restarts:
            name += f", {snap.restarts} restart{'s' if snap.restarts > 1 else ''}"

        if master is not None:
            cells = _process_cells(master, name)
        else:
            cells = (name, str(snap.master_pid or "\u2013")) + ("",) * (len(COLUMNS) - 2)
        changed |= self._set(self.master, cells)

        for pid in [pid for pid in self.rows if pid not in {w.pid for w in snap.workers}]:
            self.master.removeChild(self.rows.pop(pid))
            changed = True
        for w in snap.workers:
            row = self.rows.get(w.pid)
            if row is None:
                row = Row(self.master)
                self.rows[w.pid] = row
            changed |= self._set(row, _worker_cells(w))
            color = QColor(self._colors.text if w.alive else self._colors.error)
            if row.foreground(0).color() != color:
                changed = True
                for col in range(len(COLUMNS)):
                    row.setForeground(col, QBrush(color))
        changed |= self._fold(len(snap.workers) > FOLD_ABOVE)

        others = {key: p for key, p in processes.items() if key[0] in ("load", "gui")}
        for key in [k for k in self.others if k not in others]:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(self.others.pop(key)))
            changed = True
        for key, p in sorted(others.items()):
            row = self.others.get(key)
            if row is None:
                row = Row(self.tree)
                self.others[key] = row
            changed |= self._set(row, _process_cells(p, "load generator" if p.role == "load" else "this GUI"))

        events = snap.events[-EVENT_LINES:]
        if events != self._events_shown:
            self._events_shown = events
            changed = True
            self.events.clear()
            for e in reversed(events):
                detail = f": {e.detail}" if e.detail else ""
                self.events.addItem(f"{e.t:7.1f} s  {e.kind.replace('_', ' ')}  pid {e.pid}{detail}")
        return changed

    def _fold(self, many: bool) -> bool:
        """Fold the workers when they become many, unfold when few again; never undo the user's choice."""
        if self._folded_by == "user":
            return False
        want = not many
        if self.master.isExpanded() == want:
            return False
        self._folding = True
        self.master.setExpanded(want)
        self._folding = False
        self._folded_by = "" if want else "view"
        return True

    def _user_folded(self, folded: bool) -> None:
        if not self._folding:
            self._folded_by = "user" if folded or self._folded_by else ""

    def _set(self, item: Row, cells: tuple[str, ...]) -> bool:
        if cells == item.shown:  # one tuple compare instead of a call into Qt per cell
            return False
        item.shown = cells
        header = self.tree.header()
        last = len(COLUMNS) - 1  # stretches to the edge on its own
        changed = False
        for col, text in enumerate(cells):
            if item.text(col) == text:
                continue
            changed = True
            item.setText(col, text)
            if col:
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if col < last:
                # The worker rows are indented under the master: the name column needs that room too.
                indent = self.tree.indentation() if col == 0 and item.parent() is not None else 0
                width = self._metrics.horizontalAdvance(text) + self._pad + indent
                if width > header.sectionSize(col):
                    header.resizeSection(col, width)
        return changed
