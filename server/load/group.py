"""K load processes behind the LoadProcess interface, for when one client core is the bottleneck.

Users, rate and the in-flight cap are split evenly; ``drain`` returns every process's reports (merge
their histograms with ``hist.merge_histograms``: counts add up exactly).
"""

from __future__ import annotations

import asyncio
import math

from asgiscope.server.load.handle import LoadProcess
from asgiscope.server.load.spec import LoadReport, LoadSpec


def split_spec(spec: LoadSpec, k: int) -> list[LoadSpec]:
    """``spec`` shared by ``k`` processes. A process left without a user idles (running=False)."""
    base, extra = divmod(spec.users, k)
    parts = []
    for i in range(k):
        users = base + (1 if i < extra else 0)
        parts.append(
            spec.with_changes(
                users=max(users, 1),
                running=spec.running and (spec.mode == "open" or users > 0),
                rate=spec.rate / k,
                max_in_flight=max(1, math.ceil(spec.max_in_flight / k)),
            )
        )
    return parts


class LoadGroup:
    def __init__(self, url: str, spec: LoadSpec, processes: int = 2) -> None:
        if processes < 1:
            raise ValueError(f"processes={processes!r}: need at least 1")
        self.spec = spec
        self._members = [LoadProcess(url, part) for part in split_spec(spec, processes)]

    @property
    def pids(self) -> list[int | None]:
        return [member.pid for member in self._members]

    @property
    def pid(self) -> int | None:
        return self._members[0].pid

    @property
    def alive(self) -> bool:
        return all(member.alive for member in self._members)

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

    def drain(self) -> list[LoadReport]:
        reports = [report for member in self._members for report in member.drain()]
        reports.sort(key=lambda report: report.t)  # one monotonic clock per machine: comparable
        return reports

    async def stop(self) -> None:
        await asyncio.gather(*(member.stop() for member in self._members))
