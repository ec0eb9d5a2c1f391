"""The load generator process, the child a LoadProcess (``handle.py``) starts and owns:
``python -m asgiscope.server.load.main --url http://127.0.0.1:PORT [--spec JSON]``.

Never run inside the GUI: a GIL-bound GUI would distort the very numbers it shows. Control comes in
on stdin (one LoadSpec JSON per line, applied live); a LoadReport JSON line goes out on stdout every
100 ms. stdin EOF means the owner is gone (even if it was SIGKILLed), so the process exits at once:
that is the orphan-proofing, and it works on every platform.

The first stderr line says which event loop and engine run. Exit codes: 0 after stdin EOF, 1 when the
process itself failed (with the traceback on stderr), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, TextIO

from asgiscope.server.limits import NotAllowedError
from asgiscope.server.load.recorder import Recorder
from asgiscope.server.load.runner import Runner
from asgiscope.server.load.spec import LoadSpec

REPORT_INTERVAL_S = 0.1


def _loop_factory() -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """uvloop when importable: the fastest correct client loop, so the client is less often the limit."""
    try:
        import uvloop
    except ImportError:
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    # A thread, not connect_read_pipe: works for pipes, ttys and files, on every platform and loop.
    try:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
    except (OSError, ValueError):
        pass
    with contextlib.suppress(RuntimeError):  # the loop may already be closed
        loop.call_soon_threadsafe(lines.put_nowait, None)


async def _report(recorder: Recorder, runner: Runner, out: TextIO) -> None:
    """A report every 100 ms on a fixed grid (no drift); a dead reader (EPIPE) ends the process."""
    next_at = time.monotonic() + REPORT_INTERVAL_S
    while True:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += REPORT_INTERVAL_S
        if next_at < time.monotonic():  # we were starved: realign rather than burst
            next_at = time.monotonic() + REPORT_INTERVAL_S
        out.write(recorder.report(runner.users).to_json() + "\n")
        out.flush()


async def _control(lines: asyncio.Queue[str | None], runner: Runner) -> None:
    while (line := await lines.get()) is not None:
        if not line.strip():
            continue
        try:
            spec = LoadSpec.from_json(line)
        except (ValueError, TypeError, NotAllowedError) as exc:
            # A bad control line is the owner's bug; say so and keep the current load.
            print(f"asgiscope-load: ignored bad spec: {exc}", file=sys.stderr, flush=True)
            continue
        runner.apply(spec)


async def run(url: str, spec: LoadSpec, loop_name: str) -> int:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=_read_stdin, args=(loop, lines), name="stdin", daemon=True).start()
    recorder = Recorder()
    runner = Runner(url, recorder)
    print(
        f"asgiscope-load pid={os.getpid()} loop={loop_name} engine={spec.engine} url={url}",
        file=sys.stderr,
        flush=True,
    )
    runner.apply(spec)
    control = asyncio.create_task(_control(lines, runner))
    reporter = asyncio.create_task(_report(recorder, runner, sys.stdout))
    try:
        done, _ = await asyncio.wait({control, reporter}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a failed reporter or control task is a crash: raise it
        return 0
    except BrokenPipeError:
        return 0  # the owner closed our stdout: it is gone, exit quietly like on stdin EOF
    finally:
        control.cancel()
        reporter.cancel()
        await runner.close()


def _parse(argv: list[str] | None) -> tuple[str, LoadSpec]:
    parser = argparse.ArgumentParser(prog="python -m asgiscope.server.load.main", description=__doc__)
    parser.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--spec", default=None, help="initial LoadSpec as JSON (default: LoadSpec())")
    args = parser.parse_args(argv)
    try:
        spec = LoadSpec.from_json(args.spec) if args.spec else LoadSpec()
    except (ValueError, TypeError) as exc:
        parser.error(f"--spec: {exc}")
    return str(args.url), spec


def main(argv: list[str] | None = None) -> int:
    url, spec = _parse(argv)
    # Ctrl-C in a terminal reaches the whole process group: let the owner decide; stdin EOF stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loop_name, factory = _loop_factory()
    coro: Coroutine[Any, Any, int] = run(url, spec, loop_name)
    try:
        return asyncio.run(coro, loop_factory=factory)
    except Exception:
        traceback.print_exc()
        print("asgiscope-load: crashed (see traceback above)", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
