"""Load ceiling: how close does each load engine get to wrk against the same `/hello` server?

One uvicorn server (1 worker, httptools + uvloop, no access log) on 127.0.0.1; alternating rounds of
wrk (`-t1 -c50 -d4s`, when installed) and each engine at 50 closed-loop users for ~4 s, through the real
load process (`asgiscope.server.load.handle.LoadProcess`). Prints req/s per round, medians, and engine/wrk.

    .venv/bin/python bench/load_ceiling.py [--rounds 3] [--seconds 4] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from asgiscope.server.load.group import LoadGroup  # noqa: E402
from asgiscope.server.load.handle import LoadProcess  # noqa: E402
from asgiscope.server.load.spec import LoadSpec  # noqa: E402

USERS = 50
WARMUP_S = 0.5
SECTION = "## Load ceiling"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ASGISCOPE_WORKER=json.dumps({"watch_parent": False}))
    args = ["asgiscope.server.demo.app:app_factory", "--factory", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--workers", "1", "--http", "httptools", "--loop", "uvloop", "--no-access-log"]
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", *args, "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("server did not start") from None
            time.sleep(0.1)


def run_wrk(wrk: str, url: str, seconds: float) -> tuple[float, float]:
    """req/s and wrk's own CPU % (from the reaped child's rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(
        [wrk, "-t1", f"-c{USERS}", f"-d{round(seconds)}s", url + "/hello"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / wall * 100
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise SystemExit(f"cannot read wrk output:\n{out}")
    return float(match.group(1)), cpu


async def run_engine(name: str, url: str, seconds: float) -> tuple[float, float]:
    """req/s and the load processes' CPU % (summed) over the measured window, after a warm-up.

    ``name`` is an engine, or ``engine*K`` for K load processes sharing the users (LoadGroup).
    """
    engine, _, k = name.partition("*")
    spec = LoadSpec(endpoint="hello", users=USERS, engine=engine)  # type: ignore[arg-type]
    lp = LoadGroup(url, spec, int(k)) if k else LoadProcess(url, spec)
    await lp.start()
    try:
        await asyncio.sleep(WARMUP_S)
        lp.drain()
        await asyncio.sleep(seconds - WARMUP_S)
        reports = lp.drain()
    finally:
        await lp.stop()
    wall = sum(r.interval_s for r in reports) / (int(k) if k else 1)
    errors = sum(sum(r.errors.values()) for r in reports)
    if errors:
        print(f"  ({name}: {errors} errors)")
    cpu = sum(r.cpu_percent * r.interval_s for r in reports) / wall  # summed over processes
    return sum(r.completed for r in reports) / wall, cpu


def markdown(
    results: dict[str, list[tuple[float, float]]], rounds: int, seconds: float, load: tuple[float, float]
) -> str:
    wrk_median = statistics.median(r for r, _ in results["wrk"]) if "wrk" in results else None
    lines = [
        SECTION,
        "",
        f"`bench/load_ceiling.py`: `/hello` on one uvicorn worker (httptools + uvloop, no access log), "
        f"{USERS} connections/users, {rounds} alternating rounds of ~{seconds:g} s, client and server "
        f"sharing the same {os.cpu_count()} cores. Run {time.strftime('%Y-%m-%d')}; 1-min load average "
        f"{load[0]:.1f} before, {load[1]:.1f} after (anything above ~1 means other work shared the cores).",
        "",
        "Shared cores make req/s swing with whatever else runs; client CPU per request does not, and it "
        "is what decides who wins the cores: compare that column when the load average is high.",
        "",
        "| client | rounds (req/s) | median req/s | client CPU % | client CPU µs/req | / wrk |",
        "|---|---|---|---|---|---|",
    ]
    for name, figures in results.items():
        rates = [r for r, _ in figures]
        median = statistics.median(rates)
        ratio = f"{median / wrk_median:.2f}" if wrk_median else "n/a"
        cpu = statistics.median(c for _, c in figures)
        per_request = statistics.median(c / 100 / r * 1e6 for r, c in figures)
        lines.append(
            f"| {name} | {', '.join(f'{r:,.0f}' for r in rates)} | {median:,.0f} | {cpu:.0f} "
            f"| {per_request:.0f} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    """Replace our section (up to the next `## `) or append it; other sections stay untouched."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    start = old.find(SECTION + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + (old[end + 1 :] if end >= 0 else "")
    path.write_text(new)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument(
        "--engines", default="raw,aiohttp,httpx", help="comma-separated; engine*K = K processes"
    )
    parser.add_argument("--write", type=Path, default=None, help="update this markdown file's section")
    args = parser.parse_args()
    wrk = shutil.which("wrk") or shutil.which("/usr/bin/wrk")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    load_before = os.getloadavg()[0]
    server = start_server(port)
    clients = (["wrk"] if wrk else []) + args.engines.split(",")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    try:
        for round_no in range(1, args.rounds + 1):
            for name in clients:
                if name == "wrk":
                    assert wrk is not None
                    figures = await asyncio.to_thread(run_wrk, wrk, url, args.seconds)
                else:
                    figures = await run_engine(name, url, args.seconds)
                results[name].append(figures)
                print(f"round {round_no} {name:8s} {figures[0]:9,.0f} req/s", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    text = markdown(results, args.rounds, args.seconds, (load_before, os.getloadavg()[0]))
    print()
    print(text)
    if args.write is not None:
        write_section(args.write, text)


if __name__ == "__main__":
    asyncio.run(main())
