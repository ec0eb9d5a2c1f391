"""How smooth and how cheap the desktop app is at the load ceiling.

Runs the real app as a subprocess (offscreen unless a display is given) with the heaviest load it
offers: 2,000 closed-loop users on ``/io/async?ms=0`` (every request is telemetry and a client
report), autostarted. After a warm-up it measures, over the steady part of the run:

- GUI frame interval p50/p99 (time between two renders of the plot timer), and render time;
- GUI process CPU % of one core (psutil, the GUI process alone: the Lab's collector and metrics run
  in it, the servers and the load generator do not).

Target: interval p99 <= 33 ms, <= 30 % of a core. Optionally also at a calmer load for contrast.

    .venv/bin/python bench/gui_frames.py [--seconds 20] [--warmup 6] [--fps 60] [--users 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent


def run(
    users: int, ms: int, seconds: float, warmup: float, fps: float, workers: int, extra: list[str]
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        frames = Path(tmp) / "frames.json"
        env = dict(os.environ)
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        cmd = [
            sys.executable, "-m", "asgiscope", "--autostart", "--reset",
            "--settings", str(Path(tmp) / "settings.ini"),
            "--quit-after", str(warmup + seconds + 1.0), "--frame-stats", str(frames),
            "--fps", str(fps), *extra, "--users", str(users), "--ms", str(ms), "--workers", str(workers),
            "--handler", "await", "--work", "io", "--mode", "closed",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            gui = psutil.Process(proc.pid)
            time.sleep(warmup)
            cpu0, wall0 = gui.cpu_times(), time.monotonic()
            time.sleep(seconds)
            cpu1, wall1 = gui.cpu_times(), time.monotonic()
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise SystemExit(f"app exited {proc.returncode}: {err.decode()[-2000:]}")
        data = json.loads(frames.read_text())
    rows = np.array([f for f in data["frames"] if warmup <= f[0] <= warmup + seconds and f[1] == f[1]])
    busy = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "users": users,
        "ms": ms,
        "frames": len(rows),
        "fps": len(rows) / seconds,
        "interval_p50_ms": float(np.percentile(rows[:, 1], 50)),
        "interval_p99_ms": float(np.percentile(rows[:, 1], 99)),
        "interval_max_ms": float(rows[:, 1].max()),
        "render_p50_ms": float(np.percentile(rows[:, 2], 50)),
        "render_p99_ms": float(np.percentile(rows[:, 2], 99)),
        "gui_cpu_percent": 100.0 * busy / (wall1 - wall0),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=6.0)
    p.add_argument("--fps", type=float, default=60.0)
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--ms", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--lab-hz", default="20", help="snapshots per second in the Lab")
    p.add_argument("--calm", action="store_true", help="also measure at the default 100 users x 100 ms")
    args = p.parse_args()
    loads = [(args.users, args.ms)] + ([(100, 100)] if args.calm else [])
    print(f"cores {os.cpu_count()}, fps {args.fps:g}, {args.seconds:g} s after {args.warmup:g} s warm-up")
    for users, ms in loads:
        r = run(users, ms, args.seconds, args.warmup, args.fps, args.workers, ["--lab-hz", args.lab_hz])
        verdict = "ok" if r["interval_p99_ms"] <= 33.0 and r["gui_cpu_percent"] <= 30.0 else "MISSES TARGET"
        print(
            f"{users:5d} users x {ms:3d} ms: {r['fps']:.1f} frames/s, "
            f"interval p50 {r['interval_p50_ms']:.1f} "
            f"p99 {r['interval_p99_ms']:.1f} max {r['interval_max_ms']:.0f} ms; render p50 "
            f"{r['render_p50_ms']:.1f} p99 {r['render_p99_ms']:.1f} ms; GUI CPU {r['gui_cpu_percent']:.0f} % "
            f"of a core  [{verdict}]"
        )
        print(json.dumps(r))


if __name__ == "__main__":
    main()
