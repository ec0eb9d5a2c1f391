"""Every load engine against gunicorn's sync worker, which closes the connection after every response:
each request reconnects and none counts as an error; the raw engine lets the server close first."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys

import pytest

from asgiscope.server.launch import ServerTree
from asgiscope.server.load.engines import make_engine
from asgiscope.server.load.spec import Engine
from asgiscope.server.scenario import Scenario

SYNC = Scenario(server="gunicorn", framework="flask", worker_class="sync", workers=2)


def client_time_waits(port: int) -> int:
    """Our side's TIME_WAIT sockets towards the server port (Linux ``ss``)."""
    out = subprocess.run(
        ["ss", "-tanH", "state", "time-wait", f"dport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return len(out.splitlines())


@pytest.mark.parametrize("name", ["raw", "aiohttp", "httpx"])
async def test_each_request_reconnects_without_an_error(name: Engine) -> None:
    tree = ServerTree(SYNC)
    await tree.start()
    engine = make_engine(name)
    try:
        url = f"{tree.url}/hello"

        async def user(slot: int) -> list[int]:
            return [await engine.get(slot, url) for _ in range(40)]

        statuses = [s for per_user in await asyncio.gather(*(user(i) for i in range(6))) for s in per_user]
        assert statuses == [200] * 240
        await asyncio.sleep(0.3)  # the servers' FINs arrive; asyncio closes on EOF
        if name == "raw" and sys.platform == "linux" and shutil.which("ss"):
            # Closing at once would race the server's FIN and leave TIME_WAIT here as well (hundreds).
            assert client_time_waits(tree.port) <= 6
    finally:
        await engine.close()
        await tree.stop()
