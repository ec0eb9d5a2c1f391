"""``asgiscope run``: one headless measurement, measured beside predicted.

Starts the scenario's servers, drives the load (or, with ``--no-load``, watches while another tool
drives it), and prints a table or one JSON object. Exit 0 ok, 2 bad arguments, 1 the run failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
from dataclasses import dataclass
from typing import Any

from asgiscope.server.flags import Parser, Rule, UsageError, add_flag, refused
from asgiscope.server.lab.costscale import describe
from asgiscope.server.lab.session import Lab, LabError
from asgiscope.server.lab.snapshot import BUSY_THREAD_PERCENT, Snapshot
from asgiscope.server.limits import (
    DURATION_S,
    LOAD_PROCESSES,
    MAX_IN_FLIGHT,
    MS,
    RATE,
    USERS,
    WARMUP_S,
    NotAllowedError,
)
from asgiscope.server.load.spec import Connection, Endpoint, Engine, LoadSpec, Mode
from asgiscope.server.scenario import check_endpoint
from asgiscope.server.scripted import Change, ScriptError, parse_at, phase, render_phases, worker_rows
from asgiscope.server.serve import SCENARIO_FLAGS, add_scenario_arguments, scenario_from_args

# The load's flags; --at changes these fields and the scenario's, each checked by its flag's rule.
LOAD_FLAGS: dict[str, tuple[Rule, str]] = {
    "endpoint": (Endpoint, "route the load hits"),
    "ms": (MS, "handler time in ms"),
    "users": (USERS, "closed loop: concurrent virtual users"),
    "engine": (Engine, "HTTP client (raw: asyncio + httptools, the fastest)"),
    "connection": (
        Connection,
        "how long a user keeps its keep-alive connection (1s: a worker added live gets its share "
        "within a second; forever: like wrk, a new worker gets nothing)",
    ),
    "max_in_flight": (MAX_IN_FLIGHT, "open loop: cap on requests in flight"),
    "load_processes": (
        LOAD_PROCESSES.capped(os.cpu_count() or 1),
        "load processes sharing users and rate (auto: as many as the client bound needs, from the "
        "theory; never more than the cores)",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="asgiscope run", description=__doc__.splitlines()[0] if __doc__ else None)
    # a measurement needs no well-known port: any free one (serve uses 8000)
    add_scenario_arguments(p, port=0)
    g = add_load_arguments(p)
    g.add_argument("--no-load", action="store_true", help="send nothing: watch a server another tool drives")
    m = p.add_argument_group("measurement")
    add_flag(m, "duration", DURATION_S, "seconds measured (after warm-up)", 10.0)
    add_flag(m, "warmup", WARMUP_S, "seconds of load before measuring", 2.0)
    m.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    m.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="SECONDS:FIELD=VALUE[,FIELD=VALUE]",
        help="change scenario or load fields that many seconds into the measurement, as the app's "
        "controls do (repeatable): e.g. --at 4:workers=2 --at 8:endpoint=io/sync; the run reports "
        "one phase per stretch between changes",
    )
    return p


def add_load_arguments(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The load's flags (shared with ``asgiscope export``); returns their group."""
    defaults = LoadSpec()
    g = p.add_argument_group("load")
    for field, (rule, text) in LOAD_FLAGS.items():
        add_flag(g, field, rule, text, getattr(defaults, field))
    add_flag(g, "rate", RATE, "open loop: requests per second (implies open loop)")
    return g


def load_from_args(ns: argparse.Namespace) -> LoadSpec:
    return LoadSpec(
        endpoint=ns.endpoint,
        ms=ns.ms,
        mode="open" if ns.rate is not None else "closed",
        users=ns.users,
        rate=ns.rate if ns.rate is not None else LoadSpec().rate,
        engine=ns.engine,
        max_in_flight=ns.max_in_flight,
        connection=ns.connection,
        load_processes=ns.load_processes,
    )


def at_rules() -> dict[str, Rule]:
    """What each field --at can change may be: its own flag's rule."""
    rules = {name: rule for name, (rule, _) in SCENARIO_FLAGS.items()}
    rules.update({name: rule for name, (rule, _) in LOAD_FLAGS.items()})
    rules.update({"mode": Mode, "rate": RATE})
    return rules


@dataclass(frozen=True, slots=True)
class RunArgs:
    lab: Lab
    duration: float
    warmup: float
    no_load: bool
    as_json: bool
    changes: tuple[Change, ...] = ()
    # seconds after a change is applied before its phase is measured (the tour leaves a restart out)
    settle: float = 0.0


def parse(argv: list[str]) -> RunArgs:
    ns = build_parser().parse_args(argv)
    try:
        scenario = scenario_from_args(ns)
    except NotAllowedError as exc:  # reuse_port without gunicorn: only the whole scenario can say
        raise UsageError(exc.as_flag()) from None
    load = load_from_args(ns)
    try:
        check_endpoint(scenario, load.endpoint)
    except NotAllowedError as exc:  # an async def route under WSGI
        raise UsageError(exc.as_flag()) from None
    try:
        changes = parse_at(ns.at, at_rules(), ns.duration, scenario, load)
    except ScriptError as exc:
        raise UsageError(str(exc)) from None
    lab = Lab(scenario, load, port=ns.port or 0)
    warmup = 0.0 if ns.no_load else ns.warmup
    return RunArgs(lab, ns.duration, warmup, ns.no_load, ns.json, tuple(changes))


async def measure(args: RunArgs) -> dict[str, Any]:
    async with args.lab:
        return await measure_on(args.lab, args)


async def measure_on(lab: Lab, args: RunArgs) -> dict[str, Any]:
    """One measurement on a Lab that has started, as it stands (the tour runs its steps on one Lab)."""
    if not args.no_load:
        await lab.start_load()
    else:
        print(f"watching {lab.url} for {args.duration:g} s: drive it with your own client", file=sys.stderr)
    await asyncio.sleep(args.warmup)
    lab.reset_measurement()
    await asyncio.sleep(0.3)  # one tick: the reset is taken before the first measured snapshot
    first = lab.snapshot()
    phases, start, previous = [], first, None
    for change in args.changes:
        await asyncio.sleep(max(0.0, first.t + change.at_s - lab.now()))
        end = lab.snapshot()
        phases.append(phase(start, end, first.t, previous))
        await _apply(lab, change)
        if args.settle:
            await asyncio.sleep(args.settle)
            end = lab.snapshot()
        start, previous = end, change
    await asyncio.sleep(max(0.0, first.t + args.duration - lab.now()))
    last = lab.snapshot()
    phases.append(phase(start, last, first.t, previous))
    if not args.no_load:
        await lab.stop_load()
    await asyncio.sleep(0.5)  # let in-flight responses and telemetry arrive
    settled = lab.snapshot()
    return {**report(first, last, settled, args.no_load), "phases": phases}


async def _apply(lab: Lab, change: Change) -> None:
    """One scripted change, as the app's controls make it: the scenario first, then the load."""
    if change.scenario != lab.scenario:
        await lab.apply(change.scenario)
    if change.load.with_changes(running=lab.load.running) != lab.load:
        await lab.set_load(change.load)


def event_rows(settled: Snapshot) -> list[dict[str, Any]]:
    """The session's tree events, oldest first: worker starts and exits, kills, restarts, load deaths."""
    return [
        {"t": round(e.t, 2), "kind": e.kind, "pid": e.pid, "detail": e.detail, "code": e.code}
        for e in settled.events
    ]


def report(first: Snapshot, last: Snapshot, settled: Snapshot, no_load: bool) -> dict[str, Any]:
    dt = last.t - first.t
    workers = worker_rows(first, last)
    server_requests = last.server_requests - first.server_requests
    total = sum(w["requests"] for w in workers) or 1
    for w in workers:
        w["share"] = round(w["requests"] / total, 4)
    add_thread_cpu(workers, last)
    p = last.prediction
    lat = last.latency_total
    return {
        "scenario": last.scenario.to_dict(),
        "load": None if no_load else json.loads(last.load.to_json()),
        "duration_s": round(dt, 3),
        "measured": {
            # the average over the whole measured run (duration_s); insights quote the last window
            "throughput_rps": round((last.requests - first.requests) / dt, 2) if not no_load else None,
            "throughput_over": "whole run",
            "last_window": {"seconds": last.window_s, "throughput_rps": round(last.client_rps, 2)},
            "latency_ms": {"p50": _num(lat.p50_ms), "p90": _num(lat.p90_ms), "p99": _num(lat.p99_ms)},
            "requests": last.requests - first.requests,
            "errors": sum(settled.errors.values()),
            "errors_by_kind": settled.errors,
        },
        "server": {"requests": server_requests, "throughput_rps": round(server_requests / dt, 2)},
        "predicted": {
            "throughput_rps": _num(p.throughput_rps) if p and not no_load else None,
            "latency_ms": _num(p.latency_ms) if p and not no_load else None,
            "limit": p.limit if p and not no_load else None,
            "explanation": p.explanation if p and not no_load else None,
            # CPU time here per CPU second where the costs were measured: they were scaled by it
            "cpu_speed": round(p.cpu_speed, 3) if p else None,
            "client_speed": round(p.client_speed, 3) if p else None,
            # "measured": on the workers and load processes at work (lab/costscale.py); "calibrated":
            # a fixed piece of Python timed when the Lab started (calibrate.py)
            "speed_from": ("measured" if p.costs_measured else "calibrated") if p else None,
            "others_cores": round(p.others_cores, 2) if p else None,
        },
        "workers": workers,
        # session seconds: the measurement ran from measured_from_s to measured_to_s
        "measured_from_s": round(first.t, 2),
        "measured_to_s": round(last.t, 2),
        "events": event_rows(settled),
        "restarts": settled.restarts,
        "client_bound": last.client_bound.reason if last.client_bound else None,
        # the load processes at the end of the measurement, % of one core over the last window each
        # (psutil), and the group's own account (its reports): running and waiting for a core
        "load_processes": [
            {"pid": lp.pid, "cpu_percent": round(lp.cpu_percent, 1), "rss_mb": round(lp.rss_mb, 1)}
            for lp in last.processes
            if lp.role == "load"
        ],
        "client_cpu": {
            "cpu_percent": round(last.client_cpu_percent, 1),
            "wait_percent": round(last.client_wait_percent, 1),
        },
        "telemetry": {
            "received": settled.telemetry.received,
            "lost": settled.telemetry.lost,
            "rejected": settled.telemetry.rejected,
            "implausible": settled.telemetry.implausible,
        },
        "client_totals": {"requests": settled.requests, "server_requests": settled.server_requests},
        "insights_over": f"last {last.window_s:g} s",
        "insights": list(last.insights),
    }


def add_thread_cpu(workers: list[dict[str, Any]], last: Snapshot) -> None:
    """Per worker row: its CPU and each of its threads' over the last window (% of one core)."""
    stats = {w.pid: w for w in last.workers if w.alive}
    for row in workers:
        w = stats.get(row["pid"])
        row["cpu_percent"] = round(w.cpu_percent, 1) if w else 0.0
        row["threads"] = (
            [{"tid": t.tid, "cpu_percent": round(t.cpu_percent, 1)} for t in w.threads] if w else []
        )


def _num(x: float) -> float | None:
    return round(x, 3) if math.isfinite(x) else None


def render_table(r: dict[str, Any]) -> str:
    m, s, p = r["measured"], r["server"], r["predicted"]
    sc = r["scenario"]
    lines = [
        f"scenario  {sc['server']}, {sc['workers']} workers, loop {sc['loop']}, http {sc['http']}, "
        f"tokens {sc['tokens']}, socket {sc['socket']}",
    ]
    if r["load"]:
        ld = r["load"]
        how = f"{ld['users']} users" if ld["mode"] == "closed" else f"open loop {ld['rate']:g} req/s"
        target = f"/{ld['endpoint']}" + ("" if ld["endpoint"] == "hello" else f"?ms={ld['ms']}")
        lines.append(f"load      {target}, {how}, engine {ld['engine']}, connection {ld['connection']}")
        if r.get("load_processes"):
            cpus = ", ".join(f"pid {lp['pid']} {lp['cpu_percent']:.0f}%" for lp in r["load_processes"])
            lines.append(f"load processes  {len(r['load_processes'])} ({cpus} of a core)")
    lines.append(f"measured over {r['duration_s']:.1f} s")
    lines.append("")
    lines.append(f"{'':22}{'measured':>12}{'predicted':>12}")

    def fmt(x: float | None, unit: str = "") -> str:
        return "-" if x is None else f"{x:,.1f}{unit}"

    window = m["last_window"]
    lines.append("throughput req/s")
    lines.append(f"{'  client, whole run':22}{fmt(m['throughput_rps']):>12}{fmt(p['throughput_rps']):>12}")
    lines.append(f"{'  server, whole run':22}{fmt(s['throughput_rps']):>12}")
    last = f"  client, last {window['seconds']:g} s"
    lines.append(f"{last:22}{fmt(window['throughput_rps']):>12}")
    for q in ("p50", "p90", "p99"):
        pred = fmt(p["latency_ms"]) if q == "p50" else ""
        lines.append(f"{'latency ' + q + ' ms':22}{fmt(m['latency_ms'][q]):>12}{pred:>12}")
    lines.append(f"{'requests / errors':22}{m['requests']:>12,}{m['errors']:>12,}")
    if p["limit"]:
        lines.append(f"binding limit: {p['limit']} — {p['explanation']}")
    if p["cpu_speed"] is not None:
        lines.append(describe(p["cpu_speed"], p["client_speed"], p["speed_from"] == "measured"))
    if p.get("others_cores"):
        lines.append(
            f"Other processes used {p['others_cores']:.1f} cores meanwhile: the prediction leaves them out"
        )
    lines.append("client-bound: " + (r["client_bound"] or "no"))
    lines.append(
        f"telemetry: {r['telemetry']['received']:,} records, {r['telemetry']['lost']} datagrams lost"
    )
    lines.append("")
    lines.append("worker      requests   share")
    for w in r["workers"]:
        dead = "" if w["alive"] else "  died during the run"
        lines.append(f"{w['pid']:<10}{w['requests']:>10,}{w['share'] * 100:>7.1f}%{dead}")
    if r["load"] and r["load"]["endpoint"].startswith("cpu/"):
        lines.extend(thread_lines(r["workers"]))
    if len(r.get("phases", ())) > 1:
        lines.append("")
        lines.extend(render_phases(r["phases"]))
    lines.extend(render_events(r))
    if r["insights"]:
        lines.append("")
        lines.append(f"insights (over the {r['insights_over']}):")
        lines.extend(r["insights"])
    return "\n".join(lines)


def thread_lines(workers: list[dict[str, Any]]) -> list[str]:
    """CPU-bound runs: per worker, how many of its threads worked and what they got together."""
    lines = ["", "worker CPU over the last window (% of one core): the whole process, and its threads"]
    for w in workers:
        if not w["threads"]:
            continue
        busy = sum(1 for t in w["threads"] if t["cpu_percent"] >= BUSY_THREAD_PERCENT)
        together = sum(t["cpu_percent"] for t in w["threads"])
        lines.append(
            f"{w['pid']:<10}{w['cpu_percent']:>6.0f} %   {busy} thread{'s' if busy != 1 else ''} working, "
            f"together {together:.0f} %"
        )
    return lines if len(lines) > 2 else []


def render_events(r: dict[str, Any]) -> list[str]:
    """What happened to the processes after the server came up (its first workers' starts left out)."""
    shown = [e for e in r["events"] if not (e["kind"] == "worker_started" and e["detail"] == "boot")]
    if not shown:
        return []
    lines = [
        "",
        f"events (session seconds; measured from {r['measured_from_s']:g} to {r['measured_to_s']:g} s)",
    ]
    for e in shown:
        detail = f"  {e['detail']}" if e["detail"] else ""
        lines.append(f"{e['t']:>8.1f} s  {e['kind'].replace('_', ' ')}  pid {e['pid']}{detail}")
    lines.append(f"workers replaced by the master: {r['restarts']}")
    return lines


def main(argv: list[str]) -> int:
    try:
        args = parse(argv)
    except UsageError as exc:
        return refused("asgiscope run", exc)
    try:
        result = asyncio.run(measure(args))
    except LabError as exc:
        print(f"asgiscope run: the run failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("asgiscope run: interrupted", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.as_json else render_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
