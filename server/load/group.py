"""K load processes behind the LoadProcess interface, for when one client core is the bottleneck.

Users, rate and the in-flight cap are split exactly (1001 users over 2: 501 + 500); ``drain_each``
returns each process's reports under its pid (merge their histograms with ``hist.merge_histograms``:
counts add up exactly). A member that dies is replaced alone (``respawn_dead``): the others keep going.
"""

from __future__ import annotations

import asyncio

from asgiscope.server.load.handle import LoadProcess
from asgiscope.server.load.spec import LoadReport, LoadSpec


def split_spec(spec: LoadSpec, k: int) -> list[LoadSpec]:
    """``spec`` shared by ``k`` processes. A process left without a user idles (running=False).

    Users and the in-flight cap split as whole numbers that add up to the total (the first ones take
    the remainder); the rate splits evenly."""
    users, caps = _split_int(spec.users, k), _split_int(spec.max_in_flight, k)
    return [
        spec.with_changes(
            users=max(u, 1),
            running=spec.running and (spec.mode == "open" or u > 0),
            rate=spec.rate / k,
            max_in_flight=max(cap, 1),
            load_processes=1,
        )
        for u, cap in zip(users, caps, strict=True)
    ]


def _split_int(total: int, k: int) -> list[int]:
    base, extra = divmod(total, k)
    return [base + (1 if i < extra else 0) for i in range(k)]


class LoadGroup:
    def __init__(self, url: str, spec: LoadSpec, processes: int = 2) -> None:
        if processes < 1:
            raise ValueError(f"processes={processes!r}: need at least 1")
        self.url = url
        self.spec = spec
        self._members = [LoadProcess(url, part) for part in split_spec(spec, processes)]

    @property
    def size(self) -> int:
        return len(self._members)

    @property
    def members(self) -> tuple[LoadProcess, ...]:
        return tuple(self._members)

    @property
    def pids(self) -> list[int | None]:
        return [member.pid for member in self._members]

    @property
    def pid(self) -> int | None:
        return self._members[0].pid

    @property
    def alive(self) -> bool:
        return all(member.alive for member in self._members)

    def dead(self) -> list[int]:
        """Indexes of members that were started and have exited."""
        return [i for i, m in enumerate(self._members) if m.pid is not None and not m.alive]

    def name(self, i: int) -> str:
        """How events name a member: ``load process 2 of 4 (pid 1234)``, or just the pid when alone."""
        pid = self._members[i].pid or 0
        return f"load process {i + 1} of {self.size} (pid {pid})" if self.size > 1 else f"pid {pid}"

    @property
    def exit_code(self) -> int | None:
        """The first non-zero exit code, else 0 once all have exited, else None."""
        codes = [member.exit_code for member in self._members]
        failed = [code for code in codes if code]
        if failed:
            return failed[0]
        return 0 if all(code == 0 for code in codes) else None

    @property
    def stderr_tail(self) -> str:
        return "".join(f"[pid {m.pid}]\n{m.stderr_tail}" for m in self._members if m.stderr_tail)

    async def start(self) -> None:
        try:
            await asyncio.gather(*(member.start() for member in self._members))
        except BaseException:
            await self.stop()
            raise

    async def update(self, spec: LoadSpec) -> None:
        parts = split_spec(spec, len(self._members))
        await asyncio.gather(*(m.update(part) for m, part in zip(self._members, parts, strict=True)))
        self.spec = spec

    async def update_alive(self, spec: LoadSpec) -> None:
        """``update`` for the members still running (turning the load off while one lies dead)."""
        parts = split_spec(spec, len(self._members))
        await asyncio.gather(
            *(m.update(part) for m, part in zip(self._members, parts, strict=True) if m.alive)
        )
        self.spec = spec

    async def respawn_dead(self) -> list[tuple[int, LoadProcess]]:
        """Replace every dead member with a new process on its share of the spec; (index, new) each.
        The dead one's last reports are drained first by the caller (``drain_each``)."""
        parts = split_spec(self.spec, len(self._members))
        out = []
        for i in self.dead():
            await self._members[i].stop()
            fresh = LoadProcess(self.url, parts[i])
            await fresh.start()
            self._members[i] = fresh
            out.append((i, fresh))
        return out

    def drain(self) -> list[LoadReport]:
        reports = [report for member in self._members for report in member.drain()]
        reports.sort(key=lambda report: report.t)  # one monotonic clock per machine: comparable
        return reports

    def drain_each(self) -> list[tuple[int, list[LoadReport]]]:
        """Each member's reports since the last call, under its pid (the Lab keeps per-process CPU)."""
        return [(m.pid or 0, m.drain()) for m in self._members]

    async def stop(self) -> None:
        await asyncio.gather(*(member.stop() for member in self._members))
