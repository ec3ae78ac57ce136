"""``starling load`` on small synthetic data files in the formats of docs/data.md."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress

from starling.adapters.sqlite.bulk import SqliteBulkStore
from starling.adapters.sqlite.search import SqliteSearchIndex
from starling.adapters.sqlite.store import SqliteStore
from starling.domain import ids
from starling.domain.model import NewUser, User
from starling.loading import DataFileMissing, LoadError, LoadReport, load_dataset
from starling.loading.celebrities import CELEBRITY_TWEETS, celebrity_user_id
from starling.loading.import_ids import DUPLICATE_TWEET_WORKER_ID, graph_user_id

AIRLINE_HEADER = (
    "tweet_id,airline_sentiment,airline_sentiment_confidence,negativereason,"
    "negativereason_confidence,airline,airline_sentiment_gold,name,negativereason_gold,"
    "retweet_count,text,tweet_coord,tweet_created,tweet_location,user_timezone"
)

EDGES = [(2, 1), (3, 1), (4, 3), (5, 4), (7, 2), (6, 6)]
"""Lower-triangle edges; (6, 6) is a self-loop (dropped). Nodes 1..7, 5 undirected edges."""

SHARED_ID = ids.compose(1_366_000_000_000, 40, 1)
"""A tweet id present in both CrisisLexT6 and CrisisLexT26, as 47 real ids are."""


def tid(seconds: int, sequence: int = 0) -> int:
    """A plausible 2013 Twitter snowflake."""
    return ids.compose(1_360_000_000_000 + seconds * 1000, 33, sequence)


def gz_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        fh.write(text)


def csv_text(header: str, rows: Sequence[Sequence[str]], quote_all: bool = False) -> str:
    out = io.StringIO()
    out.write(header + "\n")
    if quote_all:
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    else:
        csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def airline_row(tweet_id: int, name: str, text: str) -> list[str]:
    """A record of the airline CSV: the given fields, plausible or empty others."""
    row = dict.fromkeys(AIRLINE_HEADER.split(","), "")
    row.update(
        tweet_id=str(tweet_id),
        airline_sentiment="negative",
        airline="United",
        name=name,
        retweet_count="0",
        text=text,
        tweet_created="2015-02-24 11:35:52 -0800",
    )
    return list(row.values())


def write_dataset(
    root: Path,
    *,
    edges: Sequence[tuple[int, int]] = EDGES,
    t6: Sequence[tuple[int, str]] | None = None,
    t26: Sequence[tuple[int, str]] | None = None,
    airline: Sequence[tuple[int, str, str]] | None = None,
) -> Path:
    """Write the four kinds of data files under ``root``; returns ``root``."""
    if t6 is None:
        t6 = [
            (tid(1), "Flood warning &amp; evacuation #yycflood"),
            (tid(2), "RT @someone: stay safe"),
            (SHARED_ID, "shared id, first seen in T6"),
            (tid(3), "I &lt;3 firefighters\nsecond line"),
        ]
    if t26 is None:
        t26 = [
            (tid(4), "Terremoto in Italia"),
            (SHARED_ID, "shared id, seen again in T26"),
        ]
    if airline is None:
        airline = [
            (tid(10), "alice_flies", "@united lost my bag"),
            (tid(11), "bob", "@JetBlue thanks!"),
            (tid(12), "alice_flies", "@united still no bag"),
            (tid(11), "bob", "@JetBlue thanks!"),  # a duplicated row, as in the source
        ]
    gz_write(root / "soc-twitter-follows.edges.gz", "".join(f"{u} {v}\n" for u, v in edges))
    gz_write(
        root / "crisislex/CrisisLexT6/2013_Test_Floods-ontopic_offtopic.csv.gz",
        csv_text("tweet id, tweet, label", [(f"'{i}'", text, "on-topic") for i, text in t6]),
    )
    gz_write(
        root / "crisislex/CrisisLexT26/2013_Test_quake-tweets_labeled.csv.gz",
        csv_text(
            "Tweet ID, Tweet Text, Information Source, Information Type, Informativeness",
            [(str(i), text, "Not labeled", "Not labeled", "Related") for i, text in t26],
            quote_all=True,
        ),
    )
    gz_write(
        root / "twitter-airline-sentiment/Tweets.csv.gz",
        csv_text(AIRLINE_HEADER, [airline_row(i, name, text) for i, name, text in airline]),
    )
    return root


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "data")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    sqlite_store = SqliteStore(f"sqlite:///{tmp_path}/t.db")
    yield sqlite_store
    await sqlite_store.close()


@pytest.fixture
def bulk(store: SqliteStore) -> SqliteBulkStore:
    return SqliteBulkStore(store.engine)


def table(store: SqliteStore, sql: str) -> list[tuple[int, ...]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql)]


async def all_users(store: SqliteStore) -> dict[int, User]:
    user_ids = [row[0] for row in table(store, "SELECT id FROM users")]
    return await store.get_users(user_ids)


def authors(store: SqliteStore) -> dict[int, int]:
    return {row[0]: row[1] for row in table(store, "SELECT id, author_id FROM tweets")}


async def test_load_creates_users_mutual_follows_and_every_tweet_row(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    report = await load_dataset(bulk, data_dir)

    assert (report.users_total, report.users_inserted) == (7, 7)
    assert (report.follows_total, report.follows_inserted) == (10, 10)
    assert (report.tweets_rows, report.tweets_total, report.tweets_inserted) == (10, 10, 10)
    assert report.tweets_skipped == 0
    assert report.tweets_renumbered == 2
    assert report.celebrities == []
    for u, v in EDGES[:-1]:
        assert await store.is_following(graph_user_id(u), graph_user_id(v))
        assert await store.is_following(graph_user_id(v), graph_user_id(u))
    assert not await store.is_following(graph_user_id(6), graph_user_id(6))
    user1 = await store.get_user_by_username("user1")
    assert user1 is not None
    assert user1.id == graph_user_id(1)
    assert user1.display_name == "User 1"
    assert (user1.followers_count, user1.following_count) == (2, 2)
    credentials = await store.get_credentials("user1")
    assert credentials is not None
    assert credentials.password_hash is None
    isolated = await store.get_user_by_username("user6")
    assert isolated is not None
    assert (isolated.followers_count, isolated.following_count) == (0, 0)
    counted = sum(u.tweets_count for u in (await all_users(store)).values())
    assert counted == 10


async def test_tweet_keeps_its_twitter_id_and_time(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    await load_dataset(bulk, data_dir)

    tweet = await store.get_tweet(tid(4))
    assert tweet is not None
    assert tweet.text == "Terremoto in Italia"
    assert tweet.created_at_ms == ids.timestamp_ms(tid(4)) == 1_360_000_004_000


async def test_loaded_tweets_are_searchable(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    search = SqliteSearchIndex(store.db)
    report = await load_dataset(bulk, data_dir, search=search)

    assert report.tweets_indexed == 10
    found = await search.search_tweets(
        words=["terremoto"], hashtags=[], author_id=None, max_id=None, limit=5
    )
    assert found == [tid(4)]


async def test_duplicate_id_gets_a_fresh_id_at_the_same_millisecond(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    await load_dataset(bulk, data_dir)

    first = await store.get_tweet(SHARED_ID)
    assert first is not None
    assert first.text == "shared id, first seen in T6"
    [(again_id,)] = table(
        store, "SELECT id FROM tweets WHERE text = 'shared id, seen again in T26'"
    )
    assert again_id != SHARED_ID
    assert ids.timestamp_ms(again_id) == ids.timestamp_ms(SHARED_ID)
    assert (again_id >> ids.SEQUENCE_BITS) & ids.MAX_WORKER_ID == DUPLICATE_TWEET_WORKER_ID
    thanks = table(store, "SELECT id FROM tweets WHERE text = '@JetBlue thanks!'")
    assert len(thanks) == 2


async def test_html_entities_are_unescaped_and_newlines_kept(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    await load_dataset(bulk, data_dir)

    flood = await store.get_tweet(tid(1))
    heart = await store.get_tweet(tid(3))
    assert flood is not None
    assert heart is not None
    assert flood.text == "Flood warning & evacuation #yycflood"
    assert heart.text == "I <3 firefighters\nsecond line"


async def test_text_over_280_after_unescaping_or_empty_is_skipped(
    store: SqliteStore, bulk: SqliteBulkStore, tmp_path: Path
) -> None:
    fits = "&amp;" * 280  # 1,400 characters escaped, 280 once unescaped
    data = write_dataset(
        tmp_path / "data",
        t6=[(tid(1), fits), (tid(2), "x" * 281), (tid(3), "   "), (tid(4), "ok")],
    )

    report = await load_dataset(bulk, data)

    assert report.tweets_skipped == 2
    assert report.tweets_total == report.tweets_rows - 2
    assert await store.get_tweet(tid(2)) is None
    assert await store.get_tweet(tid(3)) is None
    stored = await store.get_tweet(tid(1))
    assert stored is not None
    assert stored.text == "&" * 280


async def test_second_load_inserts_nothing_and_keeps_counts(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    first = await load_dataset(bulk, data_dir, celebrities=True)
    users_before = await all_users(store)
    tweets_before = authors(store)

    second = await load_dataset(bulk, data_dir, celebrities=True)

    assert first.users_inserted == 7
    inserted = (
        second.users_inserted,
        second.follows_inserted,
        second.tweets_inserted,
        second.overlay_users_inserted,
        second.overlay_follows_inserted,
        second.overlay_tweets_inserted,
    )
    assert inserted == (0, 0, 0, 0, 0, 0)
    assert (second.users_total, second.follows_total, second.tweets_total) == (7, 10, 10)
    assert await all_users(store) == users_before
    assert authors(store) == tweets_before


async def test_same_seed_gives_same_authors_and_another_seed_others(tmp_path: Path) -> None:
    crisis = [(tid(i), f"crisis tweet {i}") for i in range(1, 41)]
    data = write_dataset(tmp_path / "data", t6=crisis)

    async def authors_with(seed: int, name: str) -> dict[int, int]:
        store = SqliteStore(f"sqlite:///{tmp_path}/{name}.db")
        try:
            await load_dataset(SqliteBulkStore(store.engine), data, seed=seed)
            return authors(store)
        finally:
            await store.close()

    first = await authors_with(7, "a")
    assert await authors_with(7, "b") == first
    assert await authors_with(8, "c") != first


async def test_airline_author_names_map_to_one_graph_user_each(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    await load_dataset(bulk, data_dir)

    by_author = authors(store)
    alice = {by_author[tid(10)], by_author[tid(12)]}
    bob = {a for t, a in by_author.items() if ids.timestamp_ms(t) == ids.timestamp_ms(tid(11))}
    assert len(alice) == 1
    assert len(bob) == 1
    assert alice != bob
    graph_ids = {graph_user_id(n) for n in range(1, 8)}
    assert set(by_author.values()) <= graph_ids


async def test_authors_are_drawn_by_degree(
    store: SqliteStore, bulk: SqliteBulkStore, tmp_path: Path
) -> None:
    crisis = [(tid(i), f"crisis tweet {i}") for i in range(1, 61)]
    data = write_dataset(tmp_path / "data", t6=crisis)

    await load_dataset(bulk, data)

    # Node 6 has only a self-loop (degree 0 once dropped): it is never drawn.
    user6 = await store.get_user(graph_user_id(6))
    assert user6 is not None
    assert user6.tweets_count == 0


async def test_celebrity_overlay_is_followed_by_seeded_shares_of_users(
    store: SqliteStore, bulk: SqliteBulkStore, tmp_path: Path
) -> None:
    star = [(n, 1) for n in range(2, 201)]  # 200 nodes: 1% = 2, 10% = 20, 50% = 100
    data = write_dataset(tmp_path / "data", edges=star)

    report = await load_dataset(bulk, data, celebrities=True, seed=3)

    assert report.celebrities == [("celeb_1pct", 2), ("celeb_10pct", 20), ("celeb_50pct", 100)]
    assert (report.overlay_users_inserted, report.overlay_follows_inserted) == (3, 122)
    pool = report.tweets_total
    assert report.overlay_tweets_inserted == 3 * min(CELEBRITY_TWEETS, pool)
    assert report.follows_inserted == report.follows_total == 2 * 199
    for index, (username, followers) in enumerate(report.celebrities, start=1):
        celebrity = await store.get_user_by_username(username)
        assert celebrity is not None
        assert celebrity.id == celebrity_user_id(index)
        assert celebrity.verified
        assert celebrity.followers_count == followers
        assert celebrity.tweets_count == min(CELEBRITY_TWEETS, pool)
        follower_ids = await store.followers_page(celebrity.id, max_id=None, limit=1000)
        assert len(follower_ids) == followers
        assert set(follower_ids) <= {graph_user_id(n) for n in range(1, 201)}


async def test_without_celebrities_flag_no_overlay_is_created(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    await load_dataset(bulk, data_dir)

    assert await store.get_user_by_username("celeb_1pct") is None
    assert table(store, "SELECT count(*) FROM users") == [(7,)]


async def test_taken_username_skips_that_graph_user_and_its_rows(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    registered = await store.create_user(
        NewUser(
            id=ids.compose(1_700_000_000_000, 0, 0),
            username="User1",
            display_name="Registered",
            email="user1@example.org",
            password_hash="not-a-real-hash",
            created_at_ms=1_700_000_000_000,
        )
    )
    await store.follow(registered.id, graph_user_id(2), [])

    report = await load_dataset(bulk, data_dir)

    assert report.users_inserted == report.users_total - 1
    assert report.follows_inserted == report.follows_total - 4  # node 1 had 2 neighbours
    dangling = table(
        store,
        "SELECT count(*) FROM follows f WHERE NOT EXISTS "
        "(SELECT 1 FROM users u WHERE u.id = f.follower_id) OR NOT EXISTS "
        "(SELECT 1 FROM users u WHERE u.id = f.followee_id)",
    )
    assert dangling == [(0,)]
    assert table(
        store, "SELECT count(*) FROM tweets WHERE author_id NOT IN (SELECT id FROM users)"
    ) == [(0,)]
    me = await store.get_user(registered.id)
    user2 = await store.get_user(graph_user_id(2))
    assert me is not None
    assert user2 is not None
    assert (me.following_count, me.followers_count) == (1, 0)
    assert user2.followers_count == 2  # node 7 and the registered account


async def test_missing_file_is_named_in_the_error(bulk: SqliteBulkStore, data_dir: Path) -> None:
    (data_dir / "twitter-airline-sentiment/Tweets.csv.gz").unlink()

    with pytest.raises(DataFileMissing, match=r"Tweets\.csv\.gz"):
        await load_dataset(bulk, data_dir)


async def test_missing_csv_directory_is_named_in_the_error(
    bulk: SqliteBulkStore, data_dir: Path
) -> None:
    for path in (data_dir / "crisislex/CrisisLexT6").iterdir():
        path.unlink()

    with pytest.raises(DataFileMissing, match=r"CrisisLexT6/\*\.csv\.gz"):
        await load_dataset(bulk, data_dir)


async def test_missing_data_directory_names_the_graph_file(
    bulk: SqliteBulkStore, tmp_path: Path
) -> None:
    with pytest.raises(DataFileMissing, match=r"soc-twitter-follows\.edges\.gz"):
        await load_dataset(bulk, tmp_path / "nowhere")


async def test_missing_column_is_a_load_error_and_nothing_is_written(
    store: SqliteStore, bulk: SqliteBulkStore, data_dir: Path
) -> None:
    gz_write(
        data_dir / "crisislex/CrisisLexT26/2013_Test_quake-tweets_labeled.csv.gz",
        'Tweet ID, Text\n"1","hello"\n',
    )

    with pytest.raises(LoadError, match="Tweet Text"):
        await load_dataset(bulk, data_dir)
    assert table(store, "SELECT count(*) FROM users") == [(0,)]


async def test_progress_gets_a_finished_bar_per_phase(
    bulk: SqliteBulkStore, data_dir: Path
) -> None:
    console = Console(file=io.StringIO())
    with Progress(console=console) as progress:
        report = await load_dataset(bulk, data_dir, celebrities=True, progress=progress)

    assert isinstance(report, LoadReport)
    phases = [task.description for task in progress.tasks]
    assert phases == [
        "parse graph",
        "read tweets",
        "users",
        "follows",
        "tweets",
        "celebrities",
        "recount",
    ]
    assert all(task.finished for task in progress.tasks)


async def test_graph_without_edges_cannot_author_tweets(
    store: SqliteStore, bulk: SqliteBulkStore, tmp_path: Path
) -> None:
    data = write_dataset(tmp_path / "data", edges=[(3, 3)])

    with pytest.raises(LoadError, match="soc-twitter-follows"):
        await load_dataset(bulk, data)
    assert table(store, "SELECT count(*) FROM users") == [(0,)]
