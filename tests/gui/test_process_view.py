"""The process view's threads column: per worker, how many threads work and their CPU together."""

from __future__ import annotations

from dataclasses import replace

from pytestqt.qtbot import QtBot

from asgiscope.gui.process_view import COLUMNS, ProcessView
from asgiscope.gui.theme import Colors
from asgiscope.server.lab.snapshot import ThreadStats
from tests.gui.fakes import make_snapshot

THREADS = COLUMNS.index("threads")


def test_each_worker_shows_its_busy_threads_and_their_share(qtbot: QtBot) -> None:
    view = ProcessView(Colors())
    qtbot.addWidget(view)
    snap = make_snapshot(pids=(1001, 1002))
    gil = (*(ThreadStats(2000 + i, 12.0) for i in range(8)), ThreadStats(1001, 2.0))
    workers = (replace(snap.workers[0], threads=gil), snap.workers[1])
    assert view.show_snapshot(replace(snap, workers=workers))
    assert view.rows[1001].text(THREADS) == "8 busy, 98 %"
    assert view.rows[1002].text(THREADS) == ""  # no samples yet: nothing rather than a zero
    assert view.master.text(THREADS) == ""
