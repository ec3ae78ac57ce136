"""What the store contract suites share: a snowflake generator on a counting clock, and
helpers that make users and tweets through the port."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from starling.domain.ids import SnowflakeGenerator, timestamp_ms
from starling.domain.model import NewUser, Tweet, User
from starling.ports import Store

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


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
