"""``asgiscope serve``: one scenario's server tree in the foreground, for your tools (wrk, curl, a browser).

``add_scenario_arguments`` and ``scenario_from_args`` are shared with ``asgiscope run``: one flag per
Scenario field, checked by the same limits as Scenario itself, so the CLI and the GUI refuse exactly the
same values in the same words.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from dataclasses import fields

from asgiscope.server.flags import Rule, add_flag, usage_error
from asgiscope.server.launch import LaunchError, ServerTree
from asgiscope.server.launch.events import describe_exit
from asgiscope.server.limits import PORT, TOKENS, WORKERS, NotAllowedError
from asgiscope.server.scenario import (
    FrameworkKind,
    HttpKind,
    LoopKind,
    Scenario,
    ServerKind,
    SocketKind,
    WorkerClass,
)

DEFAULT_PORT = 8000

# One flag per Scenario field; what each allows comes from the one definition in limits / the Literals.
SCENARIO_FLAGS: dict[str, tuple[Rule, str]] = {
    "server": (ServerKind, "server kind"),
    "workers": (WORKERS, "worker processes"),
    "loop": (LoopKind, "event loop"),
    "http": (HttpKind, "HTTP parser"),
    "tokens": (TOKENS, "threadpool tokens per worker"),
    "socket": (SocketKind, "listening socket (reuse_port: gunicorn only)"),
    "framework": (FrameworkKind, "web framework"),
    "worker_class": (WorkerClass, "gunicorn worker class"),
}


def add_scenario_arguments(parser: argparse.ArgumentParser, *, port: int = DEFAULT_PORT) -> None:
    """One optional flag per Scenario field (unset flags keep the Scenario defaults), plus --port."""
    defaults = Scenario()
    for field in fields(Scenario):
        rule, text = SCENARIO_FLAGS[field.name]
        add_flag(parser, field.name, rule, text, shown_default=getattr(defaults, field.name))
    add_flag(parser, "port", PORT, "port on 127.0.0.1, 0 for any free one", port)


def scenario_from_args(ns: argparse.Namespace) -> Scenario:
    """The Scenario the flags describe; raises NotAllowedError for what only the whole can refuse."""
    return Scenario(**{f: getattr(ns, f) for f in SCENARIO_FLAGS if getattr(ns, f, None) is not None})


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
                await tree.stop()  # reaps the master and drains its output to the end
                print(_exited(tree), file=sys.stderr, flush=True)
                return 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
        print("stopping", flush=True)
        return 0
    finally:
        await tree.stop()


def _exited(tree: ServerTree) -> str:
    """One line on how the master ended; its output, if any, was echoed above as it came."""
    how = describe_exit(tree.master_exit_code)
    said = " (its last output is above)" if tree.stderr_tail().strip() else ", without a word on its output"
    return f"asgiscope serve: the server exited: master pid {tree.master_pid}, {how}{said}"


def main(argv: list[str]) -> int:
    """``asgiscope serve [flags]``: 0 after a clean stop, 1 if the server failed, 2 for bad flags."""
    parser = _parser()
    ns = parser.parse_args(argv)  # exits 2 on a refused or unknown flag, with usage and one sentence
    try:
        scenario = scenario_from_args(ns)  # reuse_port without gunicorn: only the whole can say
    except NotAllowedError as exc:
        return usage_error(parser, exc)
    try:
        return asyncio.run(_serve(scenario, ns.port))
    except LaunchError as exc:
        print(f"asgiscope serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
