"""`python -m fakegram [PORT]`: run the fake Bot API alone, for manual runs against it."""

from __future__ import annotations

import asyncio
import sys

from fakegram.server import FakeTelegram


async def serve(port: int) -> None:
    telegram = FakeTelegram()
    print(await telegram.start(port=port), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await telegram.stop()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 8081))
