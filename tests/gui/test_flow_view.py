"""The flow panel draws a recorded trace: the right workers, slots and colours, at any size."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from asgiscope.gui.driver import LabDriver
from asgiscope.gui.flow_layout import layout
from asgiscope.gui.flow_panel import FlowPanel
from asgiscope.gui.flow_view import FlowView
from asgiscope.gui.model import Controls
from asgiscope.gui.settings import Store
from asgiscope.gui.theme import Colors
from asgiscope.gui.window import MainWindow
from asgiscope.server.lab.flow import FlowFrame, frame_at
from tests.gui.fakes import FakeLab, make_snapshot
from tests.lab.flow_traces import (
    at,
    batch,
    cpu_bound,
    events_of,
    hello,
    lessons,
    pool,
    request,
    thread_cpu,
    wsgi,
    wsgi_sync,
)


def render(view: FlowView, path: Path) -> QImage:
    image = view.grab().toImage()
    assert image.save(str(path))
    return image


def redness(image: QImage, x: float, y: float) -> int:
    c = QColor(image.pixel(int(x), int(y)))
    return c.red() - max(c.green(), c.blue())


def test_a_recorded_trace_renders_each_lesson(qtbot: QtBot, tmp_path: Path) -> None:
    events, t = lessons()
    frame = frame_at(events, t)
    view = FlowView(Colors())
    qtbot.addWidget(view)
    view.resize(1280, 520)
    assert view.show_frame(frame, "test")
    image = render(view, tmp_path / "flow.png")
    g = view.current_layout()
    # the workers the trace names, in the order they appeared, with one cell per token
    assert [w.pid for w in frame.workers] == [101, 102, 103, 105, 104]
    assert [w.state for w in frame.workers][3:] == ["dying", "arriving"]
    assert len(g.workers) == 5 and len(g.workers[1].cells) == 4
    assert frame.workers[1].busy == (True, True, True, True) and frame.workers[1].waiting == 10
    for box in g.workers:  # inside the widget, right of the socket and the master
        x, y, w, h = box.box
        assert g.master[0] + g.master[2] <= x and x + w <= 1280 and y + h <= 520
    # the blocked loop is red, the others are not
    blocked_loop, free_loop = g.workers[0].loop, g.workers[2].loop
    assert frame.workers[0].blocked and not frame.workers[2].blocked
    assert redness(image, blocked_loop[0], blocked_loop[1] + blocked_loop[2] * 0.9) > 40
    assert redness(image, free_loop[0], free_loop[1] + free_loop[2] * 0.9) < 20
    # a busy token cell is filled with the threadpool colour
    cx, cy, _, _ = g.workers[1].cells[3]
    assert QColor(image.pixel(int(cx + 2), int(cy + 2))) == QColor(Colors().server)


def test_a_sync_worker_is_one_slot_and_a_gthread_worker_its_threads_with_no_loop(
    qtbot: QtBot, tmp_path: Path
) -> None:
    sync_events, _ = wsgi_sync(users=8, workers=2, ms=100)
    frame = frame_at(sync_events, at(250))
    view = FlowView(Colors())
    qtbot.addWidget(view)
    view.resize(1280, 520)
    view.show_frame(frame, "test")
    image = render(view, tmp_path / "sync.png")
    g = view.current_layout()
    assert [b.kind for b in g.workers] == ["sync", "sync"]
    for box in g.workers:
        assert box.loop is None and box.queue[2] == 0 and len(box.cells) == 1  # one slot, no loop
        x, y, w, h = box.cells[0]  # the busy slot in the threadpool colour, the request on it
        assert QColor(image.pixel(int(x + 2), int(y + 2))) == QColor(Colors().server)
        bx, by, bw, bh = box.box
        assert bx < x and x + w < bx + bw and by < y and y + h <= by + bh
    rows = [hello("gthread")] + [wsgi(0, 90, tid=700 + i) for i in range(3)]
    rows.append(pool(10, tokens=6, borrowed=3, waiting=2, in_flight=5))  # 2 queued inside gthread
    frame = frame_at(events_of(batch(300, rows)), at(45))
    view.show_frame(frame, "test")
    image = render(view, tmp_path / "gthread.png")
    (box,) = view.current_layout().workers
    assert box.kind == "gthread" and box.loop is None and len(box.cells) == 6
    server = QColor(Colors().server)
    filled = [QColor(image.pixel(int(x + 2), int(y + 2))) == server for x, y, _, _ in box.cells]
    assert filled == [True, True, True, False, False, False]
    assert len({y for _, y, _, _ in box.cells}) == 1  # a few threads in one row
    # what gthread queued for a thread: squares by its door, in the queue colour
    door_x, door_y = (box.box[0] + box.pool[0]) / 2, box.hub[1] - 2
    assert QColor(image.pixel(int(door_x), int(door_y))) == QColor(Colors().warn)
    assert frame.workers[0].waiting == 2 and frame.kernel_queue == 0


def test_an_unchanged_idle_frame_is_not_repainted(qtbot: QtBot) -> None:
    view = FlowView(Colors())
    qtbot.addWidget(view)
    assert view.show_frame(FlowFrame(), "idle")
    assert not view.show_frame(FlowFrame(), "idle")
    assert view.show_frame(FlowFrame(kernel_queue=3), "idle")


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (3840, 2160)])
@pytest.mark.parametrize("workers", [1, 4, 9, 32])
@pytest.mark.parametrize("kind", ["uvicorn", "sync", "gthread"])
def test_the_layout_fits_1_to_32_workers_at_any_size(size: tuple[int, int], workers: int, kind: str) -> None:
    w, h = size
    tokens = 1 if kind == "sync" else 40
    g = layout(w, h * 0.45, (tokens,) * workers, (kind,) * workers)  # type: ignore[arg-type]
    boxes = [b.box for b in g.workers]
    assert len(boxes) == workers
    for i, (x, y, bw, bh) in enumerate(boxes):
        assert x >= 0 and y >= 0 and x + bw <= w and y + bh <= h * 0.45 + 0.01
        for x2, y2, bw2, bh2 in boxes[i + 1 :]:  # no two overlap
            assert x + bw <= x2 or x2 + bw2 <= x or y + bh <= y2 or y2 + bh2 <= y
    for b in g.workers:  # everything a worker holds is inside its box
        for cx, cy, cw, ch in b.cells:
            assert b.box[0] <= cx and cx + cw <= b.box[0] + b.box[2] + 0.01
            assert b.box[1] <= cy and cy + ch <= b.box[1] + b.box[3] + 0.01
        assert (b.loop is None) == (kind != "uvicorn")
    assert all(len(b.cells) in (0, tokens) for b in g.workers)
    assert len(g.workers[0].cells) == tokens  # the first worker always shows its tokens one by one


def lessons_window(qtbot: QtBot, tmp_path: Path) -> tuple[MainWindow, FakeLab]:
    lab = FakeLab(make_snapshot())
    lab.flow, lab.flow_t = lessons()
    c = Controls()
    driver = LabDriver(lab, c.scenario(), c.load(running=False), lambda _m: None)
    store = Store(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(driver, c, store=store, colors=Colors(), cores=2)
    qtbot.addWidget(window)
    window.show()
    return window, lab


def test_the_window_centre_shows_the_flow_the_lab_draws(qtbot: QtBot, tmp_path: Path) -> None:
    window, _ = lessons_window(qtbot, tmp_path)
    assert window.centre.currentWidget() is window.flow  # the flow is the centre; the table a tab
    window.render_frame()
    view = window.flow.view
    assert [w.pid for w in view.frame.workers] == [101, 102, 103, 105, 104]
    assert view.frame.drawn > 0 and window.flow.where.text().startswith("live")
    assert len(view.current_layout().workers) == 5
    # the process table is one click away and still fed
    window.show_centre("processes")
    window._text_t = -1e9
    window.render_frame()
    assert window.processes.tree.topLevelItemCount() > 0


def test_presenter_controls_move_the_playhead(qtbot: QtBot) -> None:
    panel = FlowPanel(Colors())
    qtbot.addWidget(panel)
    assert panel.playhead.state().live and panel.speed_buttons[1.0].isChecked()
    panel.speed_buttons[0.1].click()
    state = panel.playhead.state()
    assert (state.live, state.speed) == (False, 0.1) and panel.speed_buttons[0.1].isChecked()
    panel.pause_button.click()
    assert panel.playhead.state().paused and panel.pause_button.isChecked()
    before = panel.playhead.state().t_ns
    panel.step(3)
    assert panel.playhead.state().t_ns == before + 3 * 10_000_000
    panel.speed_buttons[1.0].click()
    assert panel.playhead.state().live and not panel.pause_button.isChecked()


async def test_send_one_request_is_followed_slowly_and_labelled(qtbot: QtBot, tmp_path: Path) -> None:
    window, lab = lessons_window(qtbot, tmp_path)
    window.flow.send_button.click()
    for _ in range(50):
        if "send_one" in lab.names() and not window.flow.playhead.state().live:
            break
        await asyncio.sleep(0.01)
    assert lab.names().count("send_one") == 1  # one click, one real request
    state = window.flow.playhead.state()
    assert (state.live, state.speed) == (False, 0.1)
    window.render_frame()
    view = window.flow.view
    assert view.frame.traced >= 0 and view.frame.traced_label.startswith("worker 101")
    assert view.frame.frozen[view.frame.traced]  # it sits on the blocked loop of worker 101
    image = render(view, tmp_path / "traced.png")
    assert not image.isNull()


def test_cpu_bound_slots_fill_as_far_as_their_threads_share_and_the_gil_note_shows(
    qtbot: QtBot, tmp_path: Path
) -> None:
    events, _ = cpu_bound(threads=8)
    frame = frame_at(events, at(600))
    view = FlowView(Colors())
    qtbot.addWidget(view)
    view.resize(1280, 520)
    view.show_frame(frame, "test")
    image = render(view, tmp_path / "gil.png")
    (box,) = view.current_layout().workers
    assert len(box.cells) == 8 and box.below[3] > 0  # the note goes under the cells
    server, window = QColor(Colors().server), QColor(Colors().window)
    for x, y, w, h in box.cells:  # an eighth of each busy cell runs, the rest holds its slot pale
        running = QColor(image.pixel(int(x + w / 2), int(y + h - 2)))
        held = QColor(image.pixel(int(x + w / 2), int(y + h * 0.15)))
        assert running == server
        assert held not in (server, window)
        assert abs(held.red() - window.red()) < abs(server.red() - window.red())  # paler: nearer idle
    # the fill's edge: an eighth of the cell from its bottom
    x, y, w, h = box.cells[0]
    column = [QColor(image.pixel(int(x + w / 2), int(y + k))) == server for k in range(int(h))]
    assert abs(column.count(True) - h / 8) <= 2
    # the GIL note, in the warning colour, under the cells
    assert warm_pixels(image, box.below) > 50


def warm_pixels(image: QImage, rect: tuple[float, float, float, float]) -> int:
    """Pixels in ``rect`` near the warning colour (antialiased text is never exactly it)."""
    warn, (x, y, w, h) = QColor(Colors().warn), rect
    near = 0
    for i in range(int(w)):
        for j in range(int(h)):
            c = QColor(image.pixel(int(x + i), int(y + j)))
            near += (
                abs(c.red() - warn.red()) + abs(c.green() - warn.green()) + abs(c.blue() - warn.blue()) < 90
            )
    return near


def test_without_thread_cpu_busy_slots_are_drawn_full_and_no_note(qtbot: QtBot, tmp_path: Path) -> None:
    events, _ = cpu_bound(threads=8)
    for c in events.chunks:  # the same trace before any thread CPU arrived
        object.__setattr__(c, "threads", c.threads[:0])
    frame = frame_at(events, at(600))
    assert frame.workers[0].gil_note == "" and frame.workers[0].threads_cpu == -1
    view = FlowView(Colors())
    qtbot.addWidget(view)
    view.resize(1280, 520)
    view.show_frame(frame, "test")
    image = render(view, tmp_path / "nogil.png")
    (box,) = view.current_layout().workers
    for x, y, w, h in box.cells:
        assert QColor(image.pixel(int(x + w / 2), int(y + h * 0.15))) == QColor(Colors().server)
    assert box.below[3] > 0 and warm_pixels(image, box.below) == 0  # no note


def test_slots_held_by_sleeping_threads_are_drawn_full(qtbot: QtBot, tmp_path: Path) -> None:
    # I/O-bound handlers hold their slots with next to no CPU: no GIL to show, the full pool as ever
    rows = [request(0, 1000, token_ms=1 + i, tid=50 + i) for i in range(4)]
    rows.append(pool(10, tokens=4, borrowed=4, waiting=0, in_flight=4))
    rows += [thread_cpu(t, 50 + i, t * 0.002) for t in (0, 500, 1000) for i in range(4)]
    frame = frame_at(events_of(batch(100, rows)), at(700))
    assert frame.workers[0].taking_turns == 0 and frame.workers[0].cpu[0] >= 0
    view = FlowView(Colors())
    qtbot.addWidget(view)
    view.resize(1280, 520)
    view.show_frame(frame, "test")
    image = render(view, tmp_path / "io.png")
    for x, y, w, h in view.current_layout().workers[0].cells:
        assert QColor(image.pixel(int(x + w / 2), int(y + h * 0.15))) == QColor(Colors().server)
