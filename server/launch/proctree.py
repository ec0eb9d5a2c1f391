"""The process tree as the OS sees it (psutil): which processes are workers, which are alive; killing them."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil

# Started by multiprocessing's spawn in uvicorn's master: a helper, not a worker.
_HELPER_MARKERS = ("resource_tracker", "forkserver")


def _living(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _is_helper(proc: psutil.Process) -> bool:
    try:
        cmdline = " ".join(proc.cmdline())
    except psutil.Error:
        return False
    return any(marker in cmdline for marker in _HELPER_MARKERS)


def worker_pids(master_pid: int) -> tuple[int, ...]:
    """The master's living children that serve requests, oldest first."""
    try:
        children = psutil.Process(master_pid).children()
    except psutil.Error:
        return ()
    workers = [c for c in children if _living(c) and not _is_helper(c)]
    with contextlib.suppress(psutil.Error):
        workers.sort(key=lambda c: (c.create_time(), c.pid))
    return tuple(c.pid for c in workers)


def tree_pids(master_pid: int) -> set[int]:
    """The master and all its descendants (workers and helpers) right now."""
    try:
        master = psutil.Process(master_pid)
        return {master_pid, *(c.pid for c in master.children(recursive=True))}
    except psutil.Error:
        return set()


def has_exited(pid: int) -> bool:
    """Whether pid is gone or a zombie. Never reaps: a zombie master keeps its process group id reserved."""
    try:
        return not _living(psutil.Process(pid))
    except psutil.Error:
        return True


def still_running(pids: set[int]) -> set[int]:
    return {pid for pid in pids if not has_exited(pid)}


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    """Wait until none of pids runs; returns those still running at the deadline."""
    deadline = time.monotonic() + timeout
    left = still_running(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = still_running(left)
    return left


def kill_group(pgid: int) -> None:
    """SIGKILL a whole process group; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_each(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
