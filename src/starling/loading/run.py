"""``starling load``: import the follower graph and the tweets into a ``BulkStore``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from starling.domain import ids
from starling.domain.model import NewUser, Tweet
from starling.loading.assign import assign_authors
from starling.loading.celebrities import build_overlay
from starling.loading.dataset import DataFiles, LoadError, locate
from starling.loading.graph import Graph, follow_rows, graph_users, read_graph, user_id_table
from starling.loading.import_ids import IMPORT_EPOCH_MS
from starling.loading.progress import LazyRows, Phase
from starling.loading.report import LoadReport
from starling.loading.tweet_pool import TweetPool, build_pool
from starling.loading.tweets_csv import (
    AIRLINE_SENTIMENT,
    CRISISLEX_T6,
    CRISISLEX_T26,
    CsvFormat,
    RawTweet,
    read_tweet_csv,
)
from starling.ports import BulkStore

if TYPE_CHECKING:
    from rich.progress import Progress


class Reindexable(Protocol):
    """A search index that can (re)index every stored tweet, as the SQL search adapters
    do (``SqlSearchIndex.reindex``)."""

    async def reindex(self, *, on_batch: Callable[[int], None] | None = None) -> int: ...


def _csv_sources(files: DataFiles) -> list[tuple[Path, CsvFormat]]:
    return [
        *((path, CRISISLEX_T6) for path in files.crisislex_t6),
        *((path, CRISISLEX_T26) for path in files.crisislex_t26),
        (files.airline, AIRLINE_SENTIMENT),
    ]


def _read_pool(files: DataFiles, progress: Progress | None) -> TweetPool:
    sources = _csv_sources(files)
    phase = Phase(progress, "read tweets", len(sources))
    records: list[RawTweet] = []
    for path, fmt in sources:
        records.extend(read_tweet_csv(path, fmt))
        phase.advance(1)
    return build_pool(records)


async def _insert_users(
    bulk: BulkStore, graph: Graph, user_ids: Sequence[int], progress: Progress | None
) -> int:
    phase = Phase(progress, "users", graph.node_count)

    def make(start: int, stop: int) -> list[NewUser]:
        return graph_users(range(start + 1, stop + 1), user_ids)

    inserted = await bulk.bulk_insert_users(LazyRows(graph.node_count, make, phase))
    phase.finish()
    return inserted


async def _insert_follows(
    bulk: BulkStore, graph: Graph, user_ids: Sequence[int], progress: Progress | None
) -> int:
    phase = Phase(progress, "follows", graph.follow_count)

    def make(start: int, stop: int) -> list[tuple[int, int, int]]:
        return follow_rows(graph, start, stop, user_ids)

    inserted = await bulk.bulk_insert_follows(LazyRows(graph.follow_count, make, phase))
    phase.finish()
    return inserted


async def _insert_tweets(bulk: BulkStore, tweets: list[Tweet], progress: Progress | None) -> int:
    phase = Phase(progress, "tweets", len(tweets))

    def make(start: int, stop: int) -> list[Tweet]:
        return tweets[start:stop]

    inserted = await bulk.bulk_insert_tweets(LazyRows(len(tweets), make, phase))
    phase.finish()
    return inserted


async def _insert_overlay(
    bulk: BulkStore,
    graph: Graph,
    user_ids: Sequence[int],
    pool: TweetPool,
    seed: int,
    report: LoadReport,
    progress: Progress | None,
) -> None:
    overlay = build_overlay(graph.node_count, pool, seed)
    follows = [
        (user_ids[node], celebrity.user.id, IMPORT_EPOCH_MS)
        for celebrity in overlay
        for node in celebrity.follower_nodes
    ]
    tweets = [tweet for celebrity in overlay for tweet in celebrity.tweets]
    phase = Phase(progress, "celebrities", 3)
    report.overlay_users_inserted = await bulk.bulk_insert_users([c.user for c in overlay])
    phase.advance(1)
    report.overlay_follows_inserted = await bulk.bulk_insert_follows(follows)
    phase.advance(1)
    report.overlay_tweets_inserted = await bulk.bulk_insert_tweets(tweets)
    phase.finish()
    report.celebrities = [(c.user.username, len(c.follower_nodes)) for c in overlay]


async def load_dataset(
    bulk: BulkStore,
    data_dir: Path,
    *,
    celebrities: bool = False,
    seed: int = 2026,
    progress: Progress | None = None,
    search: Reindexable | None = None,
) -> LoadReport:
    """Import the real data set of ``data_dir`` (layout of ``docs/data.md``).

    - Graph (NetworkRepository soc-twitter-follows, Rossi & Ahmed, AAAI 2015): node ``n``
      becomes user ``user{n}`` with id :func:`~starling.loading.import_ids.graph_user_id`;
      each undirected edge becomes two follows (404,719 users, 1,426,638 follows).
    - Tweets (CrisisLexT6, CrisisLexT26: Olteanu et al., ICWSM 2014 / CSCW 2015; Figure
      Eight's airline sentiment): every CSV record becomes a tweet with its text
      HTML-unescaped and NFC-normalised, its original id unless an earlier record took it
      (then a fresh id at the same millisecond), ``created_at_ms`` read from the id, and
      a degree-weighted seeded author (:mod:`starling.loading.assign`): 102,655 tweets.
    - ``celebrities=True`` adds the overlay of :mod:`starling.loading.celebrities`.
    - Finally every user's counters are recomputed (``bulk.recount()``) and, given
      ``search``, every stored tweet is indexed for search (``search.reindex()``; the
      bulk path writes no outbox events, so the ``search`` consumer never sees them).

    Idempotent: ids, authors and the overlay depend only on the files and ``seed``, and
    the store keeps existing rows, so a second load with the same seed inserts nothing.
    A different seed gives the same users, follows and tweet ids (existing tweets keep
    their authors) but a different overlay sample, whose follows would then be added.
    Every file is read and checked before the first write. ``progress``, when given,
    gets one bar per phase. Raises :class:`~starling.loading.dataset.DataFileMissing` or
    :class:`~starling.loading.dataset.LoadError` naming the offending file.
    """
    started = time.perf_counter()
    files = locate(data_dir)

    phase = Phase(progress, "parse graph", 1)
    graph = read_graph(files.edges)
    user_ids = user_id_table(graph.node_count)
    phase.finish()

    pool = _read_pool(files, progress)
    try:
        authors = assign_authors(pool.tweets, graph.degree, seed)
    except ValueError as exc:
        raise LoadError(f"{files.edges}: no user has a follower to author tweets") from exc
    tweets = sorted(
        (
            Tweet(
                id=t.id,
                author_id=user_ids[node],
                text=t.text,
                created_at_ms=ids.timestamp_ms(t.id),
            )
            for t, node in zip(pool.tweets, authors, strict=True)
        ),
        key=lambda t: t.id,
    )

    report = LoadReport(
        users_total=graph.node_count,
        follows_total=graph.follow_count,
        tweets_total=len(tweets),
        tweets_rows=pool.rows,
        tweets_skipped=pool.skipped,
        tweets_renumbered=pool.renumbered,
    )
    report.users_inserted = await _insert_users(bulk, graph, user_ids, progress)
    report.follows_inserted = await _insert_follows(bulk, graph, user_ids, progress)
    report.tweets_inserted = await _insert_tweets(bulk, tweets, progress)
    if celebrities:
        await _insert_overlay(bulk, graph, user_ids, pool, seed, report, progress)

    phase = Phase(progress, "recount", 1)
    await bulk.recount()
    phase.finish()

    if search is not None:
        phase = Phase(progress, "search index", len(tweets))
        report.tweets_indexed = await search.reindex(on_batch=phase.advance)
        phase.finish()

    report.seconds = time.perf_counter() - started
    return report
