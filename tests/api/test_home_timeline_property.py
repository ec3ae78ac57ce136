"""The hybrid home timeline equals the pull-computed reference (the acceptance property).

For random small follow graphs and random posts and retweets, with a celebrity threshold
small enough that some authors are pulled at read time and the others pushed at write
time, every user's home timeline, read page by page, is exactly: the tweets and retweets
of the user and of everyone they follow, newest first, without duplicates or gaps, and
without repeats (a retweet whose original, or another retweet of it, is among the
``REPEAT_WINDOW`` older entries).

One app serves all Hypothesis examples of a test (building one costs about a second);
each example registers users of its own, so examples cannot see each other's tweets:
a tweet leaking from another example would show up as an extra id.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import scaleout
from conftest import (
    FAST_ARGON2,
    TEST_THRESHOLD,
    Account,
    Harness,
    HarnessFactory,
    start_harness,
)
from starling.adapters.clock import ManualClock
from starling.config import load_settings
from starling.domain.feed import REPEAT_WINDOW

THRESHOLD = TEST_THRESHOLD
"""Authors with at least 3 followers are celebrities (pulled); the rest are pushed."""

MAX_USERS = 7
MAX_POSTS = 30

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Scenario:
    users: int
    follows: list[tuple[int, int]]
    """(follower, followee) index pairs, no self-follows."""
    posts: list[tuple[int, int | None]]
    """(author index, None for a tweet or a number picking an earlier post to retweet)
    of each post, in posting order."""
    page_size: int
    early_readers: frozenset[int]
    """Users who read their home timeline after the follows and before the posts."""

    def followers(self, user: int) -> int:
        return sum(1 for _, followee in self.follows if followee == user)


@st.composite
def scenarios(draw: st.DrawFn, *, early_readers: bool) -> Scenario:
    n = draw(st.integers(min_value=2, max_value=MAX_USERS) | st.integers(5, MAX_USERS))
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    # One coin per possible edge: dense enough that 7 users often include celebrities.
    edges = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    follows = [pair for pair, edge in zip(pairs, edges, strict=True) if edge]
    retweet_of = st.none() | st.integers(0, MAX_POSTS)
    posts = draw(st.lists(st.tuples(st.integers(0, n - 1), retweet_of), max_size=MAX_POSTS))
    page_size = draw(st.integers(min_value=1, max_value=7))
    early = draw(st.frozensets(st.integers(0, n - 1))) if early_readers else frozenset()
    return Scenario(n, follows, posts, page_size, early)


async def read_pages(starling: Harness, viewer: Account, limit: int) -> list[list[int]]:
    """Every page of the viewer's home timeline, following cursors to the end."""
    pages: list[list[int]] = []
    cursor: str | None = None
    while True:
        page = await starling.home_page(viewer, cursor=cursor, limit=limit)
        pages.append([int(t["id"]) for t in page["tweets"]])
        assert page["has_more"] is (page["next_cursor"] is not None), page
        if not page["has_more"]:
            return pages
        assert len(pages) <= MAX_POSTS + 1, "the cursor does not advance"
        cursor = page["next_cursor"]


def check_pages(pages: list[list[int]], expected: list[int], limit: int) -> None:
    everything = [i for page in pages for i in page]
    assert everything == expected  # the reference: no gap, nothing extra, in order
    assert len(everything) == len(set(everything))  # no duplicates across pages
    for page in pages:
        assert page == sorted(page, reverse=True)  # newest first within a page
    for earlier, later in itertools.pairwise(pages):
        assert earlier[-1] > later[0]  # and across pages
    # has_more was true on every page but the last: those pages are full, and the
    # last one is not an empty page promised by a has_more that had nothing more.
    assert len(pages) == max(1, math.ceil(len(expected) / limit))
    assert all(len(page) == limit for page in pages[:-1])


async def play(starling: Harness, scenario: Scenario) -> None:
    users = [await starling.register() for _ in range(scenario.users)]
    for follower, followee in scenario.follows:
        await starling.follow(users[follower], users[followee])
    celebrities = {u for u in range(scenario.users) if scenario.followers(u) >= THRESHOLD}
    event(f"celebrities: {len(celebrities)} of {scenario.users}")

    for reader in sorted(scenario.early_readers):
        assert await starling.home_ids(users[reader]) == []

    posted: dict[int, list[int]] = {u: [] for u in range(scenario.users)}
    content: dict[int, int] = {}
    """Entry id → the id of what it shows (the original, for a retweet)."""
    entries: list[int] = []
    for n, (author, pick) in enumerate(scenario.posts):
        if pick is None or not entries:
            entry = await starling.post(users[author], f"post {n} by {author}")
            content[entry] = entry
        else:
            target = entries[pick % len(entries)]
            entry = await starling.retweet(users[author], target)
            if entry in content:
                continue  # the author had retweeted that original already: idempotent
            content[entry] = content[target]
        posted[author].append(entry)
        entries.append(entry)
    await starling.drain()

    cache = starling.core.cache
    for u, viewer in enumerate(users):
        # Early readers are served from their cached timeline, which took the pushes;
        # the others have none and are rebuilt on this first read.
        present = await cache.read(viewer.id, max_id=None, limit=1) is not None
        assert present is (u in scenario.early_readers)
        authors = {u} | {followee for follower, followee in scenario.follows if follower == u}
        timeline = sorted((t for a in authors for t in posted[a]), reverse=True)
        expected = [
            entry
            for i, entry in enumerate(timeline)
            if content[entry] not in {content[t] for t in timeline[i + 1 : i + 1 + REPEAT_WINDOW]}
        ]
        pages = await read_pages(starling, viewer, scenario.page_size)
        check_pages(pages, expected, scenario.page_size)
        # Reading again (now from the cache for everyone) gives the same answer.
        assert [i for page in await read_pages(starling, viewer, 200) for i in page] == expected


@pytest.fixture
async def hybrid(make_starling: HarnessFactory) -> Harness:
    """The embedded Starling, for all examples of a test; timelines hold far more than
    an example posts."""
    return await make_starling(celebrity_threshold=THRESHOLD, timeline_max=1000)


@pytest.fixture
async def scaled_out(scale_out: scaleout.Deployment, clock: ManualClock) -> AsyncIterator[Harness]:
    """The scale-out Starling of ``conftest.starling``: PostgreSQL, Redis, NATS JetStream
    and a fan-out worker in a process of its own."""
    settings = load_settings(scale_out.env, **FAST_ARGON2)
    assert settings.celebrity_threshold == THRESHOLD
    assert settings.timeline_max > MAX_POSTS
    harness = await start_harness(
        settings, clock, run_workers=False, worker_metrics_urls=[scale_out.worker_metrics_url]
    )
    try:
        yield harness
    finally:
        await harness.close()


@SETTINGS
@given(scenario=scenarios(early_readers=False))
async def test_home_timeline_equals_the_pull_reference_when_read_after_the_posts(
    hybrid: Harness, scenario: Scenario
) -> None:
    await play(hybrid, scenario)


@SETTINGS
@given(scenario=scenarios(early_readers=True))
async def test_home_timeline_is_the_same_whether_it_took_pushes_or_was_rebuilt(
    hybrid: Harness, scenario: Scenario
) -> None:
    await play(hybrid, scenario)


@settings(SETTINGS, max_examples=8)  # a post crosses processes here: ~0.5 s an example
@given(scenario=scenarios(early_readers=True))
async def test_scale_out_home_timeline_is_the_same_whether_it_took_pushes_or_was_rebuilt(
    scaled_out: Harness, scenario: Scenario
) -> None:
    await play(scaled_out, scenario)


async def test_author_dropping_below_the_threshold_while_fanout_lags_stays_in_home(
    make_starling: HarnessFactory,
) -> None:
    """A celebrity's tweets are pulled, so a reader's cached timeline lacks them. When
    the author falls below the threshold they are no longer pulled and must be merged
    into the followers' timelines, also when the fan-out worker sees the unfollows late
    (several at once, as with a busy worker or a restart)."""
    hybrid = await make_starling(celebrity_threshold=THRESHOLD)
    star, reader, fan1, fan2 = [await hybrid.register() for _ in range(4)]
    for follower in (reader, fan1, fan2):
        await hybrid.follow(follower, star)
    tweet_id = await hybrid.post(star, "pulled while a celebrity")
    await hybrid.drain()
    assert await hybrid.home_ids(reader) == [tweet_id]  # cached timeline built now

    await hybrid.core.event_log.stop()  # the fan-out worker falls behind
    await hybrid.unfollow(fan1, star)
    await hybrid.unfollow(fan2, star)
    await hybrid.core.event_log.start()
    await hybrid.drain()

    assert await hybrid.home_ids(reader) == [tweet_id]
