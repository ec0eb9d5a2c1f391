"""At what CPU priority the processes a session starts run: the one policy, and applying it.

The desktop app starts the servers and the load generator on the same cores as its window. When they
keep every core busy (16 workers on 2 cores), the window's frames come late not for want of CPU (the
GUI thread needs ~6 ms a frame) but waiting for a core behind them: measured on Linux 6.18 with
autogroup on, the GUI thread waited 265 ms per second on the run queue and its frame interval p99 was
64 ms. So the app starts everything at ``BELOW_WINDOW``: ``NICE_STEP`` nicer than itself (at most 19).
``asgiscope run`` has no window and starts them at ``SAME``.

Why process niceness, not the session's autogroup niceness (Linux ``/proc/<pid>/autogroup``):
with autogroup scheduling (Linux default on desktops) niceness only ranks processes *within* one
session; the CPU is first shared between sessions. The load processes are the app's children in the
app's own session, so their niceness makes the window come first within it: that alone took the p99
to 26 ms. The server tree has a session of its own (it is started with setsid): its niceness changes
nothing between its workers (all equal) and nothing between sessions, so the balance between server
and load, which every measured figure depends on, is the same as without the policy; the window only
takes what it took before, sooner. Raising the server session's autogroup niceness as well would help
the window a little more (21 ms) but would hand the load generator, in the app's session, priority
over the servers: that is a different measurement, so the policy does not. Without autogroup (turned
off, or macOS) niceness ranks every process, and the same rule (everything we start equally nicer
than the window) keeps server and load on equal terms there too.

Unprivileged: raising one's own or a child's niceness needs no rights. Where the OS has no niceness
(Windows) nothing happens.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

NICE_STEP = 10  # niceness 10 weighs 110 against the window's 1024 (about 1:9)
MAX_NICE = 19


@dataclass(frozen=True, slots=True)
class Priority:
    """How much nicer than the process that starts them the session's processes run (0: the same)."""

    nice: int = 0

    def niceness_for(self, parent_nice: int) -> int:
        """The niceness a process started by one at ``parent_nice`` gets."""
        return min(MAX_NICE, parent_nice + self.nice)


SAME = Priority(0)
BELOW_WINDOW = Priority(NICE_STEP)


def own_niceness() -> int | None:
    """This process's niceness, or None where the OS has none."""
    if not hasattr(os, "getpriority"):
        return None
    return os.getpriority(os.PRIO_PROCESS, 0)


def lower_self(step: int) -> None:
    """Make this process ``step`` nicer (before it starts children, which inherit it)."""
    if step > 0 and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(step)


def lower_child(pid: int, priority: Priority) -> None:
    """Set a child's niceness to what ``priority`` gives relative to this process: idempotent, so it
    may be applied again to a process that has it already. A child gone meanwhile is fine."""
    own = own_niceness()
    if priority.nice <= 0 or own is None:
        return
    with contextlib.suppress(OSError):  # gone, or (never for our own child) not ours
        if os.getpriority(os.PRIO_PROCESS, pid) < priority.niceness_for(own):
            os.setpriority(os.PRIO_PROCESS, pid, priority.niceness_for(own))
