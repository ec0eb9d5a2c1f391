"""What the launcher tells its user about a server tree: plain frozen values, safe to hand to any thread."""

from __future__ import annotations

from dataclasses import dataclass


class LaunchError(RuntimeError):
    """A server tree could not start (or scale); the message has the reason and the server's stderr tail."""


@dataclass(frozen=True, slots=True)
class WorkerExit:
    pid: int
    code: int | None  # exit status, or -signal when killed by a signal; None when the master could not tell
    t: float  # time.monotonic() when the master noticed (system-wide clock on Linux and macOS)


@dataclass(frozen=True, slots=True)
class TreeInfo:
    master_pid: int
    worker_pids: tuple[int, ...]
    exits: tuple[WorkerExit, ...]
    restarts: int  # workers the master started to replace dead ones (not scaling, not the first boot)


@dataclass(frozen=True, slots=True)
class TelemetryTarget:
    host: str
    port: int
    token_hex: str
