"""A recording stand-in for the Lab (widget tests only) and hand-made Snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np

from asgiscope.server.lab.flow import FlowFrame, frame_at
from asgiscope.server.lab.flow_events import FlowEvents
from asgiscope.server.lab.flow_replay import Playhead
from asgiscope.server.lab.session import LabError
from asgiscope.server.lab.snapshot import (
    ClientBound,
    Latency,
    Marker,
    ProcessStats,
    Series,
    Snapshot,
    Telemetry,
    TreeEvent,
    WorkerStats,
)
from asgiscope.server.lab.traced import Traced
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Prediction


class FakeLab:
    """Records every call; ``delay`` makes calls slow, ``fail`` makes named calls raise, ``refuse``
    makes the calls it picks (by name and argument) raise the Lab's own error."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.calls: list[tuple[str, Any]] = []
        self.delay = 0.0
        self.fail: set[str] = set()
        self.refuse: Callable[[str, Any], bool] = lambda _name, _arg: False
        # a recorded trace for the flow panel, drawn by the real model at ``flow_t`` (ns)
        self.flow = FlowEvents()
        self.flow_t = 0

    async def _call(self, name: str, arg: Any = None) -> None:
        self.calls.append((name, arg))
        if self.delay:
            await asyncio.sleep(self.delay)
        if name in self.fail:
            raise RuntimeError(f"{name} exploded")
        if self.refuse(name, arg):
            raise LabError(f"the Lab refused {name}")

    async def start(self) -> None:
        await self._call("start")

    async def apply(self, scenario: Scenario) -> None:
        await self._call("apply", scenario)

    async def set_load(self, load: LoadSpec) -> None:
        await self._call("set_load", load)

    async def start_load(self) -> None:
        await self._call("start_load")

    async def stop_load(self) -> None:
        await self._call("stop_load")

    def snapshot(self) -> Snapshot:
        return self.snap

    def flow_frame(self, playhead: Playhead) -> FlowFrame:
        return frame_at(self.flow, self.flow_t, transit_ns=playhead.transit_ns)

    async def send_one(self) -> Traced:
        """The trace's own record of its first request, as the real Lab finds one it sent."""
        await self._call("send_one")
        row = self.flow.chunks[0].req[0]
        traced = Traced(
            int(row["pid"]),
            200,
            int(row["start"]) - 100_000,
            int(row["start"]),
            int(row["token"]),
            int(row["end"]),
            int(row["end"]) + 100_000,
        )
        self.flow.traced = traced
        return traced

    async def close(self) -> None:
        await self._call("close")

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def make_snapshot(
    t: float = 30.0,
    pids: tuple[int, ...] = (1001, 1002),
    *,
    dead: tuple[int, ...] = (),
    insights: tuple[str, ...] = ("Measured 950 req/s of a predicted 1,000: the users bind.",),
    markers: tuple[Marker, ...] = (Marker(20.0, "workers 2→4"),),
    client_bound: ClientBound | None = None,
    errors: dict[str, int] | None = None,
    lost: int = 0,
) -> Snapshot:
    n = int(t * 10)
    ts = np.linspace(0.0, t, n)
    workers = tuple(
        WorkerStats(
            pid=pid,
            alive=pid not in dead,
            requests=1000 * (i + 1),
            share=(i + 1) / sum(range(1, len(pids) + 1)),
            throughput_rps=400.0,
            in_flight=3,
            pool_total=40,
            pool_busy=2,
            loop_lag_ms=1.5,
            cpu_percent=25.0,
            rss_mb=46.0,
        )
        for i, pid in enumerate(pids)
    )
    return Snapshot(
        t=t,
        state="running",
        message="",
        scenario=Scenario(),
        load=LoadSpec(),
        load_running=True,
        url="http://127.0.0.1:8123",
        client_rps=950.0,
        latency=Latency(p50_ms=101.0, p90_ms=104.0, p99_ms=112.0, max_ms=130.0, count=9000),
        errors=errors or {},
        server_rps=948.0,
        prediction=Prediction(1000.0, 100.0, "users", "100 users / 100 ms = 1,000 req/s"),
        client_bound=client_bound,
        insights=insights,
        master_pid=1000,
        workers=workers,
        processes=(
            ProcessStats("master", 1000, 0.5, 40.0),
            *(ProcessStats("worker", pid, 25.0, 46.0) for pid in pids),
            ProcessStats("load", 2000, 30.0, 60.0),
            ProcessStats("gui", 3000, 12.0, 120.0),
        ),
        events=(TreeEvent(5.0, "worker_started", pids[0]), TreeEvent(12.0, "worker_exited", 999, "signal 9")),
        telemetry=Telemetry(received=9000, datagrams=150, lost=lost),
        markers=markers,
        series=Series(
            t=ts,
            client_rps=np.full(n, 950.0),
            server_rps=np.full(n, 948.0),
            predicted_rps=np.full(n, 1000.0),
            p50_ms=np.full(n, 101.0),
            p99_ms=np.full(n, 112.0),
            cpu={"master": np.full(n, 0.5), **{f"worker {pid}": np.full(n, 25.0) for pid in pids}},
            loop_lag_ms={pid: np.full(n, 1.5) for pid in pids},
        ),
    )
