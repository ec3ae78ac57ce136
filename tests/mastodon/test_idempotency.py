"""``Idempotency-Key`` on ``POST /api/v1/statuses``: a retry answers the status the first
request created, for an hour, whichever API process it reaches (the key is kept in the
store, not in a process), and concurrent requests with one key post once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from conftest import Account, Harness
from mastodon_live import serve
from scaleout import Deployment

HOUR_MS = 3_600_000


async def post(harness: Harness, user: Account, key: str, text: str = "once") -> dict[str, Any]:
    r = await harness.client.post(
        "/api/v1/statuses",
        json={"status": text},
        headers={**user.headers, "Idempotency-Key": key},
    )
    assert r.status_code == 200, r.text
    status: dict[str, Any] = r.json()
    return status


async def statuses_of(harness: Harness, user: Account) -> list[str]:
    r = await harness.client.get(f"/api/v1/accounts/{user.id}/statuses")
    return [s["id"] for s in r.json()]


def test_a_retry_through_another_api_process_answers_the_same_status(
    scale_out: Deployment, tmp_path: Path
) -> None:
    """Two ``starling serve`` processes of one scale-out deployment (separate OS
    processes: nothing in memory is shared), as behind a load balancer."""
    env = {**scale_out.env, "STARLING_MEDIA_DIR": str(tmp_path / "media")}
    with serve(env, "scale-out") as one, serve(env, "scale-out") as two:
        user = one.register("idem")
        token = one.starling_token(user)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "retry-me"}
        first = httpx.post(
            f"{one.base_url}/api/v1/statuses", data={"status": "once"}, headers=headers
        )
        again = httpx.post(
            f"{two.base_url}/api/v1/statuses", data={"status": "once"}, headers=headers
        )
        assert (first.status_code, again.status_code) == (200, 200), (first.text, again.text)
        assert again.json()["id"] == first.json()["id"]
        listed = httpx.get(f"{two.base_url}/api/v1/accounts/{user.id}/statuses").json()
        assert [s["id"] for s in listed] == [first.json()["id"]]


async def test_a_key_answers_for_an_hour_and_per_user(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    first = await post(starling, alice, "k-1")
    await starling.advance(HOUR_MS - 1)
    assert (await post(starling, alice, "k-1"))["id"] == first["id"]
    theirs = await post(starling, bob, "k-1")  # another user's key of the same name
    assert theirs["id"] != first["id"]
    await starling.advance(2)
    later = await post(starling, alice, "k-1")  # expired: a new status
    assert later["id"] != first["id"]
    assert await statuses_of(starling, alice) == [later["id"], first["id"]]


async def test_concurrent_requests_with_one_key_post_once(starling: Harness) -> None:
    user = await starling.register()
    answers = await asyncio.gather(*[post(starling, user, "racing") for _ in range(4)])
    assert len({a["id"] for a in answers}) == 1
    await starling.drain()
    assert await statuses_of(starling, user) == [answers[0]["id"]]
