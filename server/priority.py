"""At what CPU priority the processes a session starts run: the one policy, and applying it.

The desktop app starts the servers and the load generator on the same cores as its window. When they
keep every core busy (16 workers on 2 cores), the window's frames come late not for want of CPU (the
GUI thread needs ~6 ms a frame) but waiting for a core behind them. ``asgiscope run`` has no window and
starts everything at ``SAME``. The app starts everything at ``BELOW_WINDOW``:

- every process started (master, workers, load processes) runs ``NICE_STEP`` nicer than the app (at
  most 19). Without autogroup scheduling (turned off, or macOS) niceness ranks every process, and server
  and load stay on equal terms with each other. On Linux with autogroups (the default on desktops)
  niceness only ranks processes within one session and the CPU is first shared between sessions: the
  load processes are the app's children in the app's session, so their niceness puts the window first
  within it, and the server tree, in a session of its own (setsid), keeps its session's weight. So the
  balance between the servers, the load and other programs, which every measured figure depends on,
  is what it was without the policy; the window takes what it took before, sooner.

``WINDOW_FIRST`` (the app's ``--window-first``) also sets the server session's autogroup niceness
(``/proc/<pid>/autogroup``) ``NICE_STEP`` above the app's session's. That is what keeps the window
smooth when another program is busy too, and it costs the servers: they then yield to every other
session. Measured (docs/benchmarks.md, 16 workers, 2 cores): with a spinning process in another session,
frame p99 95 ms at the same priority, 72 ms at ``BELOW_WINDOW``, 22 ms at ``WINDOW_FIRST``; but the
measured throughput fell to 0.25-0.30 of the prediction (0.46-0.58 otherwise) although the theory
subtracts the cores others used: a figure about the scheduler, not the servers. Hence opt-in.

Unprivileged: raising niceness (one's own, a child's, one's own session's) needs no rights. Where the
OS has no niceness (Windows) or no autogroups, that part is skipped.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

NICE_STEP = 10  # niceness 10 weighs 110 against the window's 1024 (about 1:9)
MAX_NICE = 19
AUTOGROUP = "/proc/self/autogroup"


@dataclass(frozen=True, slots=True)
class Priority:
    """How much nicer than the process that starts them the session's processes run (0: the same),
    and whether the server tree's session (its autogroup) is made as much nicer than ours."""

    nice: int = 0
    session: bool = False

    def niceness_for(self, parent_nice: int) -> int:
        """The niceness a process started by one at ``parent_nice`` gets."""
        return min(MAX_NICE, parent_nice + self.nice)

    def session_nice(self) -> int | None:
        """The autogroup niceness for a session this process starts, or None to leave it (not asked
        for, or no autogroups here)."""
        own = own_session_nice() if self.session else None
        return None if self.nice <= 0 or own is None else self.niceness_for(own)


SAME = Priority(0)
BELOW_WINDOW = Priority(NICE_STEP)
WINDOW_FIRST = Priority(NICE_STEP, session=True)


def own_niceness() -> int | None:
    """This process's niceness, or None where the OS has none."""
    if not hasattr(os, "getpriority"):
        return None
    return os.getpriority(os.PRIO_PROCESS, 0)


def own_session_nice(path: str = AUTOGROUP) -> int | None:
    """This session's autogroup niceness (Linux, ``/autogroup-N nice K``), or None without autogroups.

    The file is empty for a process still in the boot session (a service started by init without
    setsid, as CI is): its tasks sit in the root group, which weighs against other sessions' groups
    as nice 0 does."""
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text.split()[-1]) if text else 0
    except (OSError, ValueError, IndexError):
        return None


def lower_session(nice: int | None) -> None:
    """Set this session's autogroup niceness (a process in a new session: the whole tree's)."""
    if nice is None:
        return
    with contextlib.suppress(OSError), open(AUTOGROUP, "w") as f:
        f.write(str(nice))


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
