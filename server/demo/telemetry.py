"""Placeholder until the telemetry middleware lands: passes the app through unchanged."""

from __future__ import annotations

from typing import Any

from server.demo.config import WorkerConfig


def instrument(app: Any, config: WorkerConfig) -> Any:
    return app
