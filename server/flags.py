"""Command-line flags whose values are checked by the limits in ``limits``, in the same words as the GUI.

Each flag's word is read by its rule while parsing (a number in range, or one of a ``Literal``'s words); a
refusal is the one ``NotAllowedError`` sentence naming flag, value and what is allowed, reported through
``parser.error`` like argparse's own errors (usage, then the sentence, exit 2). argparse's own wording
stays only for what no rule can say: an unknown flag, a flag without its value.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from asgiscope.server.limits import (
    CountOrAuto,
    IntRange,
    NotAllowedError,
    NumberRange,
    check_choice,
    choices,
    flag_name,
)

EXIT_USAGE = 2

# A number range (or a count or "auto"), or a ``Literal`` type whose words are the choices.
Rule = IntRange | NumberRange | Any


def rule_help(rule: Rule) -> str:
    """What a flag takes, for --help: ``1..32`` or ``uvicorn | gunicorn``."""
    if isinstance(rule, IntRange):
        return f"{rule.lo}..{rule.hi}"
    if isinstance(rule, NumberRange):
        return rule.allowed.removeprefix("a ")
    if isinstance(rule, CountOrAuto):
        return f"{rule.counts.lo}..{rule.counts.hi} | auto"
    return " | ".join(choices(rule))


class _Checked(argparse.Action):
    """Stores the checked value; a refused word ends parsing as argparse's own errors do (exit 2)."""

    def __init__(self, *args: Any, rule: Rule, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        try:
            value = read(self.dest, str(values), self.rule)
        except NotAllowedError as exc:
            parser.error(exc.as_flag())
        setattr(namespace, self.dest, value)


def add_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    field: str,
    rule: Rule,
    text: str,
    default: object = None,
    *,
    shown_default: object = None,
) -> None:
    """``--field`` whose word ``rule`` checks while parsing; ``default`` when absent."""
    shown = default if shown_default is None else shown_default
    parser.add_argument(
        flag_name(field),
        dest=field,
        action=_Checked,
        rule=rule,
        default=default,
        metavar=field.upper(),
        help=f"{text}: {rule_help(rule)}" + ("" if shown is None else f" (default: {shown})"),
    )


def read(field: str, text: str, rule: Rule) -> Any:
    """The value a flag's word stands for; raises NotAllowedError naming the field."""
    if isinstance(rule, IntRange | NumberRange | CountOrAuto):
        return rule.parse(field, text)
    check_choice(field, text, rule)
    return text


def usage_error(parser: argparse.ArgumentParser, exc: NotAllowedError) -> int:
    """Usage and the one sentence naming the flag, on stderr as argparse prints its own; exit code 2."""
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {exc.as_flag()}", file=sys.stderr)
    return EXIT_USAGE


class UsageError(Exception):
    """A command line that cannot run: the headless tools print it and exit 2."""


def refused(prog: str, exc: UsageError) -> int:
    """The one sentence on stderr, in argparse's words (``asgiscope run: error: ...``); exit code 2."""
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises ``UsageError`` where argparse would print and exit, so the tool
    reports it in its own words and exit code."""

    def error(self, message: str) -> Any:
        raise UsageError(message)
