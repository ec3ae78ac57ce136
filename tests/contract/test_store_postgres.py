"""The ``Store`` contract on PostgreSQL, plus what only a server with concurrent
connections can get wrong: concurrent migrations, races between callers, and the order
in which outbox positions become visible.

Each test gets a fresh database cloned from a migrated template (``tests/pg.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from test_store_contract import NOW_MS, StoreContract

import pg
import services
from starling.adapters.postgres.store import (
    PostgresStore,
    asyncpg_url,
    create_postgres_engine,
    upgrade_async,
)
from starling.adapters.sql.migrate import alembic_config
from starling.backends import is_postgres_url
from starling.domain.events import Followed, TweetDeleted
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import User
from starling.ports import BackendUnavailable

CONCURRENT_CALLERS = 8
"""Callers racing in the concurrency tests: each takes its own pooled connection (the
store's pool keeps 10), so their statements interleave on the server."""


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


# --- URLs (no server needed) ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        ),
        ("postgres://u:p%40ss@db/x", "postgresql+asyncpg://u:p%40ss@db/x"),
        ("postgresql+asyncpg://h/db?ssl=require", "postgresql+asyncpg://h/db?ssl=require"),
    ],
)
def test_postgres_urls_are_converted_to_the_asyncpg_dialect(url: str, expected: str) -> None:
    assert asyncpg_url(url) == expected
    assert is_postgres_url(url)


@pytest.mark.parametrize(
    "url", ["sqlite:///./starling.db", "postgresql+psycopg://h/db", "mysql://h/db", "nonsense"]
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        asyncpg_url(url)
    assert not is_postgres_url(url)


async def test_opening_a_server_that_does_not_answer_raises_backend_unavailable() -> None:
    # Port 1 (tcpmux) is closed on any machine that runs these tests: refused at once.
    with pytest.raises(BackendUnavailable):
        await PostgresStore.open("postgresql://postgres@127.0.0.1:1/test")


# --- migrations ----------------------------------------------------------------------------
@pytest.fixture
async def empty_database_url() -> AsyncIterator[str]:
    """A database without any table, dropped after the test."""
    services.require("postgresql")
    name = await pg.empty_database()
    try:
        yield pg.database_url(name)
    finally:
        await pg.drop_database(name)


async def test_open_migrates_an_empty_database_to_head(empty_database_url: str) -> None:
    store = await PostgresStore.open(empty_database_url)
    try:
        async with store.engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        assert version == head_revision()
        await store.ping()
    finally:
        await store.close()


async def test_outbox_and_dead_letter_ids_are_generated_by_sequences(
    empty_database_url: str,
) -> None:
    store = await PostgresStore.open(empty_database_url)
    try:
        async with store.engine.connect() as conn:
            for table, column in (("outbox", "position"), ("dead_letters", "id")):
                sequence = (
                    await conn.execute(
                        text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": column}
                    )
                ).scalar()
                assert sequence is not None, f"{table}.{column} does not autoincrement"
    finally:
        await store.close()


async def test_several_processes_can_migrate_the_same_database_at_once(
    empty_database_url: str,
) -> None:
    # Separate engines are separate server sessions, exactly as separate processes are.
    engines = [create_postgres_engine(empty_database_url, pool_size=1) for _ in range(4)]
    try:
        await asyncio.gather(*(upgrade_async(engine) for engine in engines))
        await asyncio.gather(*(upgrade_async(engine) for engine in engines))  # at head: no-op
        async with engines[0].connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert [v for (v,) in versions] == [head_revision()]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_open_without_migrate_only_checks_the_connection(empty_database_url: str) -> None:
    store = await PostgresStore.open(empty_database_url, migrate=False)
    try:
        async with store.engine.connect() as conn:
            tables = (
                await conn.execute(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalar()
        assert tables == 0
    finally:
        await store.close()


# --- the contract -------------------------------------------------------------------------
class TestPostgresStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[PostgresStore]:
        async with pg.fresh_database_url() as url:
            store = await PostgresStore.open(url, migrate=False)
            yield store
            await store.close()

    # --- PostgreSQL specifics ------------------------------------------------------------
    async def test_a_taken_username_is_reported_through_sqlalchemys_integrity_error(
        self, store: PostgresStore, ids: SnowflakeGenerator
    ) -> None:
        from sqlalchemy.exc import IntegrityError

        from starling.domain.errors import UsernameTaken

        await self.user(store, ids, "carol")
        with pytest.raises(UsernameTaken) as caught:
            await self.user(store, ids, "CAROL")
        cause = caught.value.__cause__
        assert isinstance(cause, IntegrityError)
        assert isinstance(cause.orig.__cause__, asyncpg.UniqueViolationError)  # type: ignore[union-attr]

    async def test_a_rolled_back_transaction_writes_nothing(
        self, store: PostgresStore, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids, "alice")

        async def change_then_fail() -> None:
            async with store.db.begin() as conn:
                await conn.execute(text("UPDATE users SET bio = 'changed'"))
                raise RuntimeError("abort")

        with pytest.raises(RuntimeError):
            await change_then_fail()
        assert (await self.fresh(store, alice)).bio == ""

    # --- concurrent callers ---------------------------------------------------------------
    @staticmethod
    async def warm_pool(store: PostgresStore) -> None:
        """Open ``CONCURRENT_CALLERS`` pooled connections up front: on a cold pool each
        caller spends its first milliseconds connecting, which staggers them so much that
        races rarely happen; on a warm one their statements interleave every time."""

        async def hold() -> None:
            async with store.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0.05)

        await asyncio.gather(*(hold() for _ in range(CONCURRENT_CALLERS)))

    async def test_concurrent_set_meta_if_absent_agree_on_one_value(
        self, store: PostgresStore
    ) -> None:
        await self.warm_pool(store)
        values = await asyncio.gather(
            *(store.set_meta_if_absent("token_secret", f"v{i}") for i in range(CONCURRENT_CALLERS))
        )
        assert len(set(values)) == 1
        assert await store.get_meta("token_secret") == values[0]

    async def test_concurrent_creations_of_one_username_let_exactly_one_win(
        self, store: PostgresStore, ids: SnowflakeGenerator
    ) -> None:
        from starling.domain.errors import UsernameTaken

        await self.warm_pool(store)
        results = await asyncio.gather(
            *(self.user(store, ids, "Dave") for _ in range(CONCURRENT_CALLERS)),
            return_exceptions=True,
        )
        assert sum(isinstance(r, User) for r in results) == 1
        assert sum(isinstance(r, UsernameTaken) for r in results) == CONCURRENT_CALLERS - 1

    async def test_concurrent_identical_follows_create_and_count_one_edge(
        self, store: PostgresStore, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        await self.warm_pool(store)
        results = await asyncio.gather(
            *(self.follow(store, ids, alice, bob) for _ in range(CONCURRENT_CALLERS))
        )
        assert sorted(results) == [False] * (CONCURRENT_CALLERS - 1) + [True]
        assert (await self.fresh(store, bob)).followers_count == 1
        assert (await self.fresh(store, alice)).following_count == 1
        assert len(await self.events(store)) == 1

    async def test_concurrent_deletes_of_one_tweet_count_it_once(
        self, store: PostgresStore, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        tweet, _ = await self.tweet(store, ids, alice)
        head = await store.outbox_head()
        await self.warm_pool(store)

        def deleted() -> list[TweetDeleted]:
            return [
                TweetDeleted(
                    event_id=ids.next_id(),
                    occurred_at_ms=NOW_MS,
                    tweet_id=tweet.id,
                    author_id=alice.id,
                )
            ]

        results = await asyncio.gather(
            *(store.delete_tweet(tweet.id, deleted()) for _ in range(CONCURRENT_CALLERS))
        )
        assert sorted(results) == [False] * (CONCURRENT_CALLERS - 1) + [True]
        assert (await self.fresh(store, alice)).tweets_count == 0
        assert len(await self.events(store, head)) == 1

    async def test_concurrent_first_positions_of_one_group_do_not_fail(
        self, store: PostgresStore
    ) -> None:
        await self.warm_pool(store)
        await asyncio.gather(
            *(store.set_consumer_position("fanout", i) for i in range(1, CONCURRENT_CALLERS + 1))
        )
        assert 1 <= await store.consumer_position("fanout") <= CONCURRENT_CALLERS

    async def test_an_outbox_reader_never_skips_a_position_that_commits_late(
        self, store: PostgresStore, ids: SnowflakeGenerator
    ) -> None:
        """A transaction that took its outbox position first but commits last must not
        be hidden from a reader that already moved past the positions after it."""
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        follow_sent = asyncio.Event()

        async def slow_writer() -> None:
            # The store's own write path, held open between the outbox insert and commit.
            async with store.db.begin() as conn:
                await store._write_events(conn, [self._followed(ids, alice, bob)])
                follow_sent.set()
                await asyncio.sleep(0.3)

        writer = asyncio.create_task(slow_writer())
        await follow_sent.wait()
        fast = asyncio.create_task(self.tweet(store, ids, bob))
        await asyncio.sleep(0.1)  # the fast writer commits now, unless it must wait its turn
        seen = await store.outbox_after(0, 100)
        last = seen[-1].position if seen else 0
        await writer
        await fast
        later = await store.outbox_after(last, 100)
        assert len(seen) + len(later) == 2
        positions = [r.position for r in [*seen, *later]]
        assert positions == sorted(positions)

    @staticmethod
    def _followed(ids: SnowflakeGenerator, follower: User, followee: User) -> Followed:
        return Followed(
            event_id=ids.next_id(),
            occurred_at_ms=NOW_MS,
            follower_id=follower.id,
            followee_id=followee.id,
        )
