"""What both master entry points do first: read the spec, take the priority the owner asked for, tie
the master's life to its owner's."""

from __future__ import annotations

import contextlib
import os
import sys

from asgiscope.server.launch.events import EventWriter
from asgiscope.server.launch.spec import NO_FD, MasterSpec
from asgiscope.server.lifeline import publish_as_parent, start_owner_watch
from asgiscope.server.priority import lower_self, lower_session

DEMO_APP = "asgiscope.server.demo.app:app_factory"  # FastAPI; demo.apps names every framework's


def boot_master(argv: list[str]) -> tuple[MasterSpec, EventWriter]:
    """Parse the spec from argv[1], lower our priority as it says, start the owner watch, publish our
    pid for the workers' watch."""
    if len(argv) != 2:
        sys.exit(f"usage: python -m {argv[0]} SPEC_JSON (started by server.launch.tree, not by hand)")
    spec = MasterSpec.from_json(argv[1])
    lower_self(spec.nice)  # before any worker starts: they inherit it
    lower_session(spec.session_nice)  # we lead a session of our own: this is the whole tree's
    if spec.owner_fd != NO_FD:
        start_owner_watch(spec.owner_fd)
    publish_as_parent()
    events = EventWriter(spec.events_fd if spec.events_fd != NO_FD else None)
    return spec, events


def close_fds_in_worker(spec: MasterSpec) -> None:
    """For forked workers: drop the master's private pipe ends (the master alone reports events)."""
    for fd in (spec.events_fd, spec.owner_fd):
        if fd != NO_FD:
            with contextlib.suppress(OSError):
                os.close(fd)
