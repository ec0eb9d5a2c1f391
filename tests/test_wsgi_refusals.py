"""Impossible framework / server / worker-class pairs, and async routes under WSGI, refused by the CLI:
exit 2, one sentence naming the flag and what is allowed, nothing started."""

from __future__ import annotations

import subprocess
import sys

import pytest

REFUSED = [
    (["--framework", "flask"], "--server='uvicorn' is not allowed: server must be 'gunicorn' for framework"),
    (
        ["--framework", "flask", "--server", "gunicorn"],
        "--worker-class='uvicorn' is not allowed: worker-class must be 'sync' or 'gthread'",
    ),
    (
        ["--server", "gunicorn", "--worker-class", "gthread"],
        "--worker-class='gthread' is not allowed: worker-class must be 'uvicorn' with framework 'fastapi'",
    ),
    (
        ["--framework", "django", "--worker-class", "sync"],
        "--worker-class='sync' is not allowed: worker-class must be 'uvicorn' with server 'uvicorn'",
    ),
    (
        ["--framework", "django", "--server", "gunicorn", "--worker-class", "sync", "--endpoint", "io/async"],
        "--endpoint='io/async' is not allowed: endpoint must be one of 'hello', 'io/sync', 'cpu/sync'",
    ),
    (
        [
            "--framework",
            "flask",
            "--server",
            "gunicorn",
            "--worker-class",
            "gthread",
            "--at",
            "1:endpoint=cpu/async",
        ],
        "endpoint must be one of 'hello', 'io/sync', 'cpu/sync' under WSGI",
    ),
]


@pytest.mark.parametrize(("argv", "message"), REFUSED)
def test_run_refuses_with_one_sentence_and_exit_2(argv: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asgiscope.server.cli_run", *argv, "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("argv", "message"), REFUSED[:4])
def test_serve_refuses_the_same_pairs(argv: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asgiscope.server.serve", *argv, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
