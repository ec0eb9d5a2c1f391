"""Every limit and choice a user can meet, their one error, and the one sentence that refuses a value.

Scenario and LoadSpec check their fields with these; the command lines and the desktop panel derive
their ranges, choices, help and messages from them, so the CLI, the GUI and the Lab accept and refuse
exactly the same values, in the same words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args


class NotAllowedError(ValueError):
    """A value outside what is allowed: names the field (or flag), the value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(not_allowed(field, value, allowed))

    def as_flag(self) -> str:
        """The same sentence for a command line, naming the flag the user typed."""
        return not_allowed(self.field, self.value, self.allowed, flag=True)


def not_allowed(field: str, value: object, allowed: str, *, flag: bool = False) -> str:
    """The one wording: ``workers=48 is not allowed: workers must be a whole number from 1 to 32``."""
    name, subject = (flag_name(field), field.replace("_", "-")) if flag else (field, field)
    return f"{name}={value!r} is not allowed: {subject} must be {allowed}"


def flag_name(field: str) -> str:
    """The command-line flag for a field: ``max_in_flight`` → ``--max-in-flight``."""
    return "--" + field.replace("_", "-")


@dataclass(frozen=True, slots=True)
class IntRange:
    """Whole numbers from ``lo`` to ``hi``, both included (bools are not numbers here)."""

    lo: int
    hi: int

    @property
    def allowed(self) -> str:
        return f"a whole number from {self.lo} to {self.hi}"

    def __contains__(self, value: object) -> bool:
        return not isinstance(value, bool) and isinstance(value, int) and self.lo <= value <= self.hi

    def check(self, field: str, value: object) -> None:
        if value not in self:
            raise NotAllowedError(field, value, self.allowed)

    def parse(self, field: str, text: str) -> int:
        """A command-line word as a checked whole number."""
        try:
            value = int(text)
        except ValueError:
            raise NotAllowedError(field, text, self.allowed) from None
        self.check(field, value)
        return value

    def capped(self, hi: int) -> IntRange:
        """A narrower range for a control (never wider than this one: what it offers is accepted)."""
        return IntRange(self.lo, max(self.lo, min(hi, self.hi)))


AUTO: Literal["auto"] = "auto"


@dataclass(frozen=True, slots=True)
class CountOrAuto:
    """A whole number in ``counts``, or ``"auto"`` (the Lab decides, e.g. from the theory)."""

    counts: IntRange

    @property
    def allowed(self) -> str:
        return f"{self.counts.allowed}, or {AUTO!r}"

    def __contains__(self, value: object) -> bool:
        return value == AUTO or value in self.counts

    def check(self, field: str, value: object) -> None:
        if value not in self:
            raise NotAllowedError(field, value, self.allowed)

    def parse(self, field: str, text: str) -> int | str:
        if text == AUTO:
            return AUTO
        try:
            return self.counts.parse(field, text)
        except NotAllowedError as exc:  # the same value, with "or 'auto'" in what is allowed
            raise NotAllowedError(field, exc.value, self.allowed) from None

    def capped(self, hi: int) -> CountOrAuto:
        return CountOrAuto(self.counts.capped(hi))


@dataclass(frozen=True, slots=True)
class NumberRange:
    """Finite numbers above ``above`` (excluded) or from ``lo`` (included), and at most ``hi``."""

    hi: float
    above: float | None = None
    lo: float | None = None

    @property
    def allowed(self) -> str:
        if self.above is not None:
            return f"a number above {self.above:g} and at most {self.hi:g}"
        return f"a number from {self.lo:g} to {self.hi:g}"

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False
        low_ok = value > self.above if self.above is not None else self.lo is None or value >= self.lo
        return low_ok and value <= self.hi

    def check(self, field: str, value: object) -> None:
        if value not in self:
            raise NotAllowedError(field, value, self.allowed)

    def parse(self, field: str, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise NotAllowedError(field, text, self.allowed) from None
        self.check(field, value)
        return value


def choices(kind: Any) -> tuple[str, ...]:
    """The words a ``Literal`` type allows, in order."""
    return tuple(str(c) for c in get_args(kind))


def one_of(kind: Any) -> str:
    return "one of " + ", ".join(repr(c) for c in get_args(kind))


def check_choice(field: str, value: object, kind: Any) -> None:
    if value not in get_args(kind):
        raise NotAllowedError(field, value, one_of(kind))


# -- the limits ------------------------------------------------------------------------------------
# Scenario
WORKERS = IntRange(1, 32)
TOKENS = IntRange(1, 1000)
# LoadSpec
MS = IntRange(0, 10_000)
USERS = IntRange(1, 10_000)
MAX_IN_FLIGHT = IntRange(1, 100_000)
RATE = NumberRange(100_000.0, above=0.0)
# Load processes sharing the users and rate; never more than the machine's cores (the CLI flag and the
# panel cap it there, the Lab too); "auto": as many as the client bound needs (lab/loadsize.py).
LOAD_PROCESSES = CountOrAuto(IntRange(1, 32))
# asgiscope run
DURATION_S = NumberRange(3600.0, above=0.0)
WARMUP_S = NumberRange(600.0, lo=0.0)
PORT = IntRange(0, 65_535)  # 0: any free port
# asgiscope tour and the app's tour bar
VERDICT_TOLERANCE = 0.10  # a measurement within 10 % of its prediction bears the claim out
TOUR_STEPS = IntRange(1, 50)
TITLE_CHARS = IntRange(1, 80)  # a step's title, one line
CAPTION_CHARS = IntRange(1, 200)  # a step's caption: one sentence, readable from the back of a room

# -- how far back the app looks --------------------------------------------------------------------
# The plots show PLOT_WINDOW_S of session time. The series keeps a third more, so a curve still reaches
# the plot's left edge while it slides between samples and while the GUI reads a snapshot late; markers
# are kept a little past the series, so a change's line never goes before the curve it labels.
PLOT_WINDOW_S = 90.0
SERIES_HISTORY_S = PLOT_WINDOW_S * 4 / 3
MARKER_HORIZON_S = SERIES_HISTORY_S + 10.0
