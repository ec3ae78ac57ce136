"""``GET /api/starling/v1/stream`` (Server-Sent Events) through the HTTP API, on both
configurations: a followee's (pushed) tweet, a celebrity's (pulled) tweet and a
notification arrive live; ``Last-Event-ID`` replays what was missed; hidden authors
never appear.

Nothing here sleeps: each test reads the stream until the expected event arrives, with
a timeout only as a failure guard.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conftest import TEST_THRESHOLD, Account, Harness, HarnessFactory
from starling.api.app import create_app
from streaming import StreamingASGITransport

GUARD_S = 10.0
"""Failure guard for an event that must arrive (delivery is expected well under 1 s)."""


@dataclass
class Event:
    """One SSE event or comment as a client sees it."""

    event: str | None = None
    id: str | None = None
    data_lines: list[str] = field(default_factory=list)
    comment: str | None = None

    @property
    def data(self) -> Any:
        return json.loads("\n".join(self.data_lines))


class SseReader:
    """Parses a ``text/event-stream`` response into :class:`Event` objects (comments too,
    which SSE client libraries drop: the heartbeat is one)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> Event:
        event = Event()
        async with asyncio.timeout(GUARD_S):
            async for line in self._lines:
                if line == "":
                    if event.event or event.data_lines or event.comment is not None:
                        return event
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    event.comment = value
                elif name == "event":
                    event.event = value
                elif name == "id":
                    event.id = value
                elif name == "data":
                    event.data_lines.append(value)
        raise AssertionError("the stream ended")

    async def next_event(self) -> Event:
        """The next event, skipping comments (heartbeats)."""
        while (event := await self.next()).comment is not None:
            pass
        return event

    async def until(self, kind: str, item_id: str) -> Event:
        """Read until the ``kind`` event with id ``item_id``; the events before it are
        checked by the caller where it matters."""
        while True:
            event = await self.next_event()
            if event.event == kind and event.id == item_id:
                return event


@asynccontextmanager
async def open_stream(
    starling: Harness, who: Account, *, last_event_id: str | None = None
) -> AsyncIterator[SseReader]:
    """Connect ``who``'s stream and wait until it listens (its ``: connected`` comment)."""
    headers = dict(who.headers)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    transport = StreamingASGITransport(create_app(starling.core))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://starling.test") as client,
        client.stream("GET", "/api/starling/v1/stream", headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(response)
        assert (await reader.next()).comment == "connected"
        yield reader


async def test_a_followees_tweet_arrives_on_the_stream(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    await starling.follow(alice, bob)
    async with open_stream(starling, alice) as stream:
        tweet_id = await starling.post(bob, "live from the nest #starling")
        event = await stream.next_event()
    assert event.event == "tweet"
    assert event.id == str(tweet_id)
    assert event.data["id"] == str(tweet_id)
    assert event.data["text"] == "live from the nest #starling"
    assert event.data["user"]["username"] == bob.username
    assert event.data["hashtags"] == ["starling"]
    assert event.data["viewer"] == {"liked": False, "retweeted": False}


async def test_a_celebritys_tweet_arrives_on_the_stream_without_being_pushed(
    starling: Harness,
) -> None:
    celebrity, alice = await starling.register(), await starling.register()
    for fan in [alice, *[await starling.register() for _ in range(TEST_THRESHOLD - 1)]]:
        await starling.follow(fan, celebrity)
    await starling.home_ids(alice)  # alice's cached timeline is present: push would write it
    await starling.drain()
    writes_before = await starling.metric("starling_fanout_timeline_writes_total")
    async with open_stream(starling, alice) as stream:
        tweet_id = await starling.post(celebrity, "hello, all my followers")
        event = await stream.next_event()
    assert (event.event, event.id) == ("tweet", str(tweet_id))
    assert event.data["user"]["username"] == celebrity.username
    await starling.drain()
    # Pulled, not pushed: at most the author's own timeline was written, no follower's.
    writes = await starling.metric("starling_fanout_timeline_writes_total") - writes_before
    assert writes <= 1


async def test_a_deletion_sends_no_event_on_this_stream(starling: Harness) -> None:
    """Deletions are published on the live bus for the Mastodon streams; this stream
    leaves them out (docs/api.md): a client sees a deletion on its next read."""
    alice, bob = await starling.register(), await starling.register()
    await starling.follow(alice, bob)
    async with open_stream(starling, alice) as stream:
        doomed = await starling.post(bob, "soon gone")
        await stream.until("tweet", str(doomed))
        await starling.delete(bob, doomed)
        await starling.drain()  # the deletion's live message was published before the next
        after = await starling.post(bob, "still here")
        event = await stream.next_event()
    assert (event.event, event.id) == ("tweet", str(after))


async def test_a_notification_arrives_on_the_stream(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    async with open_stream(starling, alice) as stream:
        tweet_id = await starling.post(bob, f"hey @{alice.username}")
        event = await stream.next_event()
    assert event.event == "notification"
    assert event.data["type"] == "mention"
    assert event.data["actor"]["username"] == bob.username
    assert event.data["tweet"]["id"] == str(tweet_id)
    assert event.data["read"] is False
    assert event.id == event.data["id"]


async def test_last_event_id_replays_what_was_missed_and_nothing_before(
    starling: Harness,
) -> None:
    alice, bob, carol = [await starling.register() for _ in range(3)]
    await starling.follow(alice, bob)
    async with open_stream(starling, alice) as stream:
        seen = await starling.post(bob, "seen live")
        last = await stream.until("tweet", str(seen))
    missed = await starling.post(bob, "posted while alice was away")
    mention = await starling.post(carol, f"@{alice.username} you missed this")
    await starling.drain()

    async with open_stream(starling, alice, last_event_id=last.id) as stream:
        first, second = await stream.next_event(), await stream.next_event()
        # And live delivery goes on after the replay.
        after = await starling.post(bob, "back online")
        third = await stream.next_event()
    # Oldest first; the tweet seen before the disconnect is not sent again.
    assert (first.event, first.id) == ("tweet", str(missed))
    assert second.event == "notification"
    assert second.data["tweet"]["id"] == str(mention)
    assert (third.event, third.id) == ("tweet", str(after))


async def test_muted_and_blocking_authors_never_appear_on_the_stream(starling: Harness) -> None:
    alice, muted, blocker, friend = [await starling.register() for _ in range(4)]
    for author in (muted, blocker, friend):
        await starling.follow(alice, author)
    r = await starling.client.post(f"/api/starling/v1/users/{muted.id}/mute", headers=alice.headers)
    assert r.status_code == 200
    async with open_stream(starling, alice) as stream:
        await starling.post(muted, "you will not see this")
        await starling.post(muted, f"nor this mention @{alice.username}")
        r = await starling.client.post(
            f"/api/starling/v1/users/{alice.id}/block", headers=blocker.headers
        )
        assert r.status_code == 200
        await starling.post(blocker, "nor this")
        await starling.drain()
        visible = await starling.post(friend, "but this")
        event = await stream.next_event()
    # Everything hidden was published before the friend's tweet: it would have come first.
    assert (event.event, event.id) == ("tweet", str(visible))


async def test_the_stream_needs_a_token_and_a_valid_last_event_id(starling: Harness) -> None:
    r = await starling.client.get("/api/starling/v1/stream")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    alice = await starling.register()
    r = await starling.client.get(
        "/api/starling/v1/stream", headers={**alice.headers, "Last-Event-ID": "not-an-id"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_last_event_id"


async def test_an_idle_stream_sends_heartbeat_comments(make_starling: HarnessFactory) -> None:
    starling = await make_starling(stream_heartbeat_s=0.05)
    alice = await starling.register()
    async with open_stream(starling, alice) as stream:
        beats = [await stream.next() for _ in range(2)]
    assert [b.comment for b in beats] == ["heartbeat", "heartbeat"]
    assert all(b.event is None and b.id is None for b in beats)


@pytest.mark.parametrize("count", [2])
async def test_several_readers_of_one_process_each_get_the_tweet(
    starling: Harness, count: int
) -> None:
    author = await starling.register()
    readers = [await starling.register() for _ in range(count)]
    for reader in readers:
        await starling.follow(reader, author)
    async with (
        open_stream(starling, readers[0]) as first,
        open_stream(starling, readers[1]) as second,
    ):
        tweet_id = await starling.post(author, "to both of you")
        events = [await first.next_event(), await second.next_event()]
    assert [(e.event, e.id) for e in events] == [("tweet", str(tweet_id))] * 2


async def test_a_celebrity_followed_while_connected_is_heard_after_the_next_heartbeat(
    make_starling: HarnessFactory,
) -> None:
    starling = await make_starling(celebrity_threshold=TEST_THRESHOLD, stream_heartbeat_s=0.05)
    celebrity, alice = await starling.register(), await starling.register()
    for _ in range(TEST_THRESHOLD):
        await starling.follow(await starling.register(), celebrity)
    async with open_stream(starling, alice) as stream:
        await starling.follow(alice, celebrity)
        # The channel set is refreshed at each heartbeat, so some heartbeat after the
        # follow makes alice listen; heartbeats already queued may predate the follow.
        # Post after each heartbeat until a tweet arrives (GUARD_S per read still bounds
        # the test: without the refresh no tweet ever would).
        posted: list[int] = []
        event = await stream.next()
        while event.event != "tweet":
            if event.comment == "heartbeat":
                posted.append(await starling.post(celebrity, f"welcome #{len(posted)}"))
            assert len(posted) < 50, "the celebrity's tweets never reached the stream"
            event = await stream.next()
    assert event.id is not None
    assert int(event.id) in posted
