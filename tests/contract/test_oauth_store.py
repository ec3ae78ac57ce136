"""The ``OAuthStore`` part of the ``Store`` port (client applications, single-use
authorization codes) and the bookmark flags of a page, on SQLite and PostgreSQL, and
through the caching store that every service uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from store_fixtures import NOW_MS, StoreFixtures, caching

import pg
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sqlite.store import SqliteStore
from starling.domain.events import TweetPosted
from starling.domain.ids import SnowflakeGenerator
from starling.domain.oauth import AuthorizationCode, OAuthApp, digest
from starling.ports import Store


def an_app(ids: SnowflakeGenerator, client_id: str = "client-1") -> OAuthApp:
    return OAuthApp(
        id=ids.next_id(),
        client_id=client_id,
        secret_digest=digest("secret"),
        name="Test app",
        website=None,
        redirect_uris=("urn:ietf:wg:oauth:2.0:oob", "https://app.example/cb"),
        scopes=("read", "write:statuses"),
        created_at_ms=NOW_MS,
    )


def a_code(code: str, *, user_id: int, expires_at_ms: int = NOW_MS + 60_000) -> AuthorizationCode:
    return AuthorizationCode(
        code_digest=digest(code),
        client_id="client-1",
        user_id=user_id,
        redirect_uri="https://app.example/cb",
        scopes=("read",),
        challenge="c" * 43,
        challenge_method="S256",
        expires_at_ms=expires_at_ms,
    )


class OAuthStoreContract(StoreFixtures):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> Store:
        raise NotImplementedError

    async def test_an_app_is_found_by_its_client_id(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        app = an_app(ids)
        await store.add_oauth_app(app)
        assert await store.get_oauth_app("client-1") == app
        assert await store.get_oauth_app("client-2") is None

    async def test_a_code_is_taken_once(self, store: Store, ids: SnowflakeGenerator) -> None:
        user = await self.user(store, ids)
        code = a_code("abc", user_id=user.id)
        await store.add_oauth_code(code, NOW_MS)
        assert await store.take_oauth_code(digest("abc")) == code
        assert await store.take_oauth_code(digest("abc")) is None
        assert await store.take_oauth_code(digest("never granted")) is None

    async def test_of_concurrent_takes_one_gets_the_code(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        user = await self.user(store, ids)
        await store.add_oauth_code(a_code("race", user_id=user.id), NOW_MS)
        taken = await asyncio.gather(*(store.take_oauth_code(digest("race")) for _ in range(5)))
        assert sum(t is not None for t in taken) == 1

    async def test_granting_a_code_forgets_expired_ones(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        user = await self.user(store, ids)
        await store.add_oauth_code(a_code("old", user_id=user.id, expires_at_ms=NOW_MS), NOW_MS)
        await store.add_oauth_code(a_code("new", user_id=user.id), NOW_MS + 1)
        assert await store.take_oauth_code(digest("old")) is None
        assert await store.take_oauth_code(digest("new")) is not None

    async def test_bookmarked_ids_are_those_of_the_page_the_user_bookmarked(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        tweets = [self.tweet_row(ids, alice, f"t{i}") for i in range(3)]
        for t in tweets:
            event = TweetPosted(
                event_id=ids.next_id(), occurred_at_ms=NOW_MS, tweet_id=t.id, author_id=alice.id
            )
            await store.insert_tweet(t, [event])
        await store.bookmark(bob.id, tweets[0].id, ids.next_id(), NOW_MS)
        await store.bookmark(bob.id, tweets[2].id, ids.next_id(), NOW_MS)
        await store.bookmark(alice.id, tweets[1].id, ids.next_id(), NOW_MS)
        page = [t.id for t in tweets]
        assert await store.bookmarked_ids(bob.id, page) == {tweets[0].id, tweets[2].id}
        assert await store.bookmarked_ids(bob.id, page[1:2]) == set()
        assert await store.bookmarked_ids(bob.id, []) == set()


class TestSqliteOAuthStore(OAuthStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/o.db")
        yield store
        await store.close()


class TestCachingOAuthStore(OAuthStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[Store]:
        inner = SqliteStore(f"sqlite:///{tmp_path}/c.db")
        yield caching(inner, threshold=3)
        await inner.close()


@pytest.mark.services
class TestPostgresOAuthStore(OAuthStoreContract):
    WORKER_ID = 9

    @pytest.fixture
    async def store(self) -> AsyncIterator[PostgresStore]:
        async with pg.fresh_database_url() as url:
            store = await PostgresStore.open(url, migrate=False)
            yield store
            await store.close()
