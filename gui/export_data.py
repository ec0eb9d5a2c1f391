"""Every plotted series of a Snapshot as rows: what the CSV and JSON exports write (no Qt here).

One row per sample of ``Series.t``; one column per plotted line: throughput (client, server,
predicted), latency (p50, p99), CPU per process and loop lag per worker. A gap in a line (NaN) is an
empty CSV cell and a JSON null, never a made-up number.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from asgiscope.server.lab.snapshot import Snapshot

FIXED = ("t", "client_rps", "server_rps", "predicted_rps", "p50_ms", "p99_ms")


def columns(snap: Snapshot) -> list[str]:
    s = snap.series
    return [*FIXED, *(f"cpu {k}" for k in s.cpu), *(f"lag_ms worker {pid}" for pid in s.loop_lag_ms)]


def rows(snap: Snapshot) -> list[list[float | None]]:
    """The series, one list per sample, in ``columns`` order; None where a line has no value."""
    s = snap.series
    arrays = [
        s.t,
        s.client_rps,
        s.server_rps,
        s.predicted_rps,
        s.p50_ms,
        s.p99_ms,
        *s.cpu.values(),
        *s.loop_lag_ms.values(),
    ]
    n = len(s.t)
    out = []
    for i in range(n):
        row: list[float | None] = []
        for a in arrays:
            # a process that appeared late has a shorter array, aligned to the newest samples
            j = i - (n - len(a))
            v = float(a[j]) if 0 <= j < len(a) else math.nan
            row.append(None if math.isnan(v) else v)
        out.append(row)
    return out


def to_json(snap: Snapshot) -> dict[str, Any]:
    return {
        "t_now": snap.t,
        "scenario": json.loads(snap.scenario.to_json()),
        "load": json.loads(snap.load.to_json()),
        "columns": columns(snap),
        "rows": rows(snap),
    }


def write_csv(snap: Snapshot, path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns(snap))
    for row in rows(snap):
        w.writerow(["" if v is None else repr(v) for v in row])
    path.write_text(buf.getvalue(), encoding="utf-8")


def write_json(snap: Snapshot, path: Path) -> None:
    path.write_text(json.dumps(to_json(snap), indent=1), encoding="utf-8")
