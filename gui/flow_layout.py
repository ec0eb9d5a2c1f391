"""Where the flow panel puts things, for any size and 1 to 32 workers: plain numbers, no Qt.

Left to right: the clients, the listening socket with the kernel's accept queue, then the workers in
one to four columns, each drawn as what it is: a uvicorn worker as its event loop, the queue waiting
for a threadpool token and one cell per token; a WSGI sync worker as one slot (one request at a time)
and a gthread worker as its threads, neither with a loop. The master sits apart above the socket: it
supervises and no request passes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from asgiscope.server.scenario import WorkerClass

Rect = tuple[float, float, float, float]  # x, y, width, height
MAX_CELL = 36.0  # big enough to see a request in it, small enough to look like slots
MIN_GRID_CELL = 2.0  # below this a worker's pool is drawn as one meter instead of cells
MAX_SLOT = 2 * MAX_CELL  # a sync worker's one slot: the thing to point at
NO_RECT: Rect = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class WorkerBox:
    kind: WorkerClass
    box: Rect
    header: Rect  # pid, rate, lag
    loop: tuple[float, float, float] | None  # centre x, centre y, radius; None: no event loop (WSGI)
    queue: Rect  # requests waiting for a token, head on the right (NO_RECT: none, WSGI)
    pool: Rect  # the token cells, a WSGI worker's threads
    cells: tuple[Rect, ...]  # one per token; empty when too many to draw one by one (meter)
    entry: tuple[float, float]  # where a request arrives (left edge)
    hub: tuple[float, float]  # where arriving requests go to and responses leave from
    note: Rect  # beside a WSGI worker's slots: room for what it is (NO_RECT: none)
    below: Rect = NO_RECT  # under its cells, room for a line about them (the GIL); NO_RECT: none


@dataclass(frozen=True, slots=True)
class FlowLayout:
    width: float
    height: float
    font_px: int
    dot: float  # radius of a request
    clients: Rect
    socket: Rect
    master: Rect
    workers: tuple[WorkerBox, ...]

    @property
    def socket_out(self) -> tuple[float, float]:
        x, y, w, h = self.socket
        return x + w, y + h / 2


def columns_for(n: int) -> int:
    return 1 if n <= 8 else 2 if n <= 16 else 4


def layout(
    width: float, height: float, tokens: tuple[int, ...], kinds: tuple[WorkerClass, ...] = ()
) -> FlowLayout:
    """``tokens``: per worker, its threadpool size or threads (0 while unknown); ``kinds``: per worker,
    what it is (uvicorn when not given)."""
    font = int(max(10, min(22, height / 45)))
    pad = font * 0.8
    master = (pad, pad * 0.5, width * 0.21 - pad, max(font * 4.0, height * 0.2))
    top = master[1] + master[3] + font * 2.2  # the socket's label sits between it and the master
    clients = (pad, top, width * 0.06, height - top - pad)
    socket = (width * 0.12, top, width * 0.05, height - top - font * 2.0)
    x0 = width * 0.24
    area = (x0, pad * 0.5, width - x0 - pad, height - pad)
    n = len(tokens)
    cols = columns_for(n)
    rows = max(1, math.ceil(n / cols))
    cw, ch = area[2] / cols, area[3] / rows
    gap = min(pad, ch * 0.12)
    boxes = []
    for i, t in enumerate(tokens):
        col, row = divmod(i, rows)
        box = (area[0] + col * cw + gap / 2, area[1] + row * ch + gap / 2, cw - gap, ch - gap)
        kind = kinds[i] if i < len(kinds) else "uvicorn"
        boxes.append(_worker(box, t, font) if kind == "uvicorn" else _wsgi_worker(box, kind, t, font))
    dot = max(2.0, min(6.0, min((b.box[3] for b in boxes), default=40) / 10))
    return FlowLayout(width, height, font, dot, clients, socket, master, tuple(boxes))


def _worker(box: Rect, tokens: int, font: int) -> WorkerBox:
    x, y, w, h = box
    head_h = font * 1.4 if h >= font * 3.5 else 0.0
    body_y, body_h = y + head_h, h - head_h
    r = max(3.0, min(body_h * 0.42, w * 0.09, font * 3.5))
    loop = (x + r + 6, body_y + body_h / 2, r)
    queue = (x + 2 * r + 14, body_y + body_h * 0.2, w * 0.22, body_h * 0.6)
    px = queue[0] + queue[2] + 8
    pool = (px, body_y + 3, x + w - px - 4, body_h - 6)
    cells = _cells(pool, tokens)
    return WorkerBox(
        kind="uvicorn",
        box=box,
        header=(x + 4, y, w - 8, head_h),
        loop=loop,
        queue=queue,
        pool=pool,
        cells=cells,
        entry=(x, loop[1]),
        hub=(loop[0], loop[1]),
        note=NO_RECT,
        below=_below(pool, cells, font),
    )


def _wsgi_worker(box: Rect, kind: WorkerClass, tokens: int, font: int) -> WorkerBox:
    """No loop and no token queue: a sync worker's one slot (bigger than a token cell: it is the
    lesson), or gthread's threads; words beside them when there is room."""
    x, y, w, h = box
    head_h = font * 1.4 if h >= font * 3.5 else 0.0
    body_y, body_h = y + head_h, h - head_h
    left = x + min(w * 0.06, font * 2.0)
    if kind == "sync":
        side = max(3.0, min(body_h - 6, w * 0.3, MAX_SLOT))
        pool = (left, body_y + (body_h - side) / 2, side, side)
        cells: tuple[Rect, ...] = (pool,)
    else:
        pool = (left, body_y + 3, w * 0.55, body_h - 6)
        cells = _cells(pool, tokens)
        if cells:  # a few threads sit in the middle of the box, in line with their stream
            drop = (pool[3] - (max(c[1] + c[3] for c in cells) - pool[1])) / 2
            cells = tuple((cx, cy + drop, cw, ch) for cx, cy, cw, ch in cells)
    right = max((c[0] + c[2] for c in cells), default=pool[0] + pool[2])
    note_x = right + font * 0.8
    note = (note_x, body_y + 2, x + w - note_x - 4, body_h - 4) if x + w - note_x > font * 6 else NO_RECT
    mid = body_y + body_h / 2
    hub = (pool[0] + pool[2] / 2, mid) if kind == "sync" else (pool[0], mid)
    return WorkerBox(
        kind=kind,
        box=box,
        header=(x + 4, y, w - 8, head_h),
        loop=None,
        queue=NO_RECT,
        pool=pool,
        cells=cells,
        entry=(x, mid),
        hub=hub,
        note=note,
        below=_below(pool, cells, font) if kind == "gthread" else NO_RECT,
    )


def _below(pool: Rect, cells: tuple[Rect, ...], font: int) -> Rect:
    """The pool's room under its cells, if a line or two of small text fits there."""
    if not cells:
        return NO_RECT
    x, y, w, h = pool
    top = max(c[1] + c[3] for c in cells) + font * 0.3
    room = min(y + h - top, font * 2.6)
    return (x, top, w, room) if room >= font * 1.1 else NO_RECT


def _cells(pool: Rect, tokens: int) -> tuple[Rect, ...]:
    """A grid of ``tokens`` square-ish cells filling ``pool`` row by row; () if they would be too small."""
    x, y, w, h = pool
    if tokens <= 0 or w <= 0 or h <= 0:
        return ()
    # the rows that give the largest cells, the fewest rows among equals (a few threads in one line)
    s, minus_rows = max(
        (min(w / math.ceil(tokens / r), h / r, MAX_CELL), -r) for r in range(1, min(tokens, 200) + 1)
    )
    rows = -minus_rows
    cols = math.ceil(tokens / rows)
    if s < MIN_GRID_CELL:
        return ()
    gap = 1.0 if s >= 5 else 0.0
    return tuple((x + (k % cols) * s, y + (k // cols) * s, s - gap, s - gap) for k in range(tokens))
