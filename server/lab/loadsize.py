"""How many load processes a load gets: the user's count, or with "auto" as many as the client bound
needs, from the theory; never more than the machine's cores."""

from __future__ import annotations

from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario
from asgiscope.server.theory import Costs, predict


def load_processes(scenario: Scenario, load: LoadSpec, *, cores: int, costs: Costs) -> int:
    """``load.load_processes`` capped at ``cores``; for "auto" the fewest processes with which the
    predicted limit is no longer the client (one raw process tops out near 1 / its CPU per request),
    else the cores. Other processes' load is left out on purpose: it moves every second, and the count
    should not follow it (each change restarts the group)."""
    cores = max(cores, 1)
    if isinstance(load.load_processes, int):
        return min(load.load_processes, cores)
    for k in range(1, cores + 1):
        if predict(scenario, load.with_changes(load_processes=k), cores=cores, costs=costs).limit != "client":
            return k
    return cores


def resolved(load: LoadSpec, count: int) -> LoadSpec:
    """``load`` with its count of processes decided (what the theory predicts with)."""
    return load.with_changes(load_processes=count)
