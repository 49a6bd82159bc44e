"""`python -m bot.playground [--port P] [--rate-limit N]`: the fake Bot API alone (bench/)."""

from __future__ import annotations

import argparse
import asyncio

from bot.playground.fake_api import FakeTelegram


async def serve(port: int, rate_limit: int | None) -> None:
    telegram = FakeTelegram(rate_limit=rate_limit)
    print(await telegram.start(port=port), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await telegram.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bot.playground")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--rate-limit", type=int, help="messages a second before 429s")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.rate_limit))
