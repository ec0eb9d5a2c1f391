"""``asgiscope tour``: every step of a tour measured headless, each claim's verdict beside its prediction.

The steps run one after another on one Lab, each through ``asgiscope run``'s own measurement (warm-up,
scripted changes as phases); a phase is judged once the change that began it has settled (the tour's
warm-up). Exit 0 when every step landed within 10 % of its prediction, 1 when one did not (or the run
failed), 2 for a bad flag or a bad tour file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from asgiscope.server.cli_run import RunArgs, measure_on
from asgiscope.server.flags import Parser, UsageError, add_flag, refused
from asgiscope.server.lab.session import Lab, LabError
from asgiscope.server.limits import DURATION_S, PORT, VERDICT_TOLERANCE, WARMUP_S, NotAllowedError
from asgiscope.server.tour import Step, Tour, load_builtin, load_tour
from asgiscope.server.verdict import judge

# A phase shorter than this (a change late in a short step) is reported, not judged: too few requests.
MIN_JUDGED_S = 1.0


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="asgiscope tour", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--tour", metavar="FILE", help="a tour file (TOML) instead of the built-in tour")
    add_flag(p, "step_seconds", DURATION_S, "seconds each step is measured (default: the tour's own)")
    add_flag(
        p, "warmup", WARMUP_S, "seconds of load before each step, and after each change (default: the tour's)"
    )
    add_flag(p, "port", PORT, "port on 127.0.0.1, 0 for any free one", 0)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return p


def parse(argv: list[str]) -> tuple[Tour, argparse.Namespace]:
    ns = build_parser().parse_args(argv)
    try:
        tour = load_tour(ns.tour) if ns.tour else load_builtin()
    except NotAllowedError as exc:
        raise UsageError(str(exc)) from None
    if ns.step_seconds is not None:
        tour = tour.with_step_seconds(ns.step_seconds)
    if ns.warmup is not None:
        tour = Tour(tour.title, tour.steps, tour.source, ns.warmup)
    return tour, ns


async def run_tour(tour: Tour, port: int) -> dict[str, Any]:
    first = tour.steps[0]
    lab = Lab(first.scenario, first.load, port=port)
    results = []
    async with lab:
        for k, step in enumerate(tour.steps, 1):
            print(f"step {k}/{len(tour.steps)}: {step.title}", file=sys.stderr, flush=True)
            args = RunArgs(lab, step.seconds, tour.warmup, False, True, step.changes, settle=tour.warmup)
            try:
                await lab.apply(step.scenario)
                await lab.set_load(step.load)
                results.append(step_result(step, await measure_on(lab, args)))
            except LabError as exc:  # the Lab went back to what ran: the other steps still run
                await lab.stop_load()
                results.append(failed_step(step, str(exc)))
    return {
        "tour": tour.title,
        "source": tour.source,
        "steps": results,
        "all_within": all(r["within"] for r in results),
    }


def step_result(step: Step, run: dict[str, Any]) -> dict[str, Any]:
    """What a step claims, what ran, and the verdict on every phase long enough to judge."""
    phases = []
    for ph in run["phases"]:
        long_enough = ph["to_s"] - ph["from_s"] >= MIN_JUDGED_S
        verdict = judge(ph["measured_rps"], ph["predicted_rps"]) if long_enough else None
        phases.append({**ph, "verdict": verdict.to_dict() if verdict else None})
    judged = [ph["verdict"] for ph in phases if ph["verdict"]]
    p, m = run["predicted"], run["measured"]
    return {
        "title": step.title,
        "caption": step.caption,
        "scenario": run["scenario"],
        "load": run["load"],
        "changes": step.to_dict()["changes"],
        "measured": {
            "throughput_rps": m["throughput_rps"],
            "p50_ms": m["latency_ms"]["p50"],
            "p99_ms": m["latency_ms"]["p99"],
            "errors": m["errors"],
        },
        "predicted": {
            "throughput_rps": p["throughput_rps"],
            "latency_ms": p["latency_ms"],
            "limit": p["limit"],
            "explanation": p["explanation"],
        },
        "phases": phases,
        # judged on every phase: a step whose phases could not be judged has not borne its claim out
        "within": bool(judged) and all(v["within"] for v in judged),
        "insights": run["insights"],
    }


def failed_step(step: Step, why: str) -> dict[str, Any]:
    """A step whose servers could not be brought to its scenario: told, and not borne out."""
    return {**step.to_dict(), "error": why, "phases": [], "within": False}


def render_text(r: dict[str, Any]) -> str:
    steps = r["steps"]
    lines = [f"{r['tour']} ({len(steps)} steps, from {r['source']})"]
    for k, s in enumerate(steps, 1):
        if "error" in s:
            head = f"step {k}/{len(steps)}  {s['title']}   <-- COULD NOT RUN"
            lines += ["", head, f"  why       {s['error']}"]
            continue
        sc, ld, m, p = s["scenario"], s["load"], s["measured"], s["predicted"]
        target = f"/{ld['endpoint']}" + ("" if ld["endpoint"] == "hello" else f"?ms={ld['ms']}")
        lines += [
            "",
            f"step {k}/{len(steps)}  {s['title']}" + ("" if s["within"] else "   <-- MISSED"),
            f"  claim     {s['caption']}",
            f"  scenario  {sc.get('framework', 'fastapi')} on {sc['server']}"
            f" ({sc.get('worker_class', 'uvicorn')} workers), {sc['workers']} workers, tokens {sc['tokens']},"
            f" loop {sc['loop']}, http {sc['http']}, socket {sc['socket']}",
            f"  load      {target}, {ld['users']} users" + "".join(f", then at {c}" for c in s["changes"]),
            f"  latency   p50 {_ms(m['p50_ms'])}, p99 {_ms(m['p99_ms'])}; errors {m['errors']}",
        ]
        for i, ph in enumerate(s["phases"], 1):
            v = ph["verdict"]
            said = v["text"] if v else "too short to judge"
            head = f"  phase {i}" if len(s["phases"]) > 1 else "  verdict "
            lines.append(f"{head}  {ph['from_s']:.1f}-{ph['to_s']:.1f} s: {said}")
        lines.append(f"  because   {p['explanation']}")
    judged = sum(s["within"] for s in steps)
    lines += ["", f"{judged} of {len(steps)} steps within {VERDICT_TOLERANCE:.0%} of their prediction"]
    return "\n".join(lines)


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f} ms"


def main(argv: list[str]) -> int:
    try:
        tour, ns = parse(argv)
    except UsageError as exc:
        return refused("asgiscope tour", exc)
    try:
        result = asyncio.run(run_tour(tour, ns.port))
    except LabError as exc:
        print(f"asgiscope tour: the run failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("asgiscope tour: interrupted", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if ns.json else render_text(result))
    return 0 if result["all_within"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
