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

# Fields whose change needs a fresh process tree; `workers` alone is changed live (TTIN/TTOU).
RESTART_FIELDS: tuple[str, ...] = ("server", "loop", "http", "tokens", "socket")


@dataclass(frozen=True, slots=True)
class Scenario:
    server: ServerKind = "uvicorn"
    workers: int = 2
    loop: LoopKind = "asyncio"
    http: HttpKind = "h11"
    tokens: int = 40
    socket: SocketKind = "shared"

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
