"""Process trees: a scenario as a real uvicorn or gunicorn server on 127.0.0.1, scaled live, orphan-proof."""

from asgiscope.server.launch.events import WorkerEvent
from asgiscope.server.launch.model import LaunchError, TelemetryTarget, TreeInfo, WorkerExit
from asgiscope.server.launch.tree import ServerTree

__all__ = ["LaunchError", "ServerTree", "TelemetryTarget", "TreeInfo", "WorkerEvent", "WorkerExit"]
