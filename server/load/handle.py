"""The owner's handle on one load generator process (used by the Lab, on any asyncio loop).

The child is ``python -m asgiscope.server.load.main``; we write LoadSpec lines to its stdin and a
reader task collects the LoadReport lines from its stdout. Closing stdin stops it, and because the pipe
closes when this process dies too, the child can never outlive its owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections import deque

from asgiscope.server.load.spec import LoadReport, LoadSpec

STOP_GRACE_S = 2.0
STDERR_TAIL_LINES = 40


class LoadProcessError(RuntimeError):
    """The load process could not start, or died; the message carries its stderr tail."""


class LoadProcess:
    def __init__(self, url: str, spec: LoadSpec, *, start_timeout_s: float = 15.0) -> None:
        self.url = url
        self.spec = spec
        self._start_timeout_s = start_timeout_s
        self._proc: asyncio.subprocess.Process | None = None
        self._reports: list[LoadReport] = []
        self._first_report = asyncio.Event()
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._readers: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def exit_code(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    @property
    def stderr_tail(self) -> str:
        return "".join(self._stderr)

    async def start(self) -> None:
        """Spawn the child and return once its first report has arrived (its loop and engine are up)."""
        if self._proc is not None:
            raise LoadProcessError("already started")
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "asgiscope.server.load.main",
            "--url",
            self.url,
            "--spec",
            self.spec.to_json(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            limit=1 << 20,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._read_reports(self._proc.stdout)),
            asyncio.create_task(self._read_stderr(self._proc.stderr)),
        ]
        first = asyncio.create_task(self._first_report.wait())
        exited = asyncio.create_task(self._proc.wait())
        try:
            await asyncio.wait({first, exited}, timeout=self._start_timeout_s, return_when="FIRST_COMPLETED")
        finally:
            first.cancel()
            exited.cancel()
        if not self._first_report.is_set():
            await self.stop()
            await asyncio.sleep(0)  # let the stderr reader catch the last lines
            raise LoadProcessError(
                f"load process did not report (exit code {self.exit_code}): {self.stderr_tail.strip()}"
            )

    async def update(self, spec: LoadSpec) -> None:
        """Apply ``spec`` live (endpoint, users, rate, mode, engine, running)."""
        proc = self._proc
        if proc is None or proc.stdin is None or not self.alive:
            raise LoadProcessError(f"load process is not running: {self.stderr_tail.strip()}")
        try:
            proc.stdin.write((spec.to_json() + "\n").encode())
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise LoadProcessError(f"load process is gone: {self.stderr_tail.strip()}") from exc
        self.spec = spec

    def drain(self) -> list[LoadReport]:
        """Reports received since the last call, oldest first."""
        reports, self._reports = self._reports, []
        return reports

    async def stop(self) -> None:
        """Close stdin (the child exits at once), wait up to 2 s, then kill. Safe to call twice."""
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        if proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        # The pipes are at EOF now; let the readers finish what is buffered.
        if self._readers:
            await asyncio.wait(self._readers, timeout=1.0)
        for task in self._readers:
            task.cancel()

    async def _read_reports(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            try:
                report = LoadReport.from_json(line.decode())
            except (ValueError, TypeError):
                # Not a report (a stray print from a library): keep it visible with the stderr tail.
                self._stderr.append("stdout: " + line.decode(errors="replace"))
                continue
            self._reports.append(report)
            self._first_report.set()

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self._stderr.append(line.decode(errors="replace"))
