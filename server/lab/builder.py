"""Building the Lab's Snapshot each tick, and caching the inputs that are costly to ask for again."""

from __future__ import annotations

from asgiscope.server.lab.assemble import LabFacts, assemble
from asgiscope.server.lab.costscale import CostScale
from asgiscope.server.lab.journal import Journal
from asgiscope.server.lab.loadsize import load_processes, resolved
from asgiscope.server.lab.metrics import Metrics
from asgiscope.server.lab.others import OthersMeter
from asgiscope.server.lab.procstats import ProcSampler
from asgiscope.server.lab.rig import Rig
from asgiscope.server.lab.snapshot import Snapshot, Telemetry
from asgiscope.server.launch.tree import ServerTree, TreeInfo
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.supervision import GUNICORN_TIMEOUT_S
from asgiscope.server.theory import Costs, Prediction, predict

INFO_REFRESH_S = 1.0
IDLE_INFO_REFRESH_S = 5.0  # with the load off the backstop matters less; worker events still refresh at once
WARM_WINDOWS = 1.5  # the load is "warm" once it has run this many metric windows unchanged


class SnapshotBuilder:
    def __init__(
        self,
        metrics: Metrics,
        rig: Rig,
        journal: Journal,
        *,
        cores: int,
        t0: float,
        gunicorn_timeout_s: float = GUNICORN_TIMEOUT_S,
    ) -> None:
        self._metrics = metrics
        self._gunicorn_timeout_s = gunicorn_timeout_s
        self._rig = rig
        self._journal = journal
        self._cores = cores
        self._t0 = t0
        self._procs = ProcSampler()
        self._others = OthersMeter(cores)
        self._info: TreeInfo | None = None
        self._info_key: tuple[ServerTree, int] | None = None
        self._info_at = 0.0
        # Scaled to this machine's speed when the Lab starts (calibrate.py): until then, as measured.
        # The prediction uses them at the speeds measured on the session's processes once the load
        # has run steadily (lab/costscale.py); the load group's size and the collecting's share don't.
        self.costs = Costs()
        self._scale = CostScale()
        self._prediction_key: tuple[Scenario, LoadSpec, Costs, float] | None = None
        self._prediction: Prediction | None = None
        self._count_key: tuple[Scenario, LoadSpec, Costs] | None = None
        self._count = 1

    def build(self, now: float, scenario: Scenario, load: LoadSpec, steady_since: float) -> Snapshot:
        """``steady_since``: since when load and server have been as they are now (monotonic s)."""
        rig, journal = self._rig, self._journal
        cstats = rig.collector.stats() if rig.collector is not None else None
        info = self._tree_info(now, load.running)
        load_pids = tuple(pid for pid in (rig.load_proc.pids if rig.load_proc is not None else ()) if pid)
        ours = ([info.master_pid, *info.worker_pids] if info else []) + list(load_pids)
        others = self._others.sample(ours, now, own_counted=lambda: self._collecting(now, load.running))
        warm = load.running and now - steady_since > WARM_WINDOWS * self._metrics.window_s
        prediction = self._predict(scenario, load, others)
        self._measure_speeds(now, scenario, load, info, load_pids, warm, prediction)
        return assemble(
            self._metrics,
            self._procs,
            now,
            LabFacts(
                t=now - self._t0,
                state=journal.state,
                message=journal.message,
                scenario=scenario,
                load=load,
                load_on=load.running,
                warm=warm,
                url=rig.url,
                info=info,
                load_pids=load_pids,
                telemetry=(
                    Telemetry(
                        cstats.records, cstats.datagrams, cstats.lost, cstats.rejected, cstats.implausible
                    )
                    if cstats
                    else Telemetry()
                ),
                prediction=prediction,
                events=tuple(journal.events),
                dead=journal.dead(),
                markers=tuple(journal.markers),
                failures=journal.failures(),
                cores=self._cores,
            ),
        )

    def _measure_speeds(
        self,
        now: float,
        scenario: Scenario,
        load: LoadSpec,
        info: TreeInfo | None,
        load_pids: tuple[int, ...],
        warm: bool,
        prediction: Prediction,
    ) -> None:
        """Feed the speed meter the session's CPU counters while the load is steady (lab/costscale.py)."""
        if not warm or info is None or not load_pids or self._metrics.client_requests <= 0:
            self._scale.restart()
            return
        if self._others.measured_at != now:
            return  # the counters are read twice a second: requests and CPU at one instant
        totals = self._others.cpu_totals
        self._scale.sample(
            now,
            {pid: totals[pid] for pid in info.worker_pids if pid in totals},
            {pid: totals[pid] for pid in load_pids if pid in totals},
            self._metrics.client_requests,
            scenario=scenario,
            load=resolved(load, self.load_processes(scenario, load)),
            base=self.costs,
            connects=prediction.connects,
            cores=self._cores,
        )

    def _collecting(self, now: float, load_on: bool) -> float:
        """Cores the Lab's collecting takes now: a per-request cost in the theory, unlike the rest of
        this process."""
        rate = self._metrics.server_rps(now) if load_on else 0.0
        return rate * self.costs.lab.at(rate) if rate > 0 else 0.0

    def _tree_info(self, now: float, load_on: bool) -> TreeInfo | None:
        # Listing the master's children walks all of /proc (~15 ms here): refresh it when the tree is
        # new or something happened to it (the master reports each worker start and exit), or once a
        # second as a backstop, not on every frame.
        tree = self._rig.tree
        if tree is None:
            return None
        key = (tree, self._journal.logged)
        refresh_s = INFO_REFRESH_S if load_on else IDLE_INFO_REFRESH_S
        if self._info is None or key != self._info_key or now - self._info_at >= refresh_s:
            self._info, self._info_key, self._info_at = tree.info(), key, now
        return self._info

    def load_processes(self, scenario: Scenario, load: LoadSpec) -> int:
        """How many load processes ``load`` gets here (its count, or "auto" decided by the theory)."""
        key = (scenario, load.with_changes(running=True), self.costs)
        if key != self._count_key:
            self._count = load_processes(scenario, load, cores=self._cores, costs=self.costs)
            self._count_key = key
        return self._count

    def _predict(self, scenario: Scenario, load: LoadSpec, others: float) -> Prediction:
        costs = self._scale.costs(self.costs)
        key = (scenario, load, costs, others)
        if key != self._prediction_key or self._prediction is None:
            self._prediction = predict(
                scenario,
                resolved(load, self.load_processes(scenario, load)),
                cores=self._cores,
                costs=costs,
                gunicorn_timeout_s=self._gunicorn_timeout_s,
                others=others,
            )
            self._prediction_key = key
        return self._prediction
