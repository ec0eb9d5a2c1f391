"""The load side as a group of processes: exact splits, figures that add up to one process's, the Lab
and ``asgiscope run`` driving K of them, a killed member told and replaced, the theory's client cap."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from asgiscope.server.lab.insight import Figures, client_bound
from asgiscope.server.lab.loadsize import load_processes
from asgiscope.server.lab.metrics import Metrics
from asgiscope.server.lab.session import Lab
from asgiscope.server.lab.snapshot import Snapshot
from asgiscope.server.limits import NotAllowedError
from asgiscope.server.load import hist
from asgiscope.server.load.group import LoadGroup, split_spec
from asgiscope.server.load.handle import LoadProcess
from asgiscope.server.load.spec import LoadReport, LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Costs, predict
from tests.test_load import Server, _start_server
from tests.waiting import until_snapshot

RUN = [sys.executable, "-m", "asgiscope.server.cli_run"]


# ---- pure --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("users", "k"), [(1001, 2), (5, 3), (100, 7), (3, 4), (10_000, 32)])
def test_split_is_exact(users: int, k: int) -> None:
    spec = LoadSpec(users=users, rate=1001.0, max_in_flight=2001)
    parts = split_spec(spec, k)
    assert len(parts) == k
    running = [p for p in parts if p.running]
    assert sum(p.users for p in running) == users  # idle members hold a placeholder user, sending none
    assert max(p.users for p in running) - min(p.users for p in running) <= 1
    assert math.isclose(sum(p.rate for p in parts), 1001.0)
    assert sum(p.max_in_flight for p in parts) == 2001
    assert all(p.load_processes == 1 for p in parts)  # each child is one process
    assert [p.users for p in split_spec(LoadSpec(users=1001), 2)] == [501, 500]


def test_open_loop_members_all_send() -> None:
    parts = split_spec(LoadSpec(mode="open", rate=900.0, users=1), 3)
    assert all(p.running for p in parts) and [p.rate for p in parts] == [300.0] * 3


def test_load_processes_refuses_in_one_sentence() -> None:
    for bad in (0, 33, "many", True):
        with pytest.raises(NotAllowedError, match=r"load_processes=.* is not allowed: .*or 'auto'"):
            LoadSpec(load_processes=bad)  # type: ignore[arg-type]


def test_the_client_cap_scales_with_the_processes() -> None:
    # Without connection crowding the cap is exactly processes x 1 / CPU per request, until cores run out.
    costs = Costs(conn_growth=0.0)
    sc = Scenario(workers=16)
    load = LoadSpec(endpoint="hello", ms=0, users=200, engine="httpx", connection="forever")
    caps = {
        k: predict(sc, load.with_changes(load_processes=k), cores=16, costs=costs, others=0.0)
        for k in (1, 2, 4)
    }
    assert all(p.limit == "client" for p in caps.values()), {k: p.explanation for k, p in caps.items()}
    assert caps[2].throughput_rps == pytest.approx(2 * caps[1].throughput_rps, rel=1e-9)
    assert caps[4].throughput_rps == pytest.approx(4 * caps[1].throughput_rps, rel=1e-9)
    assert "4 httpx processes top out" in caps[4].explanation
    # "auto" is the theory's fewest processes that lift the client bound; never more than the cores.
    auto = load_processes(sc, load, cores=16, costs=costs)
    assert auto > 1
    assert predict(sc, load.with_changes(load_processes=auto), cores=16, costs=costs).limit != "client"
    assert predict(sc, load.with_changes(load_processes=auto - 1), cores=16, costs=costs).limit == "client"
    assert load_processes(sc, load.with_changes(load_processes=8), cores=2, costs=costs) == 2
    raw = LoadSpec(endpoint="hello", ms=0, users=200)
    assert load_processes(Scenario(workers=2), raw, cores=2, costs=Costs()) == 1


def _report(t: float, cpu: float, wait: float = 0.0, in_flight: int = 0) -> LoadReport:
    return LoadReport(
        t=t, interval_s=0.1, completed=10, ok=10, cpu_percent=cpu, wait_percent=wait, in_flight=in_flight
    )


def test_metrics_keep_client_cpu_per_process() -> None:
    m = Metrics()
    m.add_reports([_report(9.5, 40.0, 5.0, 3), _report(9.9, 60.0, 5.0, 4)], 11)
    m.add_reports([_report(9.6, 95.0, 2.0, 7)], 12)
    c = m.client(10.0)
    assert c.per_process == ((11, 50.0, 5.0), (12, 95.0, 2.0))
    assert c.cpu_percent == pytest.approx(145.0) and c.wait_percent == pytest.approx(7.0)
    assert c.in_flight == 11  # the latest of each process, added


def _figures(procs: tuple[tuple[int, float, float], ...]) -> Figures:
    return Figures(
        load=LoadSpec(endpoint="hello", ms=0),
        load_running=True,
        client_rps=1000.0,
        server_rps=1000.0,
        sent_rps=1000.0,
        client_cpu_percent=sum(p[1] for p in procs),
        client_wait_percent=sum(p[2] for p in procs),
        overflow=0,
        prediction=None,
        workers=(),
        warm=True,
        client_processes=procs,
    )


def test_client_bound_is_judged_per_process() -> None:
    # Together 125 % of a core, but neither process is saturated: not bound.
    assert client_bound(_figures(((11, 60.0, 5.0), (12, 65.0, 5.0)))) is None
    bound = client_bound(_figures(((11, 40.0, 0.0), (12, 96.0, 0.0))))
    assert bound is not None and "load process 12 (of 2)" in bound.reason and "96%" in bound.reason
    waiting = client_bound(_figures(((11, 30.0, 0.0), (12, 50.0, 45.0))))
    assert waiting is not None and "load process 12" in waiting.reason and "never idled" in waiting.reason


# ---- real servers ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start_server(tmp_path_factory.mktemp("group") / "access.log")


async def _measure(lp: LoadProcess | LoadGroup, seconds: float) -> list[LoadReport]:
    await lp.start()
    try:
        await asyncio.sleep(0.5)  # warm: every user connected
        lp.drain()
        await asyncio.sleep(seconds)
        return lp.drain()
    finally:
        await lp.stop()


async def test_two_processes_add_up_to_one_at_low_load(server: Server) -> None:
    # 20 users on a 50 ms handler: ~400 req/s, far below what one process or the server can do.
    spec = LoadSpec(endpoint="io/async", ms=50, users=20)
    one = await _measure(LoadProcess(server.url, spec), 2.0)
    group = LoadGroup(server.url, spec, processes=2)
    two = await _measure(group, 2.0)
    done_one, done_two = sum(r.completed for r in one), sum(r.completed for r in two)
    assert 0.8 <= done_two / done_one <= 1.25, (done_one, done_two)
    assert sum(sum(r.errors.values()) for r in one + two) == 0
    merged, single = hist.merge_histograms(two), hist.merge_histograms(one)
    assert merged.get_total_count() == done_two  # the histograms merge exactly
    p50_two, p50_one = merged.get_value_at_percentile(50), single.get_value_at_percentile(50)
    assert p50_two >= 50_000 and p50_two == pytest.approx(p50_one, rel=0.25)
    assert group.exit_code == 0


async def test_each_member_carries_its_share(server: Server) -> None:
    group = LoadGroup(server.url, LoadSpec(endpoint="io/async", ms=50, users=21), processes=3)
    await group.start()
    try:
        await asyncio.sleep(0.5)
        group.drain_each()
        await asyncio.sleep(1.5)
        counts = {pid: sum(r.completed for r in reports) for pid, reports in group.drain_each()}
    finally:
        await group.stop()
    assert len(counts) == 3 and all(counts)
    total = sum(counts.values())
    assert all(0.2 <= n / total <= 0.47 for n in counts.values()), counts  # 7 users each: a third


# ---- the Lab and the CLI -------------------------------------------------------------------------
def _loads(snap: Snapshot) -> list[int]:
    return [p.pid for p in snap.processes if p.role == "load"]


async def _until(lab: Lab, ok: Callable[[Snapshot], bool], within_s: float = 10.0) -> Snapshot:
    return await until_snapshot(lab, ok, within_s)


async def test_the_lab_runs_the_group_and_replaces_a_killed_member() -> None:
    lab = Lab(Scenario(workers=1), LoadSpec(endpoint="io/async", ms=20, users=21, load_processes=2))
    async with lab:
        await lab.start_load()
        snap = await _until(lab, lambda s: len(_loads(s)) == 2 and s.client_rps > 0)
        first, second = _loads(snap)
        snap = await _until(lab, lambda s: s.client_cpu_percent > 0)  # the group's CPU, from its reports
        assert math.isfinite(snap.client_wait_percent) and snap.client_wait_percent >= 0
        assert snap.prediction is not None and snap.prediction.throughput_rps > 0
        os.kill(second, signal.SIGKILL)  # a process this test's Lab started
        snap = await _until(lab, lambda s: any(e.kind == "load_respawned" for e in s.events))
        died = [e for e in snap.events if e.kind == "load_died"]
        assert died and died[0].pid == second and died[0].code == -signal.SIGKILL
        assert "load process 2 of 2" in died[0].detail
        born = next(e for e in snap.events if e.kind == "load_respawned")
        assert born.pid not in (0, first, second) and f"replacing pid {second}" in born.detail
        snap = await _until(lab, lambda s: sorted(_loads(s)) == sorted([first, born.pid]))
        requests = snap.requests
        await asyncio.sleep(1.0)
        assert lab.snapshot().requests > requests  # the survivor and the new one carry on
        assert lab.load.running


async def test_auto_follows_the_theory_as_the_engine_changes() -> None:
    # httpx at /hello binds one process long before 2 cores' worth of server: auto starts two; raw
    # needs one, and a live change regroups them.
    load = LoadSpec(endpoint="hello", ms=0, users=6, engine="httpx", connection="forever")
    lab = Lab(Scenario(workers=1), load, cores=2)
    async with lab:
        await lab.start_load()
        snap = await _until(lab, lambda s: len(_loads(s)) == 2 and s.requests > 0)
        assert snap.prediction is not None and snap.prediction.limit != "client"
        await lab.set_load(lab.load.with_changes(engine="raw"))
        snap = await _until(lab, lambda s: len(_loads(s)) == 1)
        before = snap.requests
        await asyncio.sleep(1.0)
        assert lab.snapshot().requests > before
        assert any("engine httpx→raw" in m.label for m in lab.snapshot().markers)


def test_run_lists_its_load_processes() -> None:
    out = subprocess.run(
        [
            *RUN,
            *("--workers", "1", "--endpoint", "io/async", "--ms", "50", "--users", "20"),
            *("--load-processes", "2", "--warmup", "1", "--duration", "2", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["load"]["load_processes"] == 2
    procs = r["load_processes"]
    assert len(procs) == 2 and len({p["pid"] for p in procs}) == 2
    assert all(p["cpu_percent"] >= 0 and p["rss_mb"] > 0 for p in procs)
    assert r["client_cpu"]["cpu_percent"] > 0
    assert r["measured"]["requests"] > 0 and r["measured"]["errors"] == 0


@pytest.mark.parametrize("word", ["0", "many", str((os.cpu_count() or 1) + 1)])
def test_run_refuses_a_bad_count_in_one_sentence(word: str) -> None:
    out = subprocess.run([*RUN, "--load-processes", word], capture_output=True, text=True, timeout=30)
    cores = os.cpu_count() or 1
    shown = word if word.isdigit() else repr(word)  # a number is named as the number it is
    assert out.returncode == 2
    assert (
        f"--load-processes={shown} is not allowed: load-processes must be a whole number from 1 to {cores}"
        in out.stderr
    )
    assert "or 'auto'" in out.stderr and "Traceback" not in out.stderr
