"""A guided tour: steps of scenario and load, each with the one sentence it claims, read from a TOML file.

A tour file (``assets/tours/why_fastapi_is_fast.toml`` is the built-in one) looks like::

    title = "Why FastAPI is fast, measured"
    seconds = 12        # how long each step runs headless (a step may say its own)
    warmup = 2          # seconds of load before a step is measured, and after each scripted change

    [[steps]]
    title = "FastAPI async def on uvicorn"
    caption = "One event loop overlaps every wait: 100 users x 100 ms make about 1,000 req/s."
    scenario = { server = "uvicorn", workers = 1 }
    load = { endpoint = "io/async", ms = 100, users = 100 }
    changes = ["6:workers=2"]   # optional, as ``asgiscope run --at``

Every value is checked by the rule the Scenario, the LoadSpec and ``run --at`` use; a refusal is one
``TourFileError`` sentence naming the file, the step, the field, the value and what is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from asgiscope.server.cli_run import at_rules
from asgiscope.server.limits import (
    CAPTION_CHARS,
    DURATION_S,
    TITLE_CHARS,
    TOUR_STEPS,
    WARMUP_S,
    IntRange,
    NotAllowedError,
    NumberRange,
)
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario, endpoint_refusal
from asgiscope.server.scripted import Change, ScriptError, parse_at

BUILTIN = ("asgiscope.assets", "tours/why_fastapi_is_fast.toml")
DEFAULT_SECONDS = 12.0
DEFAULT_WARMUP_S = 2.0
TOUR_KEYS = ("title", "seconds", "warmup", "steps")
STEP_KEYS = ("title", "caption", "scenario", "load", "seconds", "changes")
# ``running`` is the tour's business (a step's load runs), never the file's
LOAD_KEYS = tuple(f.name for f in fields(LoadSpec) if f.name != "running")


class TourFileError(NotAllowedError):
    """A refused tour file: ``FILE: step 2 ('Title'): scenario.workers=48 is not allowed: ...``."""

    def __init__(self, where: str, field: str, value: object, allowed: str) -> None:
        super().__init__(field, value, allowed)
        self.where = where
        self.args = (f"{where}: {self.args[0]}",)


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    caption: str  # the claim, one sentence
    scenario: Scenario
    load: LoadSpec
    seconds: float  # how long it is measured, headless
    changes: tuple[Change, ...] = ()  # scripted changes, seconds into the step

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "caption": self.caption,
            "scenario": self.scenario.to_dict(),
            "load": {k: getattr(self.load, k) for k in LOAD_KEYS},
            "seconds": self.seconds,
            "changes": [f"{c.at_s:g}:{c.label}" for c in self.changes],
        }


@dataclass(frozen=True, slots=True)
class Tour:
    title: str
    steps: tuple[Step, ...]
    source: str  # where it was read from, for messages
    warmup: float = DEFAULT_WARMUP_S

    def with_step_seconds(self, seconds: float) -> Tour:
        """Every step measured for ``seconds``; scripted changes keep their place in the step."""
        DURATION_S.check("step_seconds", seconds)

        def shorter(step: Step) -> Step:
            k = seconds / step.seconds
            return replace(
                step, seconds=seconds, changes=tuple(replace(c, at_s=c.at_s * k) for c in step.changes)
            )

        return replace(self, steps=tuple(shorter(s) for s in self.steps))


def load_tour(path: str | Path) -> Tour:
    """Read and check a tour file; any problem is one TourFileError sentence."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise TourFileError(name, "tour", name, f"a readable UTF-8 TOML file ({reason})") from None
    return parse_tour(text, name)


def load_builtin() -> Tour:
    package, name = BUILTIN
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return parse_tour(text, f"the built-in tour ({name})")


def parse_tour(text: str, source: str) -> Tour:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TourFileError(source, "tour", "the file", f"valid TOML ({exc})") from None
    _known(data, TOUR_KEYS, source, "")
    title = _text(data, "title", TITLE_CHARS, source, "")
    seconds = _number(data, "seconds", DURATION_S, DEFAULT_SECONDS, source, "")
    warmup = _number(data, "warmup", WARMUP_S, DEFAULT_WARMUP_S, source, "")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or len(raw_steps) not in TOUR_STEPS:
        shown = len(raw_steps) if isinstance(raw_steps, list) else raw_steps
        allowed = f"a list of [[steps]] tables, {TOUR_STEPS.lo} to {TOUR_STEPS.hi} of them"
        raise TourFileError(source, "steps", shown, allowed)
    steps = tuple(_step(raw, i, seconds, source) for i, raw in enumerate(raw_steps, 1))
    return Tour(title, steps, source, warmup)


def _step(raw: object, k: int, seconds: float, source: str) -> Step:
    where = f"{source}: step {k}"
    if not isinstance(raw, dict):
        raise TourFileError(source, f"steps[{k}]", raw, "a table")
    title = _text(raw, "title", TITLE_CHARS, where, "")
    where = f"{where} ({title!r})"
    _known(raw, STEP_KEYS, where, "")
    caption = _text(raw, "caption", CAPTION_CHARS, where, "")
    secs = _number(raw, "seconds", DURATION_S, seconds, where, "")
    scenario = _scenario(_table(raw, "scenario", where), where)
    load = _load(_table(raw, "load", where), where)
    _endpoint_fits(scenario, load, where, "load.endpoint")
    texts = raw.get("changes", [])
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise TourFileError(where, "changes", texts, 'a list of "SECONDS:FIELD=VALUE" strings')
    try:
        changes = parse_at(texts, at_rules(), secs, scenario, load)
    except ScriptError as exc:
        allowed = f"SECONDS:FIELD=VALUE with {exc.subject} {exc.allowed}"
        raise TourFileError(where, "changes", exc.text, allowed) from None
    for change in changes:
        _endpoint_fits(
            change.scenario, change.load, where, f"changes {change.at_s:g}:{change.label}: endpoint"
        )
    return Step(title, caption, scenario, load, secs, tuple(changes))


def _scenario(data: dict[str, Any], where: str) -> Scenario:
    try:
        return Scenario.from_dict(data)
    except NotAllowedError as exc:
        raise TourFileError(where, f"scenario.{exc.field}", exc.value, exc.allowed) from None


def _load(data: dict[str, Any], where: str) -> LoadSpec:
    _known(data, LOAD_KEYS, where, "load.")
    if isinstance(data.get("rate"), int) and not isinstance(data.get("rate"), bool):
        data = {**data, "rate": float(data["rate"])}
    try:
        return LoadSpec(**data)
    except NotAllowedError as exc:
        raise TourFileError(where, f"load.{exc.field}", exc.value, exc.allowed) from None


def _endpoint_fits(scenario: Scenario, load: LoadSpec, where: str, field: str) -> None:
    allowed = endpoint_refusal(scenario, load.endpoint)
    if allowed is not None:
        raise TourFileError(where, field, load.endpoint, allowed)


def _known(data: dict[str, Any], keys: tuple[str, ...], where: str, prefix: str) -> None:
    unknown = [k for k in data if k not in keys]
    if unknown:
        raise TourFileError(
            where, prefix + unknown[0], data[unknown[0]], "absent (known: " + ", ".join(keys) + ")"
        )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise TourFileError(where, key, value, "a table of fields, e.g. { workers = 2 }")
    return value


def _text(data: dict[str, Any], key: str, chars: IntRange, where: str, prefix: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or "\n" in value or len(value.strip()) not in chars:
        raise TourFileError(
            where, prefix + key, value, f"one line of text, {chars.lo} to {chars.hi} characters"
        )
    return value.strip()


def _number(
    data: dict[str, Any], key: str, rule: NumberRange, default: float, where: str, prefix: str
) -> float:
    value = data.get(key, default)
    if value not in rule:
        raise TourFileError(where, prefix + key, value, rule.allowed)
    return float(value)
