"""A request sent on demand ("send one request"), end to end as its worker recorded it."""

from __future__ import annotations

from dataclasses import dataclass

from asgiscope.server.scenario import WorkerClass


@dataclass(frozen=True, slots=True)
class Traced:
    """One request end to end, as its worker recorded it (monotonic ns)."""

    pid: int
    status: int
    sent_ns: int
    start_ns: int
    token_ns: int  # when it began in a thread, 0 = it ran on the loop
    end_ns: int
    received_ns: int
    worker_class: WorkerClass = "uvicorn"

    @property
    def slack_ms(self) -> float:
        """Time on the way in and out (client, kernel, accept queue): not in the record."""
        return (self.start_ns - self.sent_ns + self.received_ns - self.end_ns) / 1e6

    def describe(self) -> str:
        ms = 1e6
        parts = [f"worker {self.pid}", f"to the worker {(self.start_ns - self.sent_ns) / ms:.1f} ms"]
        if self.worker_class != "uvicorn":  # WSGI: in its thread from the start, no token to wait for
            where = "in the worker" if self.worker_class == "sync" else "in a thread"
            parts.append(f"{where} {(self.end_ns - self.start_ns) / ms:.1f} ms")
        elif self.token_ns:
            parts += [
                f"waited for a token {(self.token_ns - self.start_ns) / ms:.1f} ms",
                f"in a thread {(self.end_ns - self.token_ns) / ms:.1f} ms",
            ]
        else:
            parts.append(f"on the loop {(self.end_ns - self.start_ns) / ms:.1f} ms")
        parts += [
            f"back {(self.received_ns - self.end_ns) / ms:.1f} ms",
            f"total {(self.received_ns - self.sent_ns) / ms:.1f} ms",
        ]
        return " · ".join(parts)
