"""Hybrid fan-out through the HTTP API: push, pull, inactivity, removal, crash recovery."""

from __future__ import annotations

import asyncio

import pytest

from conftest import Account, Harness, HarnessFactory
from starling.adapters.outbox_event_log import OutboxEventLog
from starling.domain.feed import DAY_MS
from starling.workers import consumers

WRITES = "starling_fanout_timeline_writes_total"


async def _followed_by(starling: Harness, author: Account, n: int) -> list[Account]:
    """``n`` new users who follow ``author`` and have read their home timeline (active)."""
    fans = [await starling.register() for _ in range(n)]
    for fan in fans:
        await starling.follow(fan, author)
        await starling.home_ids(fan)
    return fans


async def test_ordinary_author_tweet_is_pushed_to_each_active_follower(starling: Harness) -> None:
    author = await starling.register()
    fans = await _followed_by(starling, author, 2)  # threshold is 3: ordinary author
    before = await starling.metric(WRITES)

    tweet_id = await starling.post(author, "pushed")
    await starling.drain()

    assert await starling.metric(WRITES) - before == 2  # the author's own timeline is absent
    for fan in fans:
        assert await starling.core.cache.read(fan.id, max_id=None, limit=5) == [tweet_id]
        assert await starling.home_ids(fan) == [tweet_id]


async def test_celebrity_tweet_is_merged_at_read_not_pushed(starling: Harness) -> None:
    celebrity = await starling.register()
    fans = await _followed_by(starling, celebrity, 4)  # threshold is 3: a celebrity
    before = await starling.metric(WRITES)

    tweet_id = await starling.post(celebrity, "pulled")
    # Visible at once, before any worker ran: the read path pulls it.
    for fan in fans:
        assert await starling.home_ids(fan) == [tweet_id]
    await starling.drain()

    assert await starling.metric(WRITES) - before == 0
    for fan in fans:
        assert await starling.core.cache.read(fan.id, max_id=None, limit=5) == []


async def test_inactive_follower_is_skipped_then_rebuilt_on_read(starling: Harness) -> None:
    author = await starling.register()
    (active,) = await _followed_by(starling, author, 1)
    (idle,) = await _followed_by(starling, author, 1)
    rebuilds = await starling.metric("starling_timeline_rebuilds_total")

    await starling.advance(8 * DAY_MS)
    await starling.home_ids(active)  # still reading: stays active (rebuilt once)
    before = await starling.metric(WRITES)
    tweet_id = await starling.post(author, "while idle was away")
    await starling.drain()

    assert await starling.metric(WRITES) - before == 1  # only the active follower
    assert await starling.core.cache.read(idle.id, max_id=None, limit=5) is None
    assert await starling.home_ids(idle) == [tweet_id]
    assert await starling.metric("starling_timeline_rebuilds_total") - rebuilds == 2
    assert await starling.metric("starling_timeline_reads_total", 'source="rebuild"') >= 1


async def test_concurrent_reads_of_a_missing_timeline_share_one_rebuild(
    starling: Harness,
) -> None:
    reader, author = await starling.register(), await starling.register()
    await starling.follow(reader, author)
    tweet_id = await starling.post(author, "before the reader ever came")
    await starling.drain()
    before = await starling.metric("starling_timeline_rebuilds_total")

    pages = await asyncio.gather(*(starling.home_page(reader) for _ in range(5)))

    assert [[int(t["id"]) for t in p["tweets"]] for p in pages] == [[tweet_id]] * 5
    assert await starling.metric("starling_timeline_rebuilds_total") - before == 1


async def test_follow_backfills_and_unfollow_removes(starling: Harness) -> None:
    reader, author = await starling.register(), await starling.register()
    await starling.home_ids(reader)
    old = await starling.post(author, "written before the follow")
    await starling.drain()

    await starling.follow(reader, author)
    assert await starling.home_ids(reader) == [old]

    await starling.unfollow(reader, author)
    assert await starling.home_ids(reader) == []
    newer = await starling.post(author, "after the unfollow")
    await starling.drain()
    assert newer not in await starling.home_ids(reader)


async def test_unfollowing_a_celebrity_removes_their_tweets(starling: Harness) -> None:
    celebrity = await starling.register()
    fans = await _followed_by(starling, celebrity, 4)
    tweet_id = await starling.post(celebrity, "pulled")
    assert await starling.home_ids(fans[0]) == [tweet_id]

    await starling.unfollow(fans[0], celebrity)

    assert await starling.home_ids(fans[0]) == []
    assert await starling.home_ids(fans[1]) == [tweet_id]


async def test_unfollow_removes_tweets_pushed_before_the_author_became_pulled(
    make_starling: HarnessFactory,
) -> None:
    """An entry pushed while the author was ordinary stays in the cached timeline while
    the author, now pulled, writes more than ``timeline_max`` tweets that are not
    pushed; unfollowing must still remove it (not only the author's newest ids)."""
    starling = await make_starling(celebrity_threshold=3, timeline_max=2)
    reader, author = await starling.register(), await starling.register()
    await starling.follow(reader, author)
    await starling.home_ids(reader)  # cached
    early = await starling.post(author, "pushed while ordinary")
    await starling.drain()
    await _followed_by(starling, author, 3)  # four followers: pulled from now on
    later = [await starling.post(author, f"pulled {i}") for i in range(2)]
    await starling.drain()
    assert await starling.core.cache.read(reader.id, max_id=None, limit=5) == [early]
    assert await starling.home_ids(reader) == [*later[::-1], early]

    await starling.unfollow(reader, author)  # three followers left: still pulled
    await starling.drain()

    assert await starling.core.cache.read(reader.id, max_id=None, limit=5) == []
    assert await starling.home_ids(reader) == []


async def test_deleted_tweet_leaves_every_home_timeline(starling: Harness) -> None:
    author = await starling.register()
    fans = await _followed_by(starling, author, 2)
    kept = await starling.post(author, "kept")
    doomed = await starling.post(author, "doomed")
    await starling.drain()
    assert await starling.home_ids(fans[0]) == [doomed, kept]

    await starling.delete(author, doomed)
    # Filtered at read at once, and removed from the caches by the worker.
    assert await starling.home_ids(fans[1]) == [kept]
    await starling.drain()
    for fan in fans:
        assert await starling.core.cache.read(fan.id, max_id=None, limit=5) == [kept]
        assert await starling.home_ids(fan) == [kept]


@pytest.mark.embedded_only("restarts the embedded outbox consumer in-process")
async def test_crash_between_commit_and_fanout_still_delivers_after_restart(
    starling: Harness,
) -> None:
    author = await starling.register()
    (fan,) = await _followed_by(starling, author, 1)
    await starling.drain()
    await starling.core.event_log.stop()  # the worker dies before it runs

    tweet_id = await starling.post(author, "committed, not yet fanned out")
    assert await starling.core.cache.read(fan.id, max_id=None, limit=5) == []
    assert await starling.core.event_log.pending() == 1

    restarted = OutboxEventLog(starling.core.store, starling.core.metrics)
    restarted.subscribe(consumers.FANOUT, starling.core.feed.handle)
    await restarted.start()
    try:
        await restarted.drain()
        assert await starling.core.cache.read(fan.id, max_id=None, limit=5) == [tweet_id]
        assert await restarted.pending() == 0
    finally:
        await restarted.stop()


async def test_outbox_survives_a_process_restart(make_starling: HarnessFactory) -> None:
    first = await make_starling(celebrity_threshold=3)
    author = await first.register()
    await first.drain()
    await first.core.event_log.stop()
    await first.post(author, "posted just before the crash")
    assert await first.core.event_log.pending() == 1

    second = await make_starling(celebrity_threshold=3)  # same database file
    await second.drain()

    assert await second.core.event_log.pending() == 0
    assert await second.metric("starling_fanout_lag_seconds_count") == 1


async def test_home_pages_mix_pushed_and_pulled_without_duplicates(starling: Harness) -> None:
    reader = await starling.register()
    ordinary, celebrity = await starling.register(), await starling.register()
    await _followed_by(starling, celebrity, 3)
    await starling.follow(reader, ordinary)
    await starling.follow(reader, celebrity)
    await starling.home_ids(reader)
    posted = []
    for i in range(9):
        posted.append(await starling.post(ordinary if i % 2 else celebrity, f"tweet {i}"))
    await starling.drain()

    pages, cursor = [], None
    while True:
        page = await starling.home_page(reader, cursor=cursor, limit=4)
        pages.append([int(t["id"]) for t in page["tweets"]])
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]

    assert pages == [posted[::-1][0:4], posted[::-1][4:8], posted[::-1][8:]]
