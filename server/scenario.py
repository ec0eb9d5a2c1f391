"""The server scenario: one frozen, validated description of a server tree.

A Scenario crosses process boundaries (GUI → launcher → master → workers), so it is a frozen dataclass
of plain values with a JSON round-trip, and every field is checked on construction: an invalid value
raises ``ScenarioError`` naming the field, the value and what is allowed, before anything starts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, get_args

ServerKind = Literal["uvicorn", "gunicorn"]
LoopKind = Literal["asyncio", "uvloop"]
HttpKind = Literal["h11", "httptools"]
SocketKind = Literal["shared", "reuse_port"]

MAX_WORKERS = 32
MAX_TOKENS = 1000

# Fields whose change needs a fresh process tree; `workers` alone is changed live (TTIN/TTOU).
RESTART_FIELDS: tuple[str, ...] = ("server", "loop", "http", "tokens", "socket")


class ScenarioError(ValueError):
    """A scenario field has a value outside what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}={value!r} is not allowed: {field} must be {allowed}")


def _check_choice(field: str, value: object, kind: Any) -> None:
    choices = get_args(kind)
    if value not in choices:
        raise ScenarioError(field, value, "one of " + ", ".join(repr(c) for c in choices))


def _check_int(field: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ScenarioError(field, value, f"a whole number from {lo} to {hi}")


@dataclass(frozen=True, slots=True)
class Scenario:
    server: ServerKind = "uvicorn"
    workers: int = 2
    loop: LoopKind = "asyncio"
    http: HttpKind = "h11"
    tokens: int = 40
    socket: SocketKind = "shared"

    def __post_init__(self) -> None:
        _check_choice("server", self.server, ServerKind)
        _check_int("workers", self.workers, 1, MAX_WORKERS)
        _check_choice("loop", self.loop, LoopKind)
        _check_choice("http", self.http, HttpKind)
        _check_int("tokens", self.tokens, 1, MAX_TOKENS)
        _check_choice("socket", self.socket, SocketKind)
        if self.socket == "reuse_port" and self.server != "gunicorn":
            raise ScenarioError(
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
            raise ScenarioError(
                unknown[0], data[unknown[0]], "absent (known fields: " + ", ".join(sorted(known)) + ")"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ScenarioError("scenario", data, "a JSON object")
        return cls.from_dict(data)
