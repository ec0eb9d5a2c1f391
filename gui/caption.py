"""The caption stamped on an export: the scenario, measured vs predicted throughput, the app version.

Words only, from the Snapshot (no Qt here), so a slide says what it shows without the presenter
typing it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from asgiscope.server.lab.snapshot import Snapshot


def app_version() -> str:
    try:
        return version("asgiscope")
    except PackageNotFoundError:
        return "0+unknown"


def caption(snap: Snapshot) -> str:
    """One line: ``fastapi on uvicorn · 2 workers · io/async 100 ms · 100 users · asyncio · h11 ·
    measured 812 req/s, predicted 1,000 req/s · asgiscope 0.1.0``."""
    sc, load = snap.scenario, snap.load
    server = sc.server if sc.server != "gunicorn" else f"gunicorn ({sc.worker_class})"
    who = f"{load.users} users" if load.mode == "closed" else f"{load.rate:g} req/s offered"
    parts = [
        f"{sc.framework} on {server}",
        f"{sc.workers} worker{'s' if sc.workers != 1 else ''}",
        f"{load.endpoint} {load.ms} ms",
        who,
        sc.loop,
        sc.http,
    ]
    measured = f"measured {snap.client_rps:,.0f} req/s"
    if snap.prediction is not None:
        measured += f", predicted {snap.prediction.throughput_rps:,.0f} req/s"
    parts.append(measured)
    parts.append(f"asgiscope {app_version()}")
    return " · ".join(parts)
