"""Placeholder until the launcher lands."""

from __future__ import annotations


def start_parent_watch() -> None:
    return None
