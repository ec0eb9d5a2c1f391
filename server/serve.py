"""``asgiscope serve``: one scenario's server tree in the foreground, for your tools (wrk, curl, a browser).

``add_scenario_arguments`` and ``scenario_from_args`` are shared with ``asgiscope run``: one flag per
Scenario field, validated by Scenario itself so the CLI and the GUI refuse exactly the same values.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from dataclasses import fields
from typing import Any, get_args

from asgiscope.server.launch import LaunchError, ServerTree
from asgiscope.server.scenario import HttpKind, LoopKind, Scenario, ScenarioError, ServerKind, SocketKind

DEFAULT_PORT = 8000
EXIT_USAGE = 2

# Choices are listed in --help but checked by Scenario, so the message names field, value and rule.
_HELP: dict[str, tuple[type, str]] = {
    "server": (str, "server kind: " + " | ".join(get_args(ServerKind))),
    "workers": (int, "worker processes (1..32)"),
    "loop": (str, "event loop: " + " | ".join(get_args(LoopKind))),
    "http": (str, "HTTP parser: " + " | ".join(get_args(HttpKind))),
    "tokens": (int, "threadpool tokens per worker (1..1000)"),
    "socket": (str, "listening socket: " + " | ".join(get_args(SocketKind)) + " (reuse_port: gunicorn only)"),
}


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """One optional flag per Scenario field (unset flags keep the Scenario defaults), plus --port."""
    defaults = Scenario()
    for field in fields(Scenario):
        kind, text = _HELP[field.name]
        parser.add_argument(
            f"--{field.name}",
            type=kind,
            default=None,
            metavar=field.name.upper(),
            help=f"{text} (default: {getattr(defaults, field.name)})",
        )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port on 127.0.0.1, 0 for any free one (default: {DEFAULT_PORT})",
    )


def scenario_from_args(ns: argparse.Namespace) -> Scenario:
    """The Scenario the flags describe; raises ScenarioError naming the bad field."""
    given: dict[str, Any] = {
        f.name: getattr(ns, f.name) for f in fields(Scenario) if getattr(ns, f.name, None) is not None
    }
    return Scenario(**given)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asgiscope serve",
        description="Run one scenario's server tree on 127.0.0.1 until Ctrl-C or SIGTERM.",
    )
    add_scenario_arguments(parser)
    return parser


def _echo(line: bytes) -> None:
    # The server's own warnings and tracebacks belong on the user's terminal.
    sys.stderr.write(line.decode(errors="replace") + "\n")
    sys.stderr.flush()


async def _serve(scenario: Scenario, port: int) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C arrives as KeyboardInterrupt
            loop.add_signal_handler(sig, stop.set)
    tree = ServerTree(scenario, port=port, on_output=_echo)
    try:
        await tree.start()
        info = tree.info()
        print(f"asgiscope serving {scenario.to_json()} at {tree.url}", flush=True)
        print(f"master pid {info.master_pid}", flush=True)
        print("worker pids " + " ".join(str(pid) for pid in info.worker_pids), flush=True)
        while not stop.is_set():
            if not tree.alive:
                print(f"the server exited\n{tree.stderr_tail()}", file=sys.stderr, flush=True)
                return 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
        print("stopping", flush=True)
        return 0
    finally:
        await tree.stop()


def main(argv: list[str]) -> int:
    """``asgiscope serve [flags]``: 0 after a clean stop, 1 if the server failed, 2 for bad flags."""
    parser = _parser()
    ns = parser.parse_args(argv)  # exits 2 on unknown flags or non-numbers, with argparse's message
    try:
        scenario = scenario_from_args(ns)
    except ScenarioError as exc:
        parser.print_usage(sys.stderr)
        print(f"asgiscope serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(_serve(scenario, ns.port))
    except LaunchError as exc:
        print(f"asgiscope serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
