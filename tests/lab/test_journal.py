"""The Lab's journal: change labels, and how long a dead worker stays on screen."""

from __future__ import annotations

from asgiscope.server.lab.journal import DEAD_SHOWN_S, LOAD_FIELDS, SCENARIO_FIELDS, Journal, describe_change
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario


def test_describe_change_names_only_what_differs() -> None:
    old, new = Scenario(workers=2), Scenario(workers=4, loop="uvloop")
    assert describe_change(old, new, SCENARIO_FIELDS) == "workers 2→4, loop asyncio→uvloop"
    assert describe_change(old, old, SCENARIO_FIELDS) == ""
    # Whether load is on is not a change of the load: start/stop mark that themselves.
    load = LoadSpec(users=10)
    assert describe_change(load, load.with_changes(running=True), LOAD_FIELDS) == ""


def test_a_dead_worker_is_shown_for_a_while_then_not() -> None:
    clock = [100.0]
    journal = Journal(lambda: clock[0])
    journal.event("worker_exited", 41, "exit code -9")
    journal.event("worker_started", 42, "replace")
    assert journal.dead() == (41,)
    clock[0] += DEAD_SHOWN_S + 0.1
    assert journal.dead() == ()
    assert [e.pid for e in journal.events] == [41, 42] and journal.logged == 2
