"""The engine table: every engine is importable by its string, and choosing one loads only its library."""

from __future__ import annotations

import subprocess
import sys
from typing import get_args

import pytest

from asgiscope.server.load.engines import ENGINES, make_engine
from asgiscope.server.load.errors import classify, status_error
from asgiscope.server.load.spec import Engine


def test_every_engine_choice_has_an_entry() -> None:
    assert set(ENGINES) == set(get_args(Engine))


@pytest.mark.parametrize("name", get_args(Engine))
async def test_make_engine_builds_the_named_engine(name: Engine) -> None:
    engine = make_engine(name)
    try:
        assert engine.name == name
    finally:
        await engine.close()


def modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "module",
    ["asgiscope.server.load.raw_engine", "asgiscope.server.load.engines", "asgiscope.server.load.runner"],
)
def test_the_raw_engine_path_never_imports_aiohttp_or_httpx(module: str) -> None:
    loaded = modules_after_import(module)
    assert module in loaded
    assert not {name for name in loaded if name.split(".")[0] in ("aiohttp", "httpx")}


def test_the_aiohttp_engine_does_import_aiohttp() -> None:
    # The check above can fail: importing an engine that needs its library does load it.
    assert "aiohttp" in modules_after_import("asgiscope.server.load.aiohttp_engine")


def test_error_kinds() -> None:
    assert [status_error(s) for s in (200, 302, 404, 503)] == [None, None, "status_4xx", "status_5xx"]
    table = ((TimeoutError, "timeout"), (ConnectionError, "disconnect"))
    assert classify(TimeoutError(), table) == "timeout"  # first match wins, though it is an OSError too
    assert classify(ConnectionResetError(), table) == "disconnect"
    assert classify(ValueError(), table) == "other"
