"""``delete`` events on Mastodon's streams: when a status is deleted, the readers who
could have it (the author, followers whose home timeline held it, followers of a
celebrity, whose statuses are pulled) get ``event: delete`` with its id; readers who
hide the author do not. In process over Server-Sent Events (both configurations; on
scale-out the deletion is fanned out by the worker process and crosses Redis), and with
a real WebSocket client against a live server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
from test_mastodon_visibility import GUARD_S, SseEvent, user_stream
from test_streaming import next_event, post, token_of
from websockets.sync.client import connect

from conftest import TEST_THRESHOLD, Harness
from mastodon_live import LiveServer, live_fixture  # noqa: F401


async def next_of(events: AsyncIterator[SseEvent]) -> SseEvent:
    async with asyncio.timeout(GUARD_S):
        return await anext(events)


async def test_a_deleted_status_sends_delete_to_its_author_and_followers(
    starling: Harness,
) -> None:
    author, reader = await starling.register(), await starling.register()
    await starling.follow(reader, author)
    await starling.home_ids(reader)  # a cached timeline, which takes the pushes
    for who in (reader, author):
        async with user_stream(starling, who) as events:
            doomed = await starling.post(author, "soon gone")
            update = await next_of(events)
            assert (update.event, update.status_id) == ("update", doomed)
            await starling.delete(author, doomed)
            deleted = await next_of(events)
            assert (deleted.event, deleted.data) == ("delete", str(doomed))


async def test_a_celebritys_deletion_reaches_followers_on_the_author_channel(
    starling: Harness,
) -> None:
    celebrity, reader = await starling.register(), await starling.register()
    for fan in [reader, *[await starling.register() for _ in range(TEST_THRESHOLD - 1)]]:
        await starling.follow(fan, celebrity)
    await starling.drain()
    async with user_stream(starling, reader) as events:
        doomed = await starling.post(celebrity, "pulled, not pushed")
        assert (await next_of(events)).status_id == doomed
        await starling.delete(celebrity, doomed)
        deleted = await next_of(events)
    assert (deleted.event, deleted.data) == ("delete", str(doomed))


async def test_an_undone_reblog_sends_delete_with_the_reblogs_id(starling: Harness) -> None:
    author, booster, reader = [await starling.register() for _ in range(3)]
    await starling.follow(reader, booster)
    await starling.home_ids(reader)
    original = await starling.post(author, "worth a reblog")
    async with user_stream(starling, reader) as events:
        reblog = await starling.retweet(booster, original)
        update = await next_of(events)
        assert json.loads(update.data)["reblog"]["id"] == str(original)
        r = await starling.client.post(
            f"/api/v1/statuses/{original}/unreblog", headers=booster.headers
        )
        assert r.status_code == 200, r.text
        deleted = await next_of(events)
    assert (deleted.event, deleted.data) == ("delete", str(reblog))


async def test_a_hidden_authors_deletion_is_not_sent(starling: Harness) -> None:
    muted, friend, reader = [await starling.register() for _ in range(3)]
    for followee in (muted, friend):
        await starling.follow(reader, followee)
    doomed = await starling.post(muted, "posted before the mute")
    await starling.mute(reader, muted)
    await starling.drain()
    async with user_stream(starling, reader) as events:
        await starling.delete(muted, doomed)
        await starling.drain()  # its live message, if any, would come before the next
        after = await starling.post(friend, "still here")
        event = await next_of(events)
    assert (event.event, event.status_id) == ("update", after)


def test_the_websocket_stream_sends_delete_events(live: LiveServer) -> None:
    alice, bob = live.register("da"), live.register("db")
    a, b = token_of(live, alice), token_of(live, bob)
    post(live, a, f"/api/v1/accounts/{bob.id}/follow")
    live.drain()
    ws_url = live.base_url.replace("http://", "ws://") + "/api/v1/streaming"
    with connect(f"{ws_url}?access_token={a}&stream=user") as socket:
        status = post(live, b, "/api/v1/statuses", status="about to vanish")
        assert json.loads(next_event(socket)["payload"])["id"] == status["id"]
        r = httpx.delete(
            f"{live.base_url}/api/v1/statuses/{status['id']}",
            headers={"Authorization": f"Bearer {b}"},
        )
        assert r.status_code == 200, r.text
        event = next_event(socket)
    assert event == {"stream": ["user"], "event": "delete", "payload": status["id"]}
