"""Trends through the HTTP API, on both configurations: the ``trends``
consumer counts the hashtags of posted tweets at the time their ids carry, and
``GET /api/starling/v1/trends`` ranks by rise against the baseline at the injected clock's now."""

from __future__ import annotations

import uuid
from typing import Any

from conftest import Harness

MINUTE = 60_000


def token() -> str:
    """A hashtag no other test posts (the scale-out deployment is shared)."""
    return "zq" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:10])


async def trends(starling: Harness) -> list[dict[str, Any]]:
    r = await starling.client.get("/api/starling/v1/trends", params={"limit": 50})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["trends"]
    return found


async def test_a_rising_hashtag_trends_above_an_always_frequent_one(starling: Harness) -> None:
    steady, rising = token(), token()
    alice = await starling.register()
    # Three hours: #steady twice every 5 minutes throughout; #rising 15 times in the
    # last 15 minutes only. By volume in the window, steady beats rising: 22 against 15
    # (the window is the 60 one-minute buckets ending now, so of the 12 posting rounds
    # of the last hour the one exactly 60 minutes ago has just left it).
    for step in range(36):
        await starling.post(alice, f"as every day #{steady}")
        await starling.post(alice, f"still #{steady.upper()}")
        if step >= 33:
            for _ in range(5):
                await starling.post(alice, f"breaking #{rising} now")
        await starling.advance(5 * MINUTE)
    await starling.drain()

    found = {t["name"]: t for t in await trends(starling)}
    names = [name for name in found if name in (f"#{steady}", f"#{rising}")]
    assert names == [f"#{rising}", f"#{steady}"]
    assert found[f"#{rising}"]["tweet_volume"] == 15
    assert found[f"#{steady}"]["tweet_volume"] == 22

    # Two hours later nothing of it is in the window any more.
    await starling.advance(120 * MINUTE)
    names = {t["name"] for t in await trends(starling)}
    assert f"#{rising}" not in names
    assert f"#{steady}" not in names
