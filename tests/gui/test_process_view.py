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


def test_many_workers_start_folded_under_the_master_and_the_users_fold_stays(qtbot: QtBot) -> None:
    from asgiscope.gui.process_view import FOLD_ABOVE
    from tests.gui.many import many_workers

    view = ProcessView(Colors())
    qtbot.addWidget(view)
    view.show_snapshot(many_workers(3))
    assert view.master.isExpanded() and "3 workers" in view.master.text(0)
    view.show_snapshot(many_workers(32))
    assert not view.master.isExpanded() and "32 workers" in view.master.text(0)
    assert view.master.childCount() == 32  # folded, not dropped
    view.master.setExpanded(True)  # the user unfolds them
    view.show_snapshot(many_workers(32, t=61.0))
    assert view.master.isExpanded()
    view.master.setExpanded(False)  # and folds them again: a few workers later, still their choice
    view.show_snapshot(many_workers(FOLD_ABOVE - 1))
    assert not view.master.isExpanded()
