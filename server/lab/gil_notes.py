"""The GIL made visible: what the workers' thread CPU says about CPU-bound handlers, in words."""

from __future__ import annotations

from asgiscope.server.lab.snapshot import WorkerStats
from asgiscope.server.load.spec import Endpoint
from asgiscope.server.theory import plural

# Threads that always want the GIL and get less of a core together than this shared it with others.
WHOLE_CORE = 0.8


def gil_notes(endpoint: Endpoint, workers: tuple[WorkerStats, ...], cores: int) -> list[str]:
    """For CPU-bound handlers: how many threads work in a worker and the share of a core they get
    together; across workers, how many cores the processes get together. Nothing before the workers'
    thread CPU has arrived."""
    alive = [w for w in workers if w.alive and w.threads]
    if not endpoint.startswith("cpu/") or not alive:
        return []
    lines: list[str] = []
    crowded = [w for w in alive if w.busy_threads >= 2]
    if len(crowded) == 1:
        w = crowded[0]
        where = "" if len(alive) == 1 else f" in worker {w.pid}"
        got = w.threads_cpu_percent / 100
        shared = " (the machine's other processes took the rest of that core)" if got < WHOLE_CORE else ""
        lines.append(
            f"{w.busy_threads} threads are working{where}; together they get "
            f"{got:.2f} of a core: the GIL lets one run at a time{shared}."
        )
    elif crowded:
        busy = sorted(w.busy_threads for w in crowded)
        most = max(w.threads_cpu_percent for w in crowded) / 100
        span = f"{busy[0]}" if busy[0] == busy[-1] else f"{busy[0]}-{busy[-1]}"
        lines.append(
            f"In each of {len(crowded)} workers {span} threads are working; together they get at most "
            f"{most:.2f} of a core per worker: each worker's GIL lets one of its threads run at a time."
        )
    if len(alive) >= 2:
        total = sum(w.threads_cpu_percent for w in alive) / 100
        n = len(alive)
        more = f"; {n} workers on {cores} cores take turns" if cores and n > cores else ""
        lines.append(
            f"{n} workers, {cores} core{plural(cores)}: together {total:.1f} cores: each process has a "
            f"GIL of its own{more}."
        )
    return lines


def flow_gil_note(threads: int, share: float) -> str:
    """The flow panel's words beside one worker whose ``threads`` in busy slots want the CPU and whose
    threads got ``share`` of a core together; "" when fewer than two do (nothing to take turns over)."""
    if threads < 2 or share < 0:
        return ""
    return f"{threads} threads, {share:.2f} core together: one runs at a time (GIL)"
