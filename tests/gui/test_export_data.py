"""CSV and JSON rows are the Snapshot's series, the same arrays the plots drew; the caption says what ran.

A real Lab (servers and load on 127.0.0.1) for a couple of seconds, in this process.
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
from pathlib import Path

import numpy as np
from pytestqt.qtbot import QtBot

from asgiscope.gui import export_data
from asgiscope.gui.caption import app_version, caption
from asgiscope.gui.plots import PlotsPanel
from asgiscope.gui.theme import Colors
from asgiscope.server.lab.session import Lab
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario


def same(a: float | None, b: float) -> bool:
    return (a is None and math.isnan(b)) or a == b


async def test_rows_match_the_snapshot_and_the_plotted_curves(qtbot: QtBot, tmp_path: Path) -> None:
    lab = Lab(Scenario(workers=1), LoadSpec(endpoint="io/async", ms=20, users=10), port=0)
    async with lab:
        await lab.start_load()
        await asyncio.sleep(2.5)
        snap = lab.snapshot()
        await lab.stop_load()
    s = snap.series
    assert len(s.t) > 10 and np.nanmax(s.client_rps) > 50  # real requests, measured

    export_data.write_csv(snap, tmp_path / "s.csv")
    export_data.write_json(snap, tmp_path / "s.json")
    with (tmp_path / "s.csv").open() as f:
        table = list(csv.reader(f))
    data = json.loads((tmp_path / "s.json").read_text())
    cols = table[0]
    assert cols == data["columns"] == export_data.columns(snap)
    assert len(table) - 1 == len(data["rows"]) == len(s.t)
    expected = {
        "t": s.t,
        "client_rps": s.client_rps,
        "server_rps": s.server_rps,
        "predicted_rps": s.predicted_rps,
        "p50_ms": s.p50_ms,
        "p99_ms": s.p99_ms,
        **{f"cpu {k}": v for k, v in s.cpu.items()},
        **{f"lag_ms worker {pid}": v for pid, v in s.loop_lag_ms.items()},
    }
    assert set(expected) == set(cols) and any(c.startswith("cpu worker") for c in cols)
    for i, (row, jrow) in enumerate(zip(table[1:], data["rows"], strict=True)):
        for c, text, value in zip(cols, row, jrow, strict=True):
            array = expected[c]
            assert same(value, float(array[i])), (c, i)
            assert same(float(text) if text else None, float(array[i])), (c, i)

    # what the plots drew is what the files hold
    panel = PlotsPanel(Colors())
    qtbot.addWidget(panel)
    panel.show_snapshot(snap)
    client = [r[cols.index("client_rps")] for r in data["rows"]]
    drawn = panel.client.yData
    assert drawn is not None and all(same(c, float(d)) for c, d in zip(client, drawn, strict=True))


def test_the_caption_names_the_scenario_the_figures_and_the_version() -> None:
    from tests.gui.fakes import make_snapshot

    snap = make_snapshot()
    text = caption(snap)
    sc, load = snap.scenario, snap.load
    for word in (sc.framework, sc.server, f"{sc.workers} workers", load.endpoint, f"{load.ms} ms",
                 f"{load.users} users", sc.loop, sc.http, "measured 950 req/s"):  # fmt: skip
        assert word in text, word
    assert f"asgiscope {app_version()}" in text
    if snap.prediction is not None:
        assert f"predicted {snap.prediction.throughput_rps:,.0f} req/s" in text
