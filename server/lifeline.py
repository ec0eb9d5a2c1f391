"""Orphan-proofing: every process of a server tree dies soon after its owner, even a SIGKILLed one.

Two links, both portable to macOS (``PR_SET_PDEATHSIG`` is only an extra on Linux):

- owner → master: the owner keeps the write end of a pipe and the master watches the read end
  (``start_owner_watch``). The kernel closes the write end whenever the owner dies, however it dies, so
  EOF means "owner gone": the master SIGKILLs its whole process group (itself, workers, multiprocessing's
  resource tracker) at once. A reparenting check (``getppid`` changed) backs the pipe up in case the
  write end leaked into another process.
- master → worker: each worker polls ``getppid`` against the master's pid (``start_parent_watch``). The
  master publishes its pid in ``PARENT_ENV`` before it starts workers, so a worker that starts after its
  master already died notices too (its ``getppid`` is then 1 or a subreaper, never the master).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import sys
import threading
import time

# Set by the master before it starts workers; workers compare their getppid() against it.
PARENT_ENV = "ASGISCOPE_PARENT_PID"

_PARENT_WATCH = "asgiscope-parent-watch"
_OWNER_WATCH = "asgiscope-owner-watch"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
EXIT_ORPHANED = 70


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Linux only: have the kernel send ``sig`` when the parent thread dies. False where unsupported.

    Only for processes whose parent forked them from its main thread (uvicorn's supervisor and gunicorn's
    arbiter both do): the signal fires when the *thread* that forked exits, not the process.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _kill_descendants() -> None:
    """Best effort: SIGKILL whatever this process started (a worker normally starts nothing)."""
    try:
        import psutil

        children = psutil.Process().children(recursive=True)
    except Exception:  # we are about to exit: nothing here may stop that
        return
    for child in children:
        with contextlib.suppress(Exception):
            child.kill()


def die(*, whole_group: bool) -> None:
    """Exit now without cleanup handlers (they could hang on a dead peer), taking our processes along.

    ``whole_group`` only acts when this process leads its group (the master, started in a new session):
    killing a group we do not lead could hit the user's shell job.
    """
    if whole_group and os.getpgrp() == os.getpid():
        with contextlib.suppress(OSError):
            os.killpg(os.getpid(), signal.SIGKILL)  # includes us: normally never returns
    _kill_descendants()
    os._exit(EXIT_ORPHANED)


def _expected_parent() -> int:
    published = os.environ.get(PARENT_ENV, "")
    return int(published) if published.isdigit() else os.getppid()


def _watch_parent(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    die(whole_group=False)


def start_parent_watch(interval: float = 0.25, *, death_signal: bool = True) -> threading.Thread | None:
    """In a worker: exit within ~``interval`` s once the parent (the master) is gone.

    Idempotent per process (returns None when a watch already runs). A daemon thread, so it never keeps
    a worker alive on its own. ``death_signal`` adds ``PR_SET_PDEATHSIG`` on Linux (instant, but only an
    extra: the polling is what works everywhere).
    """
    if any(t.name == _PARENT_WATCH for t in threading.enumerate()):
        return None
    parent = _expected_parent()
    if death_signal:
        set_parent_death_signal(signal.SIGKILL)
    thread = threading.Thread(target=_watch_parent, args=(parent, interval), name=_PARENT_WATCH, daemon=True)
    thread.start()
    return thread


def _owner_gone(fd: int, parent: int, interval: float) -> None:
    while True:
        readable, _, _ = select.select([fd], [], [], interval)
        if readable:
            try:
                data = os.read(fd, 64)
            except OSError:
                data = b""
            if not data:
                return  # EOF: every copy of the write end is closed, the owner is gone
        elif os.getppid() != parent:
            return


def _watch_owner(fd: int, parent: int, interval: float) -> None:
    _owner_gone(fd, parent, interval)
    die(whole_group=True)


def publish_as_parent() -> None:
    """In the master, before any worker starts: tell workers (through the environment) who their parent is."""
    os.environ[PARENT_ENV] = str(os.getpid())


def start_owner_watch(fd: int, interval: float = 0.5) -> threading.Thread:
    """In the master: kill the whole process group once the owner's pipe reaches EOF or we get reparented."""
    thread = threading.Thread(
        target=_watch_owner, args=(fd, os.getppid(), interval), name=_OWNER_WATCH, daemon=True
    )
    thread.start()
    return thread
