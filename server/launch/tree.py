"""ServerTree: one scenario running as a real process tree on 127.0.0.1 (the async facade).

The owner (this object's process) binds the listening socket, starts the master in a new session (so
the whole tree is one process group), keeps the write end of the parent-death pipe, drains the master's
stderr and event pipes, and asks the OS (psutil) which workers exist right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Final

from asgiscope.server.demo.config import WorkerConfig
from asgiscope.server.launch import proctree
from asgiscope.server.launch.events import WorkerEvent
from asgiscope.server.launch.model import LaunchError, TelemetryTarget, TreeInfo, WorkerExit
from asgiscope.server.launch.pipes import PipeReader
from asgiscope.server.launch.ports import bind_listener, reserve_port
from asgiscope.server.launch.ready import poll_until, wait_ready
from asgiscope.server.launch.spec import NO_FD, MasterSpec
from asgiscope.server.priority import SAME, Priority
from asgiscope.server.scenario import Scenario, ServerKind
from asgiscope.server.supervision import GUNICORN_TIMEOUT_S

# The launcher's public names, importable from here or from server.launch.
__all__ = ["LaunchError", "ServerTree", "TelemetryTarget", "TreeInfo", "WorkerEvent", "WorkerExit"]

HOST: Final = "127.0.0.1"
MASTER_MODULES: Final[dict[ServerKind, str]] = {
    "uvicorn": "asgiscope.server.launch.uvicorn_master",
    "gunicorn": "asgiscope.server.launch.gunicorn_master",
}
GRACEFUL_TIMEOUT: Final = 3.0
# Margin over the workers' graceful shutdown before the group gets SIGKILL.
STOP_MARGIN: Final = 2.5
SCALE_STEP_TIMEOUT: Final = 20.0
# The directory holding the `server` package: masters must import it whatever the owner's cwd.


class ServerTree:
    def __init__(
        self,
        scenario: Scenario,
        *,
        port: int = 0,
        telemetry: TelemetryTarget | None = None,
        ready_timeout: float = 30.0,
        on_output: Callable[[bytes], None] | None = None,
        gunicorn_timeout_s: int = GUNICORN_TIMEOUT_S,
        priority: Priority = SAME,
    ) -> None:
        """``on_output`` gets each line the server writes (stdout and stderr), on a reader thread.
        ``gunicorn_timeout_s`` is gunicorn's own default; only tests make it shorter. ``priority``: how
        much nicer than this process the master and its workers run (``server.priority``)."""
        self.scenario = scenario
        self.priority = priority
        self.gunicorn_timeout_s = gunicorn_timeout_s
        self.port = port
        self._telemetry = telemetry
        self._ready_timeout = ready_timeout
        self._on_output = on_output
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_w: int | None = None
        self._stderr: PipeReader | None = None
        self._events_reader: PipeReader | None = None
        self._lock = threading.Lock()  # events arrive on a reader thread
        self._events: list[WorkerEvent] = []
        self._unpolled: list[WorkerEvent] = []
        self._seen: set[int] = set()  # every pid of the tree ever observed, to prove they are all gone
        self._stopped = False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def master_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def master_exit_code(self) -> int | None:
        """The master's exit status (-signal if killed) once stop() has reaped it, else None.

        Never reaps here: until stop() has killed the group, the master's pid must keep naming it."""
        return self._proc.returncode if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and not self._stopped and not proctree.has_exited(self._proc.pid)

    # -- start -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._proc is not None:
            raise LaunchError("this tree was already started; make a new ServerTree to restart")
        listener = self._listen()
        try:
            self._spawn(listener)
        finally:
            if listener is not None:
                listener.close()  # the master has its own copy; ours would keep a dead port "open"
        assert self._proc is not None
        try:
            reason = await wait_ready(
                host=HOST,
                port=self.port,
                expected_workers=self.scenario.workers,
                master_exited=lambda: proctree.has_exited(self._master()),
                worker_count=lambda: len(self._workers()),
                within=self._ready_timeout,
            )
            if reason is None and proctree.has_exited(self._proc.pid):
                # Died while the last probe was in flight: an orphaned worker may still have answered it.
                reason = "the server exited during startup"
        except BaseException:
            # Cancelled while waiting (the app closing during a restart): nobody else holds this
            # tree yet, so it must not outlive the wait.
            self._abort()
            await asyncio.shield(asyncio.to_thread(self._finish, self._proc))
            raise
        if reason is not None:
            code = self._proc.poll()
            if code is None and proctree.has_exited(self._proc.pid):
                # Seen as a zombie a moment before waitpid() can reap it: give it that moment.
                proc = self._proc
                await poll_until(lambda: proc.poll() is not None, 1.0)
                code = proc.poll()
            await self.stop()
            detail = f"; master exit code {code}" if code is not None else ""
            raise LaunchError(
                f"{self.scenario.server} server on {self.url} failed to start: {reason}{detail}\n"
                f"--- server stderr (tail) ---\n{self.stderr_tail()}"
            )

    def _listen(self) -> socket.socket | None:
        if self.scenario.socket == "reuse_port":
            self.port = reserve_port(HOST, self.port)  # each worker binds its own SO_REUSEPORT socket
            return None
        listener = bind_listener(HOST, self.port)
        self.port = int(listener.getsockname()[1])
        return listener

    def _environment(self) -> dict[str, str]:
        target = self._telemetry
        config = WorkerConfig(
            tokens=self.scenario.tokens,
            telemetry_host=target.host if target else "127.0.0.1",
            telemetry_port=target.port if target else 0,
            token_hex=target.token_hex if target else "",
            watch_parent=True,
        )
        env = dict(os.environ)
        env.update(config.to_env())
        env["PYTHONUNBUFFERED"] = "1"  # the stderr tail must be there when a master dies
        return env

    def _spawn(self, listener: socket.socket | None) -> None:
        owner_r, owner_w = os.pipe()
        events_r, events_w = os.pipe()
        listen_fd = listener.fileno() if listener is not None else NO_FD
        spec = MasterSpec(
            scenario=self.scenario,
            host=HOST,
            port=self.port,
            listen_fd=listen_fd,
            owner_fd=owner_r,
            events_fd=events_w,
            graceful_timeout=GRACEFUL_TIMEOUT,
            gunicorn_timeout=self.gunicorn_timeout_s,
            nice=self.priority.nice,
            session_nice=self.priority.session_nice(),
        )
        argv = [sys.executable, "-m", MASTER_MODULES[self.scenario.server], spec.to_json()]
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=tuple(fd for fd in (listen_fd, owner_r, events_w) if fd != NO_FD),
                start_new_session=True,  # one process group: stop() and the lifeline kill it whole
                env=self._environment(),
            )
        except OSError as exc:
            os.close(owner_w)
            os.close(events_r)
            raise LaunchError(f"cannot start the {self.scenario.server} master: {exc}") from exc
        finally:
            os.close(owner_r)
            os.close(events_w)
        # Never inherited (os.pipe is close-on-exec): only our death closes it.
        self._owner_w = owner_w
        self._seen.add(self._proc.pid)
        assert self._proc.stdout is not None
        self._stderr = PipeReader(
            os.dup(self._proc.stdout.fileno()), "asgiscope-server-output", self._on_output
        )
        self._proc.stdout.close()
        self._events_reader = PipeReader(events_r, "asgiscope-server-events", self._on_event_line)

    def _on_event_line(self, line: bytes) -> None:
        event = WorkerEvent.from_line(line)
        if event is not None:
            with self._lock:
                self._events.append(event)
                self._unpolled.append(event)

    # -- observe ---------------------------------------------------------------------------------------

    def _master(self) -> int:
        if self._proc is None:
            raise LaunchError("the server tree is not started")
        return self._proc.pid

    def _workers(self) -> tuple[int, ...]:
        if self._proc is None or self._stopped:
            return ()
        pids = proctree.worker_pids(self._proc.pid)
        self._seen.update(pids)
        return pids

    def info(self) -> TreeInfo:
        """Cheap (one psutil scan); master_pid is 0 before start()."""
        if self._proc is None:
            return TreeInfo(0, (), (), 0)
        workers = self._workers()
        with self._lock:
            events = list(self._events)
        exits = tuple(WorkerExit(e.pid, e.code, e.t) for e in events if e.kind == "exit")
        restarts = sum(1 for e in events if e.kind == "start" and e.reason == "replace")
        return TreeInfo(self._proc.pid, workers, exits, restarts)

    def poll(self) -> list[WorkerEvent]:
        """Worker starts and exits reported by the master since the last poll."""
        with self._lock:
            events, self._unpolled = self._unpolled, []
        return events

    def stderr_tail(self) -> str:
        return self._stderr.tail() if self._stderr is not None else ""

    # -- scale -----------------------------------------------------------------------------------------

    async def scale(self, workers: int) -> None:
        """Change the worker count live, one SIGTTIN/SIGTTOU at a time, confirming each step.

        One step per signal because two quick TTOUs can merge into one at uvicorn's supervisor.
        """
        target = self.scenario.with_changes(workers=workers)  # NotAllowedError before any signal
        while self.scenario.workers != target.workers:
            if not self.alive:
                raise LaunchError(f"cannot scale: the server on {self.url} is not running")
            step = 1 if target.workers > self.scenario.workers else -1
            expected = self.scenario.workers + step
            os.kill(self._master(), signal.SIGTTIN if step > 0 else signal.SIGTTOU)
            if not await self._confirm_workers(expected):
                raise LaunchError(
                    f"scaling to {expected} workers was not confirmed within {SCALE_STEP_TIMEOUT:g} s "
                    f"({len(self._workers())} running)\n--- server stderr (tail) ---\n{self.stderr_tail()}"
                )
            self.scenario = self.scenario.with_changes(workers=expected)

    async def _confirm_workers(self, expected: int) -> bool:
        def settled() -> bool:
            return len(self._workers()) == expected or not self.alive

        return await poll_until(settled, SCALE_STEP_TIMEOUT) and self.alive

    # -- stop ------------------------------------------------------------------------------------------

    async def stop(self) -> None:
        """SIGTERM the master (graceful), then SIGKILL the process group; idempotent."""
        if self._proc is None or self._stopped:
            return
        proc = self._proc
        self._seen |= proctree.tree_pids(proc.pid)
        self._stopped = True
        try:
            if not proctree.has_exited(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                await poll_until(lambda: proctree.has_exited(proc.pid), GRACEFUL_TIMEOUT + STOP_MARGIN)
        finally:
            # Even when cancelled mid-way (the app closing during a restart): the group dies and the
            # pipes close. The master is exited or killed but not reaped yet, so its pid still names
            # the group: no pid reuse risk.
            proctree.kill_group(proc.pid)
            await asyncio.shield(asyncio.to_thread(self._finish, proc))

    def _abort(self) -> None:
        """SIGKILL the whole tree now (no graceful stop); the caller still runs ``_finish``."""
        assert self._proc is not None
        self._seen |= proctree.tree_pids(self._proc.pid)
        self._stopped = True
        proctree.kill_group(self._proc.pid)

    def _finish(self, proc: subprocess.Popen[bytes]) -> None:
        proc.wait()
        # Pids already reaped (the master just now, workers the master reported exited) may belong
        # to someone else by now: only the others are waited for and killed.
        with self._lock:
            reaped = {e.pid for e in self._events if e.kind == "exit"} | {proc.pid}
        left = proctree.wait_gone(self._seen - reaped, 3.0)
        proctree.kill_each(left)  # only if one left the group (setsid): never seen so far
        if self._owner_w is not None:
            os.close(self._owner_w)
            self._owner_w = None
        for reader in (self._stderr, self._events_reader):
            if reader is not None:
                reader.join(1.0)

    def tree_pids_seen(self) -> frozenset[int]:
        """Every pid of this tree observed so far (master, workers, helpers)."""
        return frozenset(self._seen)
