"""The server scenario: one frozen, validated description of a server tree.

A Scenario crosses process boundaries (GUI → launcher → master → workers), so it is a frozen dataclass
of plain values with a JSON round-trip, and every field is checked on construction: an invalid value
raises ``NotAllowedError`` naming the field, the value and what is allowed, before anything starts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from asgiscope.server.limits import TOKENS, WORKERS, NotAllowedError, check_choice

ServerKind = Literal["uvicorn", "gunicorn"]
LoopKind = Literal["asyncio", "uvloop"]
HttpKind = Literal["h11", "httptools"]
SocketKind = Literal["shared", "reuse_port"]
FrameworkKind = Literal["fastapi", "flask", "django"]
# gunicorn's worker class: ``uvicorn`` runs the ASGI app on uvicorn's worker (an event loop per
# process); ``sync`` and ``gthread`` are gunicorn's own WSGI workers (one request at a time per
# process; a pool of ``tokens`` threads per process). The uvicorn server has only its own workers.
WorkerClass = Literal["uvicorn", "sync", "gthread"]

# Fields whose change needs a fresh process tree; `workers` alone is changed live (TTIN/TTOU).
RESTART_FIELDS: tuple[str, ...] = ("framework", "server", "worker_class", "loop", "http", "tokens", "socket")


@dataclass(frozen=True, slots=True)
class Scenario:
    server: ServerKind = "uvicorn"
    workers: int = 2
    loop: LoopKind = "asyncio"
    http: HttpKind = "h11"
    tokens: int = 40
    socket: SocketKind = "shared"
    framework: FrameworkKind = "fastapi"
    worker_class: WorkerClass = "uvicorn"

    def __post_init__(self) -> None:
        check_choice("server", self.server, ServerKind)
        WORKERS.check("workers", self.workers)
        check_choice("loop", self.loop, LoopKind)
        check_choice("http", self.http, HttpKind)
        TOKENS.check("tokens", self.tokens)
        check_choice("socket", self.socket, SocketKind)
        if self.socket == "reuse_port" and self.server != "gunicorn":
            raise NotAllowedError(
                "socket", self.socket, "'shared' with server 'uvicorn' (reuse_port needs gunicorn)"
            )
        check_choice("framework", self.framework, FrameworkKind)
        check_choice("worker_class", self.worker_class, WorkerClass)
        why = pair_refusal(self.framework, self.server, self.worker_class)
        if why is not None:
            raise NotAllowedError(why[0], getattr(self, why[0]), why[1])

    @property
    def wsgi(self) -> bool:
        """Whether the app runs under WSGI (gunicorn's own workers) rather than ASGI."""
        return self.worker_class != "uvicorn"

    def with_changes(self, **changes: Any) -> Scenario:
        """A validated copy with some fields changed."""
        return replace(self, **changes)

    def needs_restart(self, other: Scenario) -> bool:
        """Whether going from self to other needs a new process tree (not just scaling)."""
        return any(getattr(self, f) != getattr(other, f) for f in RESTART_FIELDS)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise NotAllowedError(
                unknown[0], data[unknown[0]], "absent (known fields: " + ", ".join(sorted(known)) + ")"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise NotAllowedError("scenario", data, "a JSON object")
        return cls.from_dict(data)


def pair_refusal(framework: str, server: str, worker_class: str) -> tuple[str, str] | None:
    """Why a framework cannot run on a server and worker class, as (field, what is allowed), or None.

    FastAPI is ASGI only (uvicorn, or gunicorn with uvicorn workers); Flask is WSGI only (gunicorn's
    sync or gthread workers); Django speaks both. gunicorn's WSGI worker classes exist only in gunicorn.
    The one rule for the CLI, the Lab and the panel (which greys refused choices out with this text)."""
    if server == "uvicorn" and worker_class != "uvicorn":
        return "worker_class", "'uvicorn' with server 'uvicorn' (sync and gthread are gunicorn's workers)"
    if framework == "fastapi" and worker_class != "uvicorn":
        return (
            "worker_class",
            "'uvicorn' with framework 'fastapi' (FastAPI is ASGI: it needs uvicorn workers)",
        )
    if framework == "flask" and worker_class == "uvicorn":
        why = "'sync' or 'gthread' with server 'gunicorn' for framework 'flask' (Flask is WSGI)"
        return (
            ("server", "'gunicorn' for framework 'flask' (Flask is WSGI)")
            if server == "uvicorn"
            else (
                "worker_class",
                why,
            )
        )
    return None


# The demo's routes that are plain ``def`` handlers in every framework; the others are ``async def``,
# which a WSGI worker cannot run (WSGI has no event loop to await on).
WSGI_ENDPOINTS: tuple[str, ...] = ("hello", "io/sync", "cpu/sync")


def endpoint_refusal(scenario: Scenario, endpoint: str) -> str | None:
    """What is allowed instead, when ``endpoint`` cannot run on ``scenario`` (None: it can)."""
    if scenario.wsgi and endpoint not in WSGI_ENDPOINTS:
        allowed = ", ".join(repr(e) for e in WSGI_ENDPOINTS)
        return f"one of {allowed} under WSGI ({scenario.worker_class} workers run only def handlers)"
    return None


def check_endpoint(scenario: Scenario, endpoint: str) -> None:
    """Raise NotAllowedError naming ``endpoint`` when the scenario's workers cannot run it."""
    why = endpoint_refusal(scenario, endpoint)
    if why is not None:
        raise NotAllowedError("endpoint", endpoint, why)
