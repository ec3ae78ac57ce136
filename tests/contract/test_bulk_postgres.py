"""``PostgresBulkStore``: COPY-based bulk inserts are idempotent, skip rows naming unknown
users, and ``recount`` recomputes every counter; a small ``load_dataset`` run gives the
same rows on PostgreSQL as on SQLite."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import overload

import pytest
from sqlalchemy import text

import pg
from starling.adapters.postgres.bulk import PostgresBulkStore
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sqlite.bulk import SqliteBulkStore
from starling.adapters.sqlite.store import SqliteStore
from starling.domain import ids
from starling.domain.model import NewUser, Tweet, User
from starling.loading import load_dataset
from starling.ports import Store

CREATED_MS = 1_360_000_000_000


def new_user(user_id: int, name: str | None = None) -> NewUser:
    name = name or f"user{user_id}"
    return NewUser(
        id=user_id,
        username=name,
        display_name=name.title(),
        email=None,
        password_hash=None,
        created_at_ms=CREATED_MS,
    )


def tweet(tweet_id: int, author_id: int, body: str = "hello") -> Tweet:
    return Tweet(id=tweet_id, author_id=author_id, text=body, created_at_ms=CREATED_MS)


class OneShot(Sequence[tuple[int, int, int]]):
    """A sequence that may be iterated once, as ``load_dataset``'s lazily built rows
    should be (building them twice would double the load's work)."""

    def __init__(self, rows: list[tuple[int, int, int]]) -> None:
        self._rows = rows
        self.iterations = 0

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> tuple[int, int, int]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[int, int, int]]: ...

    def __getitem__(
        self, index: int | slice
    ) -> tuple[int, int, int] | Sequence[tuple[int, int, int]]:
        raise AssertionError("rows are to be streamed, not indexed")

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        self.iterations += 1
        assert self.iterations == 1, "rows iterated twice"
        return iter(self._rows)


@pytest.fixture
async def store() -> AsyncIterator[PostgresStore]:
    async with pg.fresh_database_url() as url:
        store = await PostgresStore.open(url, migrate=False)
        yield store
        await store.close()


@pytest.fixture
def bulk(store: PostgresStore) -> PostgresBulkStore:
    return PostgresBulkStore(store.engine)


async def counts(store: Store, user_id: int) -> tuple[int, int, int]:
    user = await store.get_user(user_id)
    assert user is not None
    return (user.followers_count, user.following_count, user.tweets_count)


async def scalar(store: PostgresStore, sql: str) -> object:
    async with store.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


# --- users ---------------------------------------------------------------------------------
async def test_users_are_inserted_once(store: PostgresStore, bulk: PostgresBulkStore) -> None:
    users = [new_user(i) for i in range(1, 101)]
    assert await bulk.bulk_insert_users(users) == 100
    assert await bulk.bulk_insert_users(users) == 0
    assert await bulk.bulk_insert_users([*users, new_user(101)]) == 1
    assert await scalar(store, "SELECT count(*) FROM users") == 101
    user = await store.get_user_by_username("USER7")
    assert user == User(id=7, username="user7", display_name="User7", created_at_ms=CREATED_MS)
    credentials = await store.get_credentials("user7")
    assert credentials is not None
    assert credentials.password_hash is None


async def test_a_taken_username_keeps_its_owner(
    store: PostgresStore, bulk: PostgresBulkStore
) -> None:
    await store.create_user(new_user(1, "Alice"))
    # Another id with the same name (any case) is skipped; the rest of the batch goes in.
    assert await bulk.bulk_insert_users([new_user(2, "alice"), new_user(3, "bob")]) == 1
    alice = await store.get_user_by_username("alice")
    assert alice is not None
    assert alice.id == 1
    assert await store.get_user(2) is None


async def test_duplicates_within_one_call_are_inserted_once(
    store: PostgresStore, bulk: PostgresBulkStore
) -> None:
    # Same id twice, and two ids with one name: the optimistic INSERT meets a unique
    # violation and the call falls back to ON CONFLICT DO NOTHING.
    batch = [new_user(1), new_user(1), new_user(2, "Carol"), new_user(3, "carol")]
    assert await bulk.bulk_insert_users(batch) == 2
    assert await scalar(store, "SELECT count(*) FROM users") == 2
    assert await bulk.bulk_insert_follows([(1, 2, 0), (1, 2, 5), (2, 1, 0)]) == 2
    assert await bulk.bulk_insert_tweets([tweet(10, 1), tweet(10, 1)]) == 1


async def test_empty_batches_insert_nothing(bulk: PostgresBulkStore) -> None:
    assert await bulk.bulk_insert_users([]) == 0
    assert await bulk.bulk_insert_follows([]) == 0
    assert await bulk.bulk_insert_tweets([]) == 0


async def test_a_failing_call_rolls_back_entirely(
    store: PostgresStore, bulk: PostgresBulkStore
) -> None:
    # users.username is VARCHAR(15): the 16-character name fails the COPY.
    batch = [new_user(1), new_user(2, "x" * 16)]
    with pytest.raises(Exception, match="too long"):
        await bulk.bulk_insert_users(batch)
    assert await scalar(store, "SELECT count(*) FROM users") == 0
    assert await bulk.bulk_insert_users([new_user(1)]) == 1  # the connection is usable


# --- follows and tweets ----------------------------------------------------------------------
async def test_follows_are_inserted_once_and_need_both_users(
    store: PostgresStore, bulk: PostgresBulkStore
) -> None:
    await bulk.bulk_insert_users([new_user(i) for i in (1, 2, 3)])
    edges = [(1, 2, 10), (2, 1, 10), (3, 1, 11), (1, 99, 12), (98, 1, 12)]
    assert await bulk.bulk_insert_follows(edges) == 3
    assert await bulk.bulk_insert_follows(edges) == 0
    assert await store.is_following(3, 1)
    assert not await store.is_following(1, 99)
    assert sorted(await store.followee_ids(1)) == [2]
    # Bulk inserts leave counters alone until recount.
    assert await counts(store, 1) == (0, 0, 0)


async def test_follows_are_streamed_once(bulk: PostgresBulkStore) -> None:
    await bulk.bulk_insert_users([new_user(i) for i in range(1, 51)])
    rows = OneShot([(i, j, 0) for i in range(1, 51) for j in range(1, 51) if i != j])
    assert await bulk.bulk_insert_follows(rows) == 50 * 49
    assert rows.iterations == 1


async def test_tweets_are_inserted_once_and_need_their_author(
    store: PostgresStore, bulk: PostgresBulkStore
) -> None:
    await bulk.bulk_insert_users([new_user(1)])
    reply = Tweet(
        id=12,
        author_id=1,
        text="re: ünïcode ✨\nline two",
        created_at_ms=CREATED_MS + 5,
        reply_to_tweet_id=11,
        quote_tweet_id=11,
    )
    batch = [tweet(11, 1), reply, tweet(13, 404)]
    assert await bulk.bulk_insert_tweets(batch) == 2
    assert await bulk.bulk_insert_tweets(batch) == 0
    assert await store.get_tweet(12) == reply
    assert await store.get_tweet(13) is None
    assert await store.tweet_ids_by_authors([1], max_id=None, limit=10) == [12, 11]


# --- recount -----------------------------------------------------------------------------
async def test_recount_sets_every_counter_from_the_rows(
    store: PostgresStore, bulk: PostgresBulkStore
) -> None:
    await bulk.bulk_insert_users([new_user(i) for i in (1, 2, 3, 4)])
    await bulk.bulk_insert_follows([(1, 2, 0), (3, 2, 0), (2, 1, 0), (4, 2, 0)])
    await bulk.bulk_insert_tweets([tweet(10, 2), tweet(11, 2), tweet(12, 3)])
    async with store.engine.begin() as conn:
        # Stale counters, including on a user (4) whose right counts are mostly zero and
        # on one (3) who has no followers: recount must overwrite them all.
        await conn.execute(
            text("UPDATE users SET followers_count = 7, following_count = 7, tweets_count = 7")
        )
    await bulk.recount()
    assert await counts(store, 1) == (1, 1, 0)
    assert await counts(store, 2) == (3, 1, 2)
    assert await counts(store, 3) == (0, 1, 1)
    assert await counts(store, 4) == (0, 1, 0)


async def test_recount_gives_zero_to_users_without_rows_and_is_idempotent(
    store: PostgresStore, bulk: PostgresBulkStore
) -> None:
    await bulk.bulk_insert_users([new_user(1), new_user(2)])
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET followers_count = 3 WHERE id = 2"))
    await bulk.recount()
    assert await counts(store, 2) == (0, 0, 0)
    # xmin names the transaction that last wrote a row: unchanged rows keep theirs.
    before = await scalar(store, "SELECT string_agg(xmin::text, ',' ORDER BY id) FROM users")
    await bulk.recount()
    assert await counts(store, 2) == (0, 0, 0)
    after = await scalar(store, "SELECT string_agg(xmin::text, ',' ORDER BY id) FROM users")
    assert after == before


async def test_recount_matches_the_counts_the_store_keeps(
    store: PostgresStore, bulk: PostgresBulkStore
) -> None:
    """Counters maintained by follow()/insert_tweet() and recomputed by recount agree."""
    await bulk.bulk_insert_users([new_user(i) for i in range(1, 6)])
    generator = ids.SnowflakeGenerator(3, lambda: CREATED_MS)
    for follower, followee in [(1, 2), (2, 3), (3, 1), (4, 1), (5, 1)]:
        assert await store.follow(follower, followee, [])
    for author in (1, 1, 4):
        await store.insert_tweet(tweet(generator.next_id(), author), [])
    kept = {i: await counts(store, i) for i in range(1, 6)}
    await bulk.recount()
    assert {i: await counts(store, i) for i in range(1, 6)} == kept


# --- a whole load --------------------------------------------------------------------------
def _gz(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        fh.write(body)


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_tiny_dataset(root: Path) -> Path:
    """Ten nodes and a dozen tweets in the real files' layout and formats
    (``docs/data.md``), one repeated tweet id among them."""
    edges = [(2, 1), (3, 1), (4, 3), (5, 4), (7, 2), (8, 1), (9, 8), (10, 1), (6, 6)]
    _gz(root / "soc-twitter-follows.edges.gz", "".join(f"{u} {v}\n" for u, v in edges))

    def tid(seconds: int) -> int:
        return ids.compose(CREATED_MS + seconds * 1000, 33, 0)

    _gz(
        root / "crisislex/CrisisLexT6/2013_Tiny-ontopic_offtopic.csv.gz",
        _csv(
            ["tweet id", " tweet", " label"],
            [[f"'{tid(s)}'", f"flood #{s} &amp; more", "on-topic"] for s in range(1, 6)],
        ),
    )
    _gz(
        root / "crisislex/CrisisLexT26/2013_Tiny-tweets_labeled.csv.gz",
        _csv(
            ["Tweet ID", " Tweet Text", " Informativeness"],
            [[str(tid(s)), f"quake {s}", "Related"] for s in (3, 6, 7)],
        ),
    )
    airline_header = ["tweet_id", "airline_sentiment", "name", "text", "tweet_created"]
    _gz(
        root / "twitter-airline-sentiment/Tweets.csv.gz",
        _csv(
            airline_header,
            [
                [str(tid(s)), "negative", name, f"@united bag {s}", "2015-02-24 11:35:52 -0800"]
                for s, name in ((10, "ann"), (11, "ben"), (12, "ann"))
            ],
        ),
    )
    return root


async def _dump(store: Store, user_ids: list[int]) -> tuple[dict[int, User], list[int]]:
    users = await store.get_users(user_ids)
    tweet_ids = await store.tweet_ids_by_authors(user_ids, max_id=None, limit=1000)
    return users, tweet_ids


async def test_load_dataset_gives_the_same_database_as_on_sqlite(
    store: PostgresStore, bulk: PostgresBulkStore, tmp_path: Path
) -> None:
    data = write_tiny_dataset(tmp_path / "data")
    report = await load_dataset(bulk, data, celebrities=True)
    again = await load_dataset(bulk, data, celebrities=True)

    sqlite = SqliteStore(f"sqlite:///{tmp_path}/same.db")
    try:
        expected = await load_dataset(SqliteBulkStore(sqlite.engine), data, celebrities=True)
        async with store.engine.connect() as conn:
            user_ids = list((await conn.execute(text("SELECT id FROM users"))).scalars())
        pg_users, pg_tweets = await _dump(store, user_ids)
        sqlite_users, sqlite_tweets = await _dump(sqlite, user_ids)
        assert pg_users == sqlite_users
        assert pg_tweets == sqlite_tweets
        for user_id in user_ids:
            assert sorted(await store.followee_ids(user_id)) == sorted(
                await sqlite.followee_ids(user_id)
            )
    finally:
        await sqlite.close()

    assert (report.users_inserted, report.follows_inserted, report.tweets_inserted) == (
        expected.users_inserted,
        expected.follows_inserted,
        expected.tweets_inserted,
    )
    assert (report.users_inserted, report.follows_inserted, report.tweets_inserted) == (10, 16, 11)
    assert report.overlay_users_inserted == expected.overlay_users_inserted > 0
    assert report.overlay_follows_inserted == expected.overlay_follows_inserted > 0
    assert (again.users_inserted, again.follows_inserted, again.tweets_inserted) == (0, 0, 0)
    assert (again.overlay_users_inserted, again.overlay_follows_inserted) == (0, 0)
    assert len(pg_users) == report.users_inserted + report.overlay_users_inserted
    for user in pg_users.values():
        assert user.following_count == len(await store.followee_ids(user.id))
