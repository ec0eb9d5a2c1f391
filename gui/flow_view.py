"""The request-flow panel: draws a FlowFrame (server/lab/flow.py) with QPainter on one widget.

It computes nothing about requests: the frame says where each drawn request is (stage, progress,
lane); this widget only maps that onto the layout (gui/flow_layout.py) and paints. The layout is
recomputed only when the size or the workers' pools change.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from asgiscope.gui.flow_layout import FlowLayout, WorkerBox, layout
from asgiscope.gui.theme import Colors
from asgiscope.server.lab.flow import ARRIVE, LOOP, RESPOND, THREAD, WAIT, FlowFrame, FlowWorker

TAU = 2 * math.pi
KEY_SPAN = 2.0**32
HELD_ALPHA = 70  # a busy slot whose thread is not running: the threadpool colour, pale
STATE_WORDS = {"arriving": "new", "retiring": "retired", "dying": "died", "running": ""}


class FlowView(QWidget):
    def __init__(self, colors: Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._c = colors
        self.setMinimumSize(480, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.frame = FlowFrame()
        self.caption = ""  # what the panel is showing: "live, 1.2 s behind", "replay 1/10"...
        self.socket_label = "listening socket"
        self.clients_label = "clients"
        self.geometry_: FlowLayout | None = None
        self._geometry_key: tuple[float, float, tuple[int, ...], tuple[str, ...]] | None = None
        self._still: tuple[object, ...] | None = None
        self._backdrop_pixmap: QPixmap | None = None
        self._sprites: dict[tuple[int, float, float], QPixmap] = {}
        self._backdrop_key: tuple[object, ...] | None = None
        self._colors = {
            ARRIVE: QColor(colors.client),
            LOOP: QColor(colors.p50),
            WAIT: QColor(colors.warn),
            THREAD: QColor(colors.window),  # on the threadpool colour of its busy cell
            RESPOND: QColor(colors.predicted),
        }
        self._colors[RESPOND].setAlpha(150)  # going home: quieter than the work

    # -- input -----------------------------------------------------------------------------------
    def show_frame(self, frame: FlowFrame, caption: str = "") -> bool:
        """Take ``frame``; repaint only if it looks different (an idle panel costs nothing)."""
        still = (frame.workers, frame.master_pid, frame.kernel_queue, self.socket_label, self.clients_label)
        moving = frame.drawn > 0 or self.frame.drawn > 0
        self.frame, self.caption = frame, caption
        if not moving and still == self._still:
            return False
        self._still = still
        self.update()
        return True

    def current_layout(self) -> FlowLayout:
        tokens = tuple(w.tokens for w in self.frame.workers)
        kinds = tuple(w.kind for w in self.frame.workers)
        key = (float(self.width()), float(self.height()), tokens, kinds)
        if self.geometry_ is None or key != self._geometry_key:
            self.geometry_, self._geometry_key = layout(key[0], key[1], tokens, kinds), key
        return self.geometry_

    # -- painting --------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        g = self.current_layout()
        p = QPainter(self)
        try:
            backdrop = self._backdrop(g)
            p.drawPixmap(0, 0, backdrop)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setFont(self._font(g))
            self._paint_queue(p, g)
            workers = list(zip(g.workers, self.frame.workers, strict=True))
            for box, w in workers:
                self._paint_stream(p, g, box, w)
            if len({box.box[0] for box, _ in workers}) > 1:
                # with two or more columns the streams to the far ones cross the near boxes: the
                # boxes go back over them (a blit each, from the backdrop)
                ratio = backdrop.devicePixelRatio()
                for box, _ in workers:
                    x, y, w_, h = box.box
                    source = QRectF(x * ratio, y * ratio, w_ * ratio, h * ratio)
                    p.drawPixmap(QRectF(x, y, w_, h), backdrop, source)
            for box, w in workers:
                self._paint_worker(p, g, box, w)
            self._paint_requests(p, g)
        finally:
            p.end()

    def _font(self, g: FlowLayout) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(g.font_px)
        return font

    def _backdrop(self, g: FlowLayout) -> QPixmap:
        """What changes only with the size, the tree or the labels, drawn once into a pixmap: boxes,
        text that stays, the master and its lines (most of a frame's cost if drawn every time)."""
        f = self.frame
        key = (
            g,
            f.master_pid,
            self.socket_label,
            self.clients_label,
            tuple((w.pid, w.state) for w in f.workers),
        )
        if self._backdrop_key != key or self._backdrop_pixmap is None:
            ratio = self.devicePixelRatioF()
            pixmap = QPixmap(round(g.width * ratio), round(g.height * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(QColor(self._c.plot_bg))
            p = QPainter(pixmap)
            try:
                p.setRenderHint(QPainter.RenderHint.Antialiasing)
                p.setFont(self._font(g))
                self._paint_static(p, g)
                for box, w in zip(g.workers, f.workers, strict=True):
                    self._paint_box(p, box, w)
            finally:
                p.end()
            self._backdrop_pixmap, self._backdrop_key = pixmap, key
        return self._backdrop_pixmap

    def _text(
        self,
        p: QPainter,
        rect: tuple[float, float, float, float],
        text: str,
        color: str,
        align: Qt.AlignmentFlag,
    ) -> None:
        p.setPen(QColor(color))
        p.drawText(QRectF(*rect), int(align), text)

    def _paint_static(self, p: QPainter, g: FlowLayout) -> None:
        c, f = self._c, self.frame
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        centre = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        # clients
        x, y, w, h = g.clients
        self._text(p, (x, y, w * 1.6, g.font_px * 1.5), self.clients_label, c.dim, left)
        y, h = y + g.font_px * 1.6, h - g.font_px * 1.6
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(c.grid))
        step = max(g.font_px * 1.2, h / 12)
        for k in range(int(h // step)):
            p.drawEllipse(QPointF(x + w / 2, y + step * (k + 0.5)), g.font_px * 0.35, g.font_px * 0.35)
        # the listening socket and the kernel's accept queue
        sx, sy, sw, sh = g.socket
        p.setPen(QPen(QColor(c.accent), 1.5))
        p.setBrush(QColor(c.panel))
        p.drawRoundedRect(QRectF(sx, sy, sw, sh), 4, 4)
        self._text(
            p,
            (sx - sw * 1.5, sy - g.font_px * 1.6, sw * 4, g.font_px * 1.5),
            self.socket_label,
            c.text,
            centre,
        )
        # the master: apart, supervising; dashed lines to its workers, never on a request's path
        mx, my, mw, mh = g.master
        pen = QPen(QColor(c.marker), 1.2, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(QRectF(mx, my, mw, mh), 6, 6)
        for box in g.workers:
            bx, by, _, bh = box.box
            p.drawLine(QPointF(mx + mw, my + mh / 2), QPointF(bx, by + min(bh / 2, g.font_px)))
        master = f"master {f.master_pid}" if f.master_pid else "master"
        self._text(p, (mx + 6, my + 4, mw - 12, g.font_px * 1.4), master, c.marker, left)
        notes = (
            "binds the socket, starts, scales and restarts workers: no request passes through it",
            "starts and restarts workers: no request passes through it",
            "no request passes through it",
        )
        self._note(
            p,
            (mx + 6, my + 4 + g.font_px * 1.5, mw - 12, mh - g.font_px * 1.5 - 8),
            notes,
            Qt.AlignmentFlag.AlignTop,
        )

    def _note(
        self,
        p: QPainter,
        rect: tuple[float, float, float, float],
        notes: tuple[str, ...],
        v: Qt.AlignmentFlag,
        color: str = "",
    ) -> None:
        """The longest of ``notes`` that fits ``rect`` whole, small and dim: a clipped line reads worse
        than a shorter one."""
        small = QFont(p.font())
        small.setPixelSize(max(9, int(p.font().pixelSize() * 0.8)))
        p.save()
        p.setFont(small)
        p.setPen(QColor(color or self._c.dim))
        flags = int(Qt.AlignmentFlag.AlignLeft | v) | int(Qt.TextFlag.TextWordWrap)
        box = QRectF(*rect)
        metrics = p.fontMetrics()
        for note in notes:
            # measured at the origin: the same note for every box of a size, wherever it sits
            fits = metrics.boundingRect(QRect(0, 0, int(box.width()), int(box.height())), flags, note)
            if fits.height() <= box.height() and fits.width() <= box.width():
                p.drawText(box, flags, note)
                break
        p.restore()

    def _paint_queue(self, p: QPainter, g: FlowLayout) -> None:
        """The kernel's accept queue in the socket: one square per waiting connection."""
        c, sx, sy, sw, sh = self._c, *g.socket
        queued = self.frame.kernel_queue
        cell = max(3.0, min(sw * 0.7, sh / 40))
        shown = min(queued, int((sh - g.font_px * 2) // (cell + 1)))
        if shown:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(c.warn))
            for k in range(shown):
                p.drawRect(QRectF(sx + (sw - cell) / 2, sy + sh - 4 - (k + 1) * (cell + 1), cell, cell))
        words = f"accept queue {queued:,}" if queued else "accept queue empty"
        centre = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        self._text(
            p,
            (sx - sw * 1.5, sy + sh + 2, sw * 4, g.font_px * 1.4),
            words,
            c.warn if queued else c.dim,
            centre,
        )

    def _paint_box(self, p: QPainter, box: WorkerBox, w: FlowWorker) -> None:
        c = self._c
        edge = {"arriving": c.ok, "retiring": c.dim, "dying": c.error}.get(w.state, c.grid)
        p.setPen(QPen(QColor(edge), 2.0 if w.state != "running" else 1.0))
        p.setBrush(QColor(c.panel))
        p.drawRoundedRect(QRectF(*box.box), 5, 5)
        p.setPen(QPen(QColor(c.grid), 1.0))
        p.setBrush(QColor(c.window))
        if box.cells:
            p.drawRects([QRectF(*cell) for cell in box.cells])
        elif w.tokens:
            p.drawRect(QRectF(*box.pool))
        if box.note[2] > 0:  # what a WSGI worker is, in words beside its slots
            notes: tuple[str, ...]
            if w.kind == "sync":
                notes = (
                    "sync worker: one request at a time, no event loop; the others wait in the accept queue",
                    "sync: one request at a time, no loop",
                    "one at a time",
                )
            else:
                notes = (f"gthread worker: {w.tokens} threads, no event loop", f"{w.tokens} threads, no loop")
            if not box.header[3]:  # no room for a header: the pid goes first here
                notes = (*(f"{w.pid} · {n}" for n in notes), str(w.pid))
            self._note(p, box.note, notes, Qt.AlignmentFlag.AlignVCenter)

    def _paint_stream(self, p: QPainter, g: FlowLayout, box: WorkerBox, w: FlowWorker) -> None:
        c = self._c
        _, _, _, bh = box.box
        # stream: socket → worker, as wide as the requests it finished in the last second (a wide
        # antialiased line costs ~0.1 ms, a plain one almost nothing)
        if w.rate_rps > 0:
            width = min(bh * 0.5, 1.0 + 2.0 * math.sqrt(w.rate_rps / 10))
            stream = QColor(c.client)
            stream.setAlpha(70)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            p.setPen(QPen(stream, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
            sx, sy = g.socket_out
            p.drawLine(QPointF(sx, sy), QPointF(*box.entry))
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)

    def _paint_worker(self, p: QPainter, g: FlowLayout, box: WorkerBox, w: FlowWorker) -> None:
        c = self._c
        if box.header[3]:
            # in the order they matter, as a tight header keeps the first ones
            words = [f"worker {w.pid}"]
            if w.state != "running":
                words.append(STATE_WORDS[w.state])
            if w.kind == "uvicorn":
                words.append(f"loop lag {w.lag_ms:,.0f} ms")
            elif w.kind == "sync":
                words.append("sync: " + ("busy" if any(w.busy) else "idle"))
            else:
                words.append(f"gthread {sum(w.busy)}/{w.tokens} threads busy")
                if w.waiting:
                    words.append(f"{w.waiting:,} queued for a thread")
            words.append(f"{w.rate_rps:,.0f} req/s")
            if w.kind == "uvicorn" and w.tokens:
                words.append(f"threadpool {sum(w.busy)}/{w.tokens} busy")
            if w.gil_note and not box.below[3]:
                words.append(w.gil_note)
            colour = c.error if w.blocked or w.state == "dying" else c.text
            self._text(
                p,
                box.header,
                self._fitting(p, words, box.header[2]),
                colour,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            )
        if box.loop is not None:
            self._paint_loop(p, g, box.loop, box.queue, w)
        elif w.kind == "gthread" and w.waiting:
            self._paint_gthread_queue(p, box, w.waiting)
        # the threadpool: busy cells over the idle ones in the backdrop. While its threads take turns
        # at the CPU a busy cell is filled as far as its thread's share of a core: the rest of it, in
        # a paler tint, is the thread holding its slot while it waits for the GIL
        busy, held = QColor(c.server), QColor(c.server)
        held.setAlpha(HELD_ALPHA)
        shares = w.cpu if w.taking_turns and w.cpu else (-1.0,) * len(w.busy)
        if box.cells:
            for (x, y, cw, ch), on, share in zip(box.cells, w.busy, shares, strict=False):
                if on and share < 0:
                    p.fillRect(QRectF(x, y, cw, ch), busy)
                elif on:
                    p.fillRect(QRectF(x, y, cw, ch), held)
                    run = ch * min(1.0, share)
                    p.fillRect(QRectF(x, y + ch - run, cw, run), busy)
        elif w.tokens:
            px, py, pw, ph = box.pool
            running = sum(min(1.0, s) if s >= 0 else 1.0 for s, on in zip(shares, w.busy, strict=False) if on)
            p.fillRect(QRectF(px, py, pw * sum(w.busy) / w.tokens, ph), held)
            p.fillRect(QRectF(px, py, pw * running / w.tokens, ph), busy)
        if w.gil_note and box.below[3]:
            self._note(p, box.below, (w.gil_note,), Qt.AlignmentFlag.AlignTop, c.warn)

    def _paint_gthread_queue(self, p: QPainter, box: WorkerBox, waiting: int) -> None:
        """What gthread accepted and queued for a thread: squares by its door, as the kernel's accept
        queue is drawn (a count the worker reports: which requests they are, no record says yet)."""
        x, _, _, _ = box.box
        gutter = box.pool[0] - x
        cell = max(2.0, min(gutter * 0.5, box.pool[3] / 12))
        fits = max(1, int(box.pool[3] // (cell + 1)))
        shown = min(waiting, fits)
        top = box.hub[1] - shown * (cell + 1) / 2
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(self._c.warn))
        for k in range(shown):
            p.drawRect(QRectF(x + (gutter - cell) / 2, top + k * (cell + 1), cell, cell))

    def _paint_loop(
        self,
        p: QPainter,
        g: FlowLayout,
        loop: tuple[float, float, float],
        queue: tuple[float, float, float, float],
        w: FlowWorker,
    ) -> None:
        # the event loop: red while blocked
        c = self._c
        cx, cy, r = loop
        gone = w.state in ("dying", "retiring")
        p.setPen(QPen(QColor(c.error if w.blocked else c.grid if gone else c.p50), 2.0))
        fill = QColor(c.error if w.blocked else c.window)
        if w.blocked:
            fill.setAlpha(110)
        p.setBrush(fill)
        p.drawEllipse(QPointF(cx, cy), r, r)
        word = "BLOCKED" if w.blocked else "loop"
        if r >= g.font_px * (0.4 * len(word) + 0.2):  # the word fits in the circle
            self._text(
                p,
                (cx - r, cy - g.font_px * 0.7, 2 * r, g.font_px * 1.4),
                word,
                c.text if w.blocked else c.dim,
                Qt.AlignmentFlag.AlignCenter,
            )
        # the queue for a token
        qx, qy, qw, qh = queue
        if w.waiting:
            self._text(
                p,
                (qx, qy + qh, qw, g.font_px * 1.4),
                f"{w.waiting} waiting",
                c.warn,
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
            )

    @staticmethod
    def _fitting(p: QPainter, words: list[str], width: float) -> str:
        """The header in full if it fits, else tighter (32 workers in four columns at 1280 px): the
        first words, as many as there is room for."""
        metrics = p.fontMetrics()
        text = "  ·  ".join(words)
        if metrics.horizontalAdvance(text) <= width:
            return text
        words = [words[0].removeprefix("worker "), *words[1:]]
        while len(words) > 1 and metrics.horizontalAdvance(" · ".join(words)) > width:
            words.pop()
        return " · ".join(words)

    def _sprite(self, colour: QColor, radius: float) -> QPixmap:
        key = (colour.rgba(), radius, self.devicePixelRatioF())
        sprite = self._sprites.get(key)
        if sprite is None:
            ratio = key[2]
            size = math.ceil(2 * radius + 2)
            sprite = QPixmap(round(size * ratio), round(size * ratio))
            sprite.setDevicePixelRatio(ratio)
            sprite.fill(Qt.GlobalColor.transparent)
            q = QPainter(sprite)
            q.setRenderHint(QPainter.RenderHint.Antialiasing)
            q.setPen(Qt.PenStyle.NoPen)
            q.setBrush(colour)
            q.drawEllipse(QPointF(size / 2, size / 2), radius, radius)
            q.end()
            self._sprites[key] = sprite
        return sprite

    def _paint_requests(self, p: QPainter, g: FlowLayout) -> None:
        f = self.frame
        if not f.drawn:
            return
        boxes = g.workers
        sx, sy = g.socket_out
        cx_r = g.clients[0] + g.clients[2]
        d = g.dot
        frozen_colour = QColor(self._c.error)
        groups: dict[int, list[QPointF]] = {k: [] for k in (-1, *self._colors)}
        rows = zip(
            f.worker.tolist(),
            f.stage.tolist(),
            f.progress.tolist(),
            f.lane.tolist(),
            f.frozen.tolist(),
            f.key.tolist(),
            strict=True,
        )
        traced: QPointF | None = None
        for index, (wi, stage, prog, lane, frozen, key) in enumerate(rows):
            box = boxes[wi]
            lx, ly = box.hub
            if stage == ARRIVE:  # to the loop; to a WSGI worker's door: its slots hold only what runs
                ax, ay = box.entry if box.loop is None else box.hub
                x, y = sx + (ax - sx) * prog, sy + (ay - sy) * prog
            elif stage == LOOP and box.loop is not None:
                r = box.loop[2]
                angle = TAU * (key / KEY_SPAN + prog)
                x, y = lx + r * 0.65 * math.cos(angle), ly + r * 0.65 * math.sin(angle)
            elif stage == WAIT:
                qx, qy, qw, qh = box.queue
                step = 2 * d + 2
                per_row = max(1, int(qw // step))
                col, row = lane % per_row, min(lane // per_row, max(0, int(qh // step) - 1))
                x, y = qx + qw - (col + 0.5) * step, qy + (row + 0.5) * step
            elif stage in (THREAD, LOOP):  # LOOP: a worker without one only if a record lies
                if box.cells and 0 <= lane < len(box.cells):
                    cx, cy, cw, ch = box.cells[lane]
                    x, y = cx + cw / 2, cy + ch / 2
                else:
                    px, py, pw, ph = box.pool
                    x, y = px + pw * prog, py + ph / 2
            else:  # RESPOND: back to the clients, below the arriving stream
                ty = g.clients[1] + (key % 1000) / 1000 * g.clients[3]
                x, y = lx + (cx_r - lx) * prog, ly + (ty - ly) * prog
            groups[-1 if frozen else stage].append(QPointF(x, y))
            if index == f.traced:
                traced = QPointF(x, y)
        # a pre-drawn dot per colour, blitted: ~1 µs a dot, where an antialiased ellipse or a round
        # pen point is computed afresh each time (measured 3-5x slower)
        for colour, points in groups.items():
            if points:
                sprite = self._sprite(frozen_colour if colour < 0 else self._colors[colour], d)
                half = sprite.width() / sprite.devicePixelRatio() / 2
                for point in points:
                    p.drawPixmap(QPointF(point.x() - half, point.y() - half), sprite)
        if traced is not None:  # the request a presenter sent: a ring, and its timings beside it
            p.setPen(QPen(QColor(self._c.marker), 2.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(traced, d * 3, d * 3)
            self._label(p, g, traced, f.traced_label)

    def _label(self, p: QPainter, g: FlowLayout, at: QPointF, text: str) -> None:
        metrics = p.fontMetrics()
        w, h = metrics.horizontalAdvance(text) + 12, metrics.height() + 6
        x = min(max(4.0, at.x() + g.dot * 4), g.width - w - 4)
        y = min(max(4.0, at.y() - h - g.dot * 3), g.height - h - 4)
        p.setPen(QPen(QColor(self._c.marker), 1.0))
        p.setBrush(QColor(self._c.window))
        p.drawRoundedRect(QRectF(x, y, w, h), 4, 4)
        p.setPen(QColor(self._c.text))
        p.drawText(QRectF(x, y, w, h), int(Qt.AlignmentFlag.AlignCenter), text)
