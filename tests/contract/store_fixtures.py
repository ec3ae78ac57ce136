"""What the store contract suites share: a snowflake generator on a counting clock, and
helpers that make users and tweets through the port."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from starling.adapters.caching import CachingStore
from starling.adapters.clock import ManualClock
from starling.adapters.memory.live_bus import MemoryLiveBus
from starling.adapters.memory.tweet_cache import MemoryTweetCache
from starling.domain.feed import ThresholdPolicy
from starling.domain.ids import SnowflakeGenerator, timestamp_ms
from starling.domain.model import NewUser, Tweet, User
from starling.metrics import Metrics
from starling.ports import Store

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


CACHING_THRESHOLDS = (0, 3)
"""Celebrity thresholds the caching store runs the contracts with: 0 makes every author
pulled (every read of up to 16 authors' ids comes from kept ids, every tweet drops
them); 3 is a threshold the celebrity-followee test asks for, so that answer is kept."""


def caching(store: Store, *, threshold: int) -> CachingStore:
    """``store`` behind the caching layer as a process wraps it, on a clock that does not
    move (nothing expires: every answer after a write must come from an invalidation)."""
    return CachingStore(
        store,
        tweet_cache=MemoryTweetCache(),
        bus=MemoryLiveBus(),
        clock=ManualClock(NOW_MS),
        metrics=Metrics(),
        policy=ThresholdPolicy(threshold),
        reader_ttl_s=600,
        counts_ttl_s=600,
    )


class StoreFixtures:
    """Mixed into each ``*StoreContract`` class; ``WORKER_ID`` tells the suites' ids apart."""

    WORKER_ID = 7

    @pytest.fixture
    def ids(self) -> SnowflakeGenerator:
        ms = itertools.count(NOW_MS)
        clock: Callable[[], int] = lambda: next(ms)  # noqa: E731 - a new ms per id
        return SnowflakeGenerator(self.WORKER_ID, clock)

    _names = itertools.count(1)

    async def user(
        self, store: Store, ids: SnowflakeGenerator, username: str | None = None, **fields: object
    ) -> User:
        """A new user (a password hash and email unless ``fields`` say otherwise)."""
        name = username or f"u{next(self._names)}"
        values: dict[str, object] = {
            "id": ids.next_id(),
            "username": name,
            "display_name": name.title(),
            "email": f"{name}@example.org",
            "password_hash": "$argon2id$fake",
            "created_at_ms": NOW_MS,
            **fields,
        }
        return await store.create_user(NewUser(**values))  # type: ignore[arg-type]

    @staticmethod
    def tweet_row(ids: SnowflakeGenerator, author: User, text: str = "hi", **refs: int) -> Tweet:
        """A tweet by ``author`` not yet stored (``refs``: reply/quote/retweet ids)."""
        tweet_id = ids.next_id()
        return Tweet(
            id=tweet_id,
            author_id=author.id,
            text=text,
            created_at_ms=timestamp_ms(tweet_id),
            **refs,
        )
