"""The processes of one Lab session: the telemetry collector, the server tree and the load generator
(a group of load processes sharing the load, one or more).

Mechanics only (start, stop, restart, hand the load its spec); deciding when is the Lab's and the
watchdog's business, under the Lab's one lock. Every process started here runs at the session's
``Priority`` (``server.priority``): the server tree takes it from its master, each load process as it
starts, a replacement as well.
"""

from __future__ import annotations

from collections.abc import Sequence

from asgiscope.server.lab.collector import Collector
from asgiscope.server.launch.tree import ServerTree, TelemetryTarget
from asgiscope.server.load.group import LoadGroup
from asgiscope.server.load.handle import LoadProcess
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.priority import SAME, Priority, lower_child
from asgiscope.server.scenario import Scenario
from asgiscope.server.supervision import GUNICORN_TIMEOUT_S


class PrioritisedGroup(LoadGroup):
    """A load group whose members run at ``priority``, replacements included (the watchdog replaces
    dead members through ``respawn_dead``). Set right after each starts: a load process starts no
    children, so nothing inherits the niceness it had for those few milliseconds."""

    def __init__(self, url: str, spec: LoadSpec, processes: int, priority: Priority) -> None:
        super().__init__(url, spec, processes)
        self.priority = priority

    async def start(self) -> None:
        await super().start()
        self._lower(self.members)

    async def respawn_dead(self) -> list[tuple[int, LoadProcess]]:
        fresh = await super().respawn_dead()
        self._lower([member for _, member in fresh])
        return fresh

    def _lower(self, members: Sequence[LoadProcess]) -> None:
        for member in members:
            if member.pid is not None:
                lower_child(member.pid, self.priority)


class Rig:
    def __init__(
        self,
        token: bytes,
        port: int = 0,
        *,
        gunicorn_timeout_s: int = GUNICORN_TIMEOUT_S,
        priority: Priority = SAME,
    ) -> None:
        self._token = token
        self.priority = priority
        self._port = port
        self._gunicorn_timeout_s = gunicorn_timeout_s
        self.collector: Collector | None = None
        self.tree: ServerTree | None = None
        self.load_proc: LoadGroup | None = None

    @property
    def url(self) -> str:
        return self.tree.url if self.tree is not None else ""

    @property
    def master_pid(self) -> int:
        return (self.tree.master_pid or 0) if self.tree is not None else 0

    def start_collector(self) -> None:
        self.collector = Collector(self._token).start()

    async def start_tree(self, scenario: Scenario) -> None:
        """Raises LaunchError (after cleaning up) when the tree cannot start."""
        assert self.collector is not None
        host, port = self.collector.address
        tree = ServerTree(
            scenario,
            port=self._port,
            telemetry=TelemetryTarget(host=host, port=port, token_hex=self._token.hex()),
            gunicorn_timeout_s=self._gunicorn_timeout_s,
            priority=self.priority,
        )
        await tree.start()
        self.tree = tree
        self._port = tree.port  # restarts reuse the port so the load keeps its URL

    async def stop_tree(self) -> None:
        if self.tree is not None:
            await self.tree.stop()
            self.tree = None

    async def restart_tree(self, scenario: Scenario, load: LoadSpec) -> None:
        """The load pauses while no server is up, so it does not count connection errors meanwhile."""
        await self.pause_load(load)
        await self.stop_tree()
        await self.start_tree(scenario)
        await self.resume_load(load)

    async def ensure_load(self, load: LoadSpec, processes: int) -> None:
        """Hand ``load`` to ``processes`` load processes: a group of another size is replaced, dead
        members are started anew."""
        group = self.load_proc
        if group is not None and group.size != processes:
            await group.stop()
            group = self.load_proc = None
        if group is not None:
            group.spec = load
            if not group.alive:
                await group.respawn_dead()
            await group.update(load)
            return
        group = PrioritisedGroup(self.url, load, processes, self.priority)
        await group.start()
        self.load_proc = group

    async def send_load(self, load: LoadSpec, processes: int) -> None:
        """A live change; one that needs another number of processes regroups them while load is on
        (while it is off the next start does)."""
        group = self.load_proc
        if group is None:
            return
        if group.size == processes:
            await group.update_alive(load)  # a dead member gets it when the watchdog replaces it
        elif load.running:
            await self.ensure_load(load, processes)
        else:
            await group.stop()
            self.load_proc = None

    async def pause_load(self, load: LoadSpec) -> None:
        if load.running and self.load_proc is not None:
            await self.load_proc.update_alive(load.with_changes(running=False))

    async def resume_load(self, load: LoadSpec) -> None:
        if load.running and self.load_proc is not None:
            await self.load_proc.update_alive(load)

    async def stop(self) -> None:
        if self.load_proc is not None:
            await self.load_proc.stop()
            self.load_proc = None
        if self.tree is not None:
            await self.tree.stop()
        if self.collector is not None:
            self.collector.stop()
