"""The per-process reader-context cache (docs/decisions/0004): a home read usually runs neither the
followed-celebrities query nor the hidden-authors query; changes made through this
process are seen on the next read, changes it did not see within one TTL.

"Another process" is simulated by writing through ``starling.core.store.inner`` directly,
bypassing the services (and so their invalidation); the scale-out test runs a second
API app on the same deployment to see an invalidation cross processes over Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from test_engagement import counted_statements

from conftest import FAST_ARGON2, TEST_THRESHOLD, Account, Harness, HarnessFactory, start_harness
from scaleout import Deployment
from starling.adapters.caching import AUTHORED_DEPTH, AUTHORED_MAX_AUTHORS, INVALIDATION_CHANNEL
from starling.adapters.clock import ManualClock
from starling.config import load_settings
from starling.ports import LiveSubscription


def ttl_ms(starling: Harness) -> int:
    """The reader-context TTL of ``starling``'s configuration (its default: 600 s
    embedded, 5 s scale-out), in milliseconds."""
    return round(starling.core.settings.reader_cache_ttl * 1000)


GUARD_S = 10.0
"""Failure guard of a wait for a bus message; never reached when the feature works."""


def reader_queries(statements: Sequence[str]) -> list[str]:
    """The followed-celebrities and hidden-authors queries among ``statements``."""
    return [s for s in statements if "followers_count >=" in s or "FROM mutes" in s]


async def _celebrity(starling: Harness) -> Account:
    star = await starling.register()
    for _ in range(TEST_THRESHOLD):
        await starling.follow(await starling.register(), star)
    return star


async def test_a_second_home_read_within_the_ttl_runs_neither_reader_query(
    starling: Harness,
) -> None:
    viewer, friend = await starling.register(), await starling.register()
    star = await _celebrity(starling)
    await starling.follow(viewer, friend)
    await starling.follow(viewer, star)
    posted = [await starling.post(friend, "pushed"), await starling.post(star, "pulled")]
    await starling.drain()
    assert await starling.home_ids(viewer) == posted[::-1]  # builds the cached timeline
    await starling.advance(ttl_ms(starling))  # the reader context expires; the timeline stays

    with counted_statements(starling.core.store.inner) as first:
        assert await starling.home_ids(viewer) == posted[::-1]
    with counted_statements(starling.core.store.inner) as second:
        assert await starling.home_ids(viewer) == posted[::-1]

    assert len(reader_queries(first)) == 2, first
    assert reader_queries(second) == []


async def test_follow_mute_and_block_through_the_api_are_seen_on_the_next_read(
    starling: Harness,
) -> None:
    viewer, friend = await starling.register(), await starling.register()
    star = await _celebrity(starling)
    await starling.follow(viewer, friend)
    from_friend = await starling.post(friend, "ordinary")
    from_star = await starling.post(star, "celebrity")
    await starling.drain()
    assert await starling.home_ids(viewer) == [from_friend]  # cached: no celebrities

    await starling.follow(viewer, star)
    assert await starling.home_ids(viewer) == [from_star, from_friend]

    await starling.mute(viewer, star)
    assert await starling.home_ids(viewer) == [from_friend]
    r = await starling.client.delete(
        f"/api/starling/v1/users/{star.id}/mute", headers=viewer.headers
    )
    assert r.status_code == 200, r.text
    assert await starling.home_ids(viewer) == [from_star, from_friend]

    await starling.block(friend, viewer)  # the other side blocks: the viewer's entry goes too
    assert await starling.home_ids(viewer) == [from_star]


async def test_a_change_this_process_did_not_see_is_seen_once_the_ttl_passed(
    starling: Harness,
) -> None:
    viewer, friend = await starling.register(), await starling.register()
    star = await _celebrity(starling)
    await starling.follow(viewer, friend)
    from_friend = await starling.post(friend, "ordinary")
    from_star = await starling.post(star, "celebrity")
    await starling.drain()
    assert await starling.home_ids(viewer) == [from_friend]

    # Another process follows the celebrity and mutes the friend for the viewer.
    assert await starling.core.store.inner.follow(viewer.id, star.id, [])
    assert await starling.core.store.inner.mute(viewer.id, friend.id, starling.clock.now_ms())

    await starling.advance(ttl_ms(starling) - 1)
    assert await starling.home_ids(viewer) == [from_friend]  # still the cached context
    await starling.advance(1)
    assert await starling.home_ids(viewer) == [from_star]


async def test_a_ttl_of_zero_disables_the_cache(make_starling: HarnessFactory) -> None:
    starling = await make_starling(celebrity_threshold=TEST_THRESHOLD, reader_cache_ttl_s=0)
    viewer, friend = await starling.register(), await starling.register()
    await starling.follow(viewer, friend)
    tweet_id = await starling.post(friend, "ordinary")
    await starling.drain()
    assert await starling.home_ids(viewer) == [tweet_id]

    with counted_statements(starling.core.store.inner) as statements:
        assert await starling.home_ids(viewer) == [tweet_id]
    assert len(reader_queries(statements)) == 2
    assert starling.core.store.kept("celebrities", "hidden", "users", "authored") == 0

    assert await starling.core.store.inner.mute(viewer.id, friend.id, starling.clock.now_ms())
    assert await starling.home_ids(viewer) == []


async def test_follows_and_mutes_work_while_the_bus_is_unreachable(
    make_starling: HarnessFactory,
) -> None:
    # Redis refuses connections: the bus (and the timeline cache) cannot be reached, yet
    # the app starts, changes succeed, and this process's next read reflects them.
    starling = await make_starling(
        celebrity_threshold=TEST_THRESHOLD, redis_url="redis://127.0.0.1:1/0"
    )
    viewer, friend, other = [await starling.register() for _ in range(3)]
    await starling.follow(viewer, friend)
    tweet_id = await starling.post(friend, "ordinary")
    other_id = await starling.post(other, "not followed yet")
    await starling.drain()
    assert await starling.home_ids(viewer) == [tweet_id]

    await starling.follow(viewer, other)
    assert await starling.home_ids(viewer) == [other_id, tweet_id]
    await starling.mute(viewer, friend)
    assert await starling.home_ids(viewer) == [other_id]


class TwoApiProcesses:
    """Two API apps on one scale-out deployment (``here`` and ``there``) and a watch of
    ``here``'s invalidation channel, to see an invalidation cross processes."""

    def __init__(self, here: Harness, there: Harness, watch: LiveSubscription) -> None:
        self.here, self.there, self._watch = here, there, watch
        self._applied = 0.0

    def _remote(self) -> float:
        labels = {"source": "remote"}
        value = self.here.core.metrics.registry.get_sample_value(
            "starling_reader_cache_invalidations_total", labels
        )
        return value or 0.0

    def mark(self) -> None:
        """Remember how many remote invalidations ``here`` has applied so far."""
        self._applied = self._remote()

    async def applied_since_mark(self) -> None:
        """Wait until ``here`` applied an invalidation from ``there`` after :meth:`mark`."""
        async with asyncio.timeout(GUARD_S):
            while self._remote() == self._applied:
                # A message reached this process's bus connection (its own changes, then
                # the other's); the bus woke the cache's listener with it in the same
                # dispatch, so one turn of the loop lets the listener apply it.
                await anext(self._watch)
                await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def two_api_processes(
    scale_out: Deployment, tmp_path: Path
) -> AsyncIterator[TwoApiProcesses]:
    clock = ManualClock()
    settings = load_settings(scale_out.env, media_dir=str(tmp_path / "media"), **FAST_ARGON2)
    here = await start_harness(settings, clock, run_workers=False)
    there = await start_harness(settings, clock, run_workers=False)
    watch = await here.core.live_bus.subscribe([INVALIDATION_CHANNEL])
    try:
        yield TwoApiProcesses(here, there, watch)
    finally:
        await watch.close()
        await there.close()
        await here.close()


async def test_an_invalidation_from_another_api_process_is_applied_without_waiting_for_the_ttl(
    scale_out: Deployment, tmp_path: Path
) -> None:
    async with two_api_processes(scale_out, tmp_path) as apps:
        here = apps.here
        viewer, friend = await here.register(), await here.register()
        await here.follow(viewer, friend)
        tweet_id = await here.post(friend, "ordinary")
        await here.core.event_log.drain(timeout_s=30)
        assert await here.home_ids(viewer) == [tweet_id]
        apps.mark()

        await apps.there.mute(viewer, friend)  # through the other API process
        await apps.applied_since_mark()

        assert await here.home_ids(viewer) == []


def authored_queries(statements: Sequence[str]) -> list[str]:
    """The queries for the newest tweets of given authors among ``statements``."""
    return [s for s in statements if s.startswith("SELECT id FROM tweets WHERE author_id")]


async def test_readers_of_a_celebrity_share_one_read_of_its_newest_tweets(
    starling: Harness,
) -> None:
    star = await _celebrity(starling)
    first, second = await starling.register(), await starling.register()
    await starling.follow(first, star)
    await starling.follow(second, star)
    assert await starling.home_ids(first) == []  # timelines and reader contexts built
    assert await starling.home_ids(second) == []

    posted = await starling.post(star, "news")  # drops the kept ids: seen at once
    assert await starling.home_ids(first) == [posted]
    with counted_statements(starling.core.store.inner) as statements:
        assert await starling.home_ids(second) == [posted]

    assert authored_queries(statements) == [], statements


async def test_a_celebrity_retweet_and_delete_show_on_the_next_read(starling: Harness) -> None:
    star, viewer, other = await _celebrity(starling), *[await starling.register() for _ in range(2)]
    await starling.follow(viewer, star)
    original = await starling.post(other, "worth sharing")
    own = await starling.post(star, "own words")
    assert await starling.home_ids(viewer) == [own]

    retweet = await starling.retweet(star, original)
    assert await starling.home_ids(viewer) == [retweet, own]
    await starling.delete(star, own)
    assert await starling.home_ids(viewer) == [retweet]


async def test_pages_below_the_kept_newest_tweets_come_from_the_store(
    starling: Harness,
) -> None:
    star, viewer = await _celebrity(starling), await starling.register()
    await starling.follow(viewer, star)
    posted = [await starling.post(star, f"number {n}") for n in range(AUTHORED_DEPTH + 30)]
    await starling.drain()

    assert await starling.home_ids(viewer, limit=50) == posted[::-1]
    assert await starling.home_ids(viewer, limit=50) == posted[::-1]  # now from kept ids


async def test_a_celebrity_tweet_posted_through_another_api_process_shows_before_the_ttl(
    scale_out: Deployment, tmp_path: Path
) -> None:
    async with two_api_processes(scale_out, tmp_path) as apps:
        here = apps.here
        star = await _celebrity(here)
        viewer = await here.register()
        await here.follow(viewer, star)
        await here.core.event_log.drain(timeout_s=30)
        assert await here.home_ids(viewer) == []  # the star's (no) tweets kept here
        apps.mark()

        r = await apps.there.client.post(
            "/api/starling/v1/tweets", json={"text": "from there"}, headers=star.headers
        )
        assert r.status_code == 201, r.text
        await apps.applied_since_mark()

        assert await here.home_ids(viewer) == [int(r.json()["id"])]


async def test_a_read_pulling_from_many_authors_is_one_store_query(
    make_starling: HarnessFactory,
) -> None:
    # Every followee pulled (the pull baseline): one query merges them, no kept lists.
    starling = await make_starling(celebrity_threshold=1)
    viewer = await starling.register()
    authors = [await starling.register() for _ in range(AUTHORED_MAX_AUTHORS + 1)]
    for author in authors:
        await starling.follow(viewer, author)
    posted = [await starling.post(author, "hello") for author in authors]
    await starling.drain()
    assert await starling.home_ids(viewer) == posted[::-1]  # timeline and context built

    with counted_statements(starling.core.store.inner) as statements:
        assert await starling.home_ids(viewer) == posted[::-1]

    assert len(authored_queries(statements)) == 1, statements
    assert (
        await starling.metric(
            "starling_reader_cache_lookups_total", 'kind="authored",result="miss"'
        )
        == 0
    )


async def test_a_profile_change_through_another_api_process_shows_before_the_ttl(
    scale_out: Deployment, tmp_path: Path
) -> None:
    async with two_api_processes(scale_out, tmp_path) as apps:
        here = apps.here
        author = await here.register()
        tweet_id = await here.post(author, "hello")
        assert (await here.tweet(tweet_id))["user"]["display_name"] == author.username  # kept
        apps.mark()

        r = await apps.there.client.patch(
            "/api/starling/v1/users/me", json={"display_name": "Renamed"}, headers=author.headers
        )
        assert r.status_code == 200, r.text
        await apps.applied_since_mark()

        assert (await here.tweet(tweet_id))["user"]["display_name"] == "Renamed"
