import asyncio
import sys

sys.path.insert(0, "bench")
from costs import measure

from asgiscope.server.calibrate import work_seconds
from asgiscope.server.load.spec import LoadSpec
from asgiscope.server.scenario import Scenario


async def main():
    print("work", work_seconds() * 1e3)
    for name, sc, ld in [
        ("sat h11 1w raw", Scenario(workers=1), LoadSpec("hello", 0, users=50)),
        ("sat httptools 1w raw", Scenario(workers=1, http="httptools"), LoadSpec("hello", 0, users=50)),
        ("sat io/async 1ms 1w", Scenario(workers=1), LoadSpec("io/async", 1, users=200)),
        ("sat io/sync 1ms 1w", Scenario(workers=1), LoadSpec("io/sync", 1, users=200)),
        (
            "sat aiohttp 2w",
            Scenario(workers=2, http="httptools"),
            LoadSpec("hello", 0, users=50, engine="aiohttp"),
        ),
        ("sat httpx 2w", Scenario(workers=2), LoadSpec("hello", 0, users=50, engine="httpx")),
        ("sat raw 2w", Scenario(workers=2), LoadSpec("hello", 0, users=50)),
    ]:
        c = await measure(sc, ld, 2, 5)
        print(f"{name:24}{c.rps:>9,.0f}{c.server_us:>9.1f}{c.client_us:>9.1f}{c.lab_us:>8.1f}", flush=True)
    print("work", work_seconds() * 1e3)


asyncio.run(main())
