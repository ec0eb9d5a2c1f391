"""What telemetry costs: an instrumented and a bare server measured side by side, at the same instant.

Two single-worker uvicorn servers share one core (pinned to CPU 0) and are loaded *simultaneously* at
``/hello`` (the cheapest route: the worst case for relative overhead), each by its own wrk on the other
core. Both are always busy, so the scheduler splits the core between them; each server's requests per
CPU-second is then its capacity, measured under exactly the same conditions as the other's. Machine
noise (neighbours, frequency, steal) hits both alike, which alternating rounds cannot promise on a
shared VM. Every round starts a fresh pair of processes. The headline is the median over rounds of
on/off requests per CPU-second.

The method's own resolution comes first: an A/A phase runs two bare servers the same way and must read
~1.00 with a narrow spread, or the verdict says the run cannot judge 3 %.

Also micro-benchmarks the pieces in-process: the emitter per record and the middleware per request.

    .venv/bin/python bench/telemetry_overhead.py [--rounds 8] [--seconds 3] [--no-docs]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psutil

ROOT = Path(__file__).resolve().parents[1]

from asgiscope.server import protocol  # noqa: E402
from asgiscope.server.demo.config import WorkerConfig  # noqa: E402
from asgiscope.server.lab.collector import Collector  # noqa: E402
from bench.telemetry_micro import demo_app_cost_us, emitter_cost_us, probe_tick_cost_us  # noqa: E402

TARGET = 0.97
HEADING = "## Telemetry overhead"
SERVER_CPU: Final = 0  # both servers: they share this core, the scheduler splits it between them
CLIENT_CPU: Final = 1  # both load generators and the collector
APP: Final = "asgiscope.server.demo.app:app_factory"
# --breakdown: each step adds a piece of the telemetry to the one before (bench/telemetry_variants.py).
STEPS: Final = ("passthrough", "status", "bookkeeping", "no_probes", "full")
STEP_WHAT: Final = {
    "passthrough": "an ASGI layer that does nothing",
    "status": "+ send wrapper catching the status, two clock reads",
    "bookkeeping": "+ thread-id slot in the scope, in-flight count, route id",
    "no_probes": "+ the record packed and batched, datagrams sent (the real middleware)",
    "full": "+ the 100 Hz loop-lag and threadpool probe (telemetry as shipped)",
}


@dataclass(frozen=True, slots=True)
class Round:
    a_rps: float
    b_rps: float
    a_cpu_us: float  # server CPU (user + system) per request
    b_cpu_us: float

    @property
    def efficiency(self) -> float:
        """a's requests per CPU-second over b's: > 1 when a is the cheaper server."""
        return self.b_cpu_us / self.a_cpu_us

    @property
    def share(self) -> float:
        """a's share of the CPU the two servers used (≈ 0.5 when the core is split fairly)."""
        a, b = self.a_cpu_us * self.a_rps, self.b_cpu_us * self.b_rps
        return a / (a + b)


def pinned(cmd: list[str], cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def demo_server(config: WorkerConfig, app: str = APP) -> Iterator[tuple[str, psutil.Process]]:
    """One uvicorn worker in its own process group, pinned to SERVER_CPU; killed with its group on exit."""
    port = _free_port()
    cmd = pinned([sys.executable, "-m", "uvicorn", app, "--factory"], SERVER_CPU)
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    env = {**os.environ, **config.to_env()}
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=err, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    with urllib.request.urlopen(url + "/hello", timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        err.seek(0)
                        raise RuntimeError(f"server did not start:\n{err.read()[-2000:].decode()}") from None
                    time.sleep(0.05)
            yield url, psutil.Process(proc.pid)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def load_command(url: str, seconds: int, connections: int) -> list[str]:
    return pinned(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url + "/hello"], CLIENT_CPU)


def requests_done(out: str) -> int:
    match = re.search(r"(\d+) requests in", out)
    if match is None:
        raise RuntimeError(f"unexpected load output:\n{out}")
    return int(match.group(1))


def cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system)


def side_by_side(
    a: tuple[str, psutil.Process], b: tuple[str, psutil.Process], seconds: int, connections: int
) -> Round:
    """Load both servers at once for ``seconds``; each one's req/s and CPU per request."""
    (a_url, a_proc), (b_url, b_proc) = a, b
    a0, b0 = cpu_s(a_proc), cpu_s(b_proc)
    loads = [
        subprocess.Popen(load_command(url, seconds, connections), stdout=subprocess.PIPE, text=True)
        for url in (a_url, b_url)
    ]
    outs = [p.communicate()[0] for p in loads]
    a1, b1 = cpu_s(a_proc), cpu_s(b_proc)
    na, nb = (max(requests_done(o), 1) for o in outs)
    return Round(na / seconds, nb / seconds, (a1 - a0) / na * 1e6, (b1 - b0) / nb * 1e6)


def phase(
    name: str,
    a_cfg: WorkerConfig,
    b_cfg: WorkerConfig,
    collector: Collector,
    args: argparse.Namespace,
    a_app: str = APP,
) -> list[Round]:
    rounds: list[Round] = []
    for i in range(args.rounds):
        # A fresh pair every round: two identical server processes differ by a few % for the whole of
        # their lives (memory layout, hash seed), so one pair would carry its luck into every round.
        with demo_server(a_cfg, a_app) as a, demo_server(b_cfg) as b:
            side_by_side(a, b, 1, args.connections)  # warm-up: first connections, caches
            # Swap which load starts first each round, so neither server always gets the head start.
            if i % 2 == 0:
                r = side_by_side(a, b, args.seconds, args.connections)
            else:
                r = _swap(side_by_side(b, a, args.seconds, args.connections))
        rounds.append(r)
        collector.drain()  # as the Lab does; keeps memory flat
        print(
            f"{name} round {i + 1}: {r.a_rps:6.0f} / {r.b_rps:6.0f} req/s, "
            f"{r.a_cpu_us:5.1f} / {r.b_cpu_us:5.1f} CPU-µs/req, efficiency {r.efficiency:.3f}, "
            f"CPU share {r.share:.2f}",
            flush=True,
        )
    return rounds


def _swap(r: Round) -> Round:
    return Round(r.b_rps, r.a_rps, r.b_cpu_us, r.a_cpu_us)


def spread(rounds: list[Round]) -> tuple[float, float, float]:
    """(median, first quartile, third quartile) of the rounds' efficiencies."""
    effs = sorted(r.efficiency for r in rounds)
    if len(effs) < 2:
        return effs[0], effs[0], effs[0]
    q1, _, q3 = statistics.quantiles(effs, n=4)
    return statistics.median(effs), q1, q3


def write_docs(path: Path, section: str) -> None:
    """Replace this benchmark's section if present, else append it; other sections stay as they are."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(HEADING + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + (text[nxt + 1 :] if nxt != -1 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # not available on this platform
        return "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument(
        "--breakdown", action="store_true", help="also price each piece of the telemetry, step by step"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("this benchmark needs wrk (apt-get install wrk): one per server, both at once")

    placement = "unpinned (no taskset or one core): the method's premise does not hold"
    if pinned([], 0) and hasattr(os, "sched_setaffinity"):
        # This thread, and so the collector thread started after it, go with the clients.
        os.sched_setaffinity(0, {CLIENT_CPU})
        placement = f"both servers pinned to CPU {SERVER_CPU}, both wrk and the collector to CPU {CLIENT_CPU}"
    token = secrets.token_bytes(protocol.TOKEN_BYTES)
    load_before = load_average()
    with Collector(token) as collector:
        host, port = collector.address
        on = WorkerConfig(telemetry_host=host, telemetry_port=port, token_hex=token.hex(), watch_parent=False)
        off = WorkerConfig(watch_parent=False)
        control = phase("A/A off/off", off, off, collector, args)
        judged = phase("on/off", on, off, collector, args)
        steps: dict[str, list[Round]] = {}
        if args.breakdown:
            for step in STEPS[:-1]:
                steps[step] = phase(step, on, off, collector, args, f"bench.telemetry_variants:{step}")
            steps[STEPS[-1]] = judged
        time.sleep(0.1)
        stats = collector.stats()
        load_after = load_average()
        emit_us = emitter_cost_us(collector.address, token)
        tick_us = probe_tick_cost_us(collector.address, token)
        app_bare_us, app_on_us = demo_app_cost_us(collector.address, token)

    aa, aa_q1, aa_q3 = spread(control)
    eff, q1, q3 = spread(judged)
    # Judged on the middle half of the rounds, not the median alone: three quarters of the rounds must
    # agree. And the method itself must read two identical servers as equal (A/A median ~1.00).
    if abs(aa - 1) > (1 - TARGET) / 2:
        verdict = f"inconclusive: the A/A control reads {aa:.3f}, the method is biased in this run"
    elif q1 >= TARGET:
        verdict = f"meets the target {TARGET}"
    elif q3 < TARGET:
        verdict = f"misses the target {TARGET}"
    else:
        verdict = f"inconclusive for the target {TARGET}: the middle half of the rounds straddles it"
    rps_ratio = statistics.median(r.a_rps / r.b_rps for r in judged)
    on_us = statistics.median(r.a_cpu_us for r in judged)
    off_us = statistics.median(r.b_cpu_us for r in judged)
    collector_note = f"{stats.records} records in {stats.datagrams} datagrams, {stats.lost} lost"
    lines = [
        f"on/off requests per server CPU-second: median {eff:.3f}, middle half {q1:.3f}-{q3:.3f}: {verdict}",
        f"A/A control (two bare servers, same method): median {aa:.3f}, middle half {aa_q1:.3f}-{aa_q3:.3f}",
        f"server CPU per request: on {on_us:.1f} µs, off {off_us:.1f} µs; throughput on/off {rps_ratio:.3f} "
        "(the core is split by the scheduler, so req/s follows CPU per request and the CPU share)",
        f"micro-benchmarks: probe tick {tick_us:.1f} CPU-µs (x100/s per worker); emitter {emit_us:.3f} µs "
        f"per record (packing + one datagram per 64 records); demo app `/hello` in-process "
        f"{app_bare_us:.1f} µs bare, {app_on_us:.1f} µs instrumented (+{app_on_us - app_bare_us:.2f} µs)",
        f"collector: {collector_note}; 1-min load average {load_before} before, {load_after} after",
    ]
    breakdown = ""
    if steps:
        steps_table = [
            "| step | what it adds | on/off (median) | middle half | cost of the step |",
            "|---|---|---|---|---|",
        ]
        before = 1.0
        for step, rounds in steps.items():
            median, lo, hi = spread(rounds)
            cost = (before - median) * 100
            steps_table.append(
                f"| `{step}` | {STEP_WHAT[step]} | {median:.3f} | {lo:.3f}-{hi:.3f} | {cost:+.1f} % |"
            )
            before = median
        breakdown = "\n".join(steps_table) + "\n"
        print(breakdown)
    print("\n".join(lines))
    if not args.no_docs:

        def rows(rounds: list[Round]) -> str:
            return "\n".join(
                f"| {i + 1} | {r.a_rps:.0f} | {r.b_rps:.0f} | {r.a_cpu_us:.1f} | {r.b_cpu_us:.1f} | "
                f"{r.share:.2f} | {r.efficiency:.3f} |"
                for i, r in enumerate(rounds)
            )

        table = "| round | a req/s | b req/s | a CPU µs/req | b CPU µs/req | a CPU share | efficiency a/b |\n"
        table += "|---|---|---|---|---|---|---|\n"
        section = (
            f"{HEADING}\n\n"
            f"`bench/telemetry_overhead.py`, {time.strftime('%Y-%m-%d')}: two single-worker uvicorn servers "
            f"(default loop/http: uvloop + httptools), loaded at the same time at `/hello` by one wrk "
            f"`-c{args.connections}` each, {args.rounds} rounds of {args.seconds} s per phase, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}; {placement}. Efficiency = "
            "requests per server CPU-second of a over b; CPU = the server process's user + system time.\n\n"
            f"A/A control, a and b both bare:\n\n{table}{rows(control)}\n\n"
            f"a with telemetry on, b bare:\n\n{table}{rows(judged)}\n\n"
            + (
                f"Step by step (`--breakdown`, a = the step, b bare, same method):\n\n{breakdown}\n"
                if breakdown
                else ""
            )
            + "".join(f"- {line}\n" for line in lines)
            + "\nWhy side by side: alternating on/off rounds on this shared VM swung ±15 % between rounds "
            "(CPU per request itself moved from 95 to 165 µs), far more than the 3 % being judged. "
            "Two servers sharing one core at the same instant see the same machine, and the A/A phase "
            "shows how "
            "closely the method reads.\n\n"
            "What it means: the cost is a fixed ~10 µs of server CPU per request (the step table shows "
            "where), so it weighs most on the cheapest request. It lowers a CPU-bound ceiling by that "
            "share, `/hello` and `/io/async` alike (a 100 ms sleep costs the loop no CPU); it does not "
            "move a prediction bound by users, tokens or sleep time (Little's law), which is what most "
            "scenarios show. The CPU costs in server/theory.py were measured through the Lab, telemetry "
            "on, so the predictions include it.\n\n"
        )
        write_docs(args.docs, section)
        print(f"wrote {args.docs.relative_to(ROOT) if args.docs.is_relative_to(ROOT) else args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
