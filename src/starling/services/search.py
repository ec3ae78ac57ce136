"""Search: tweets by words, #hashtags and from:username; users by prefix.

Reads: parse the query (``domain.search``) → ids from the :class:`SearchIndex`, newest
first below the cursor → the :class:`~starling.services.read_pipeline.ReadPipeline`
(hydrate, leave out what the viewer must not see, page + cursor, engagement), exactly
as the timelines page.

Writes: the ``search`` consumer group indexes each posted tweet and removes each deleted
one. Both are idempotent, and a tweet deleted before its ``TweetPosted`` is processed is
never indexed (the handler reloads it and finds nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starling.domain.events import AnyEvent, TweetDeleted, TweetPosted
from starling.domain.model import User
from starling.domain.search import InvalidQuery, parse_query
from starling.domain.text import check_storable
from starling.ports import SearchIndex, TweetReads, UserReads
from starling.services.read_pipeline import NO_TWEETS, ReadPipeline, TweetPage

MAX_USER_QUERY_LENGTH = 50
"""Characters of a user search: a display name holds at most 50."""

MAX_USER_OFFSET = 1_000
"""Deepest user-search position served: each page re-reads the rows before it."""


class _SearchReads(TweetReads, UserReads, Protocol):
    """Tweets and users by id or name, around the search index."""


class SearchService:
    """Tweet and user search over a :class:`SearchIndex`, and its indexing consumer."""

    def __init__(
        self,
        *,
        store: _SearchReads,
        index: SearchIndex,
        reads: ReadPipeline,
    ) -> None:
        self._store = store
        self._index = index
        self._reads = reads

    # --- reads -----------------------------------------------------------------------
    async def tweets(
        self, *, query: str, viewer_id: int | None, max_id: int | None, limit: int
    ) -> TweetPage:
        """Tweets matching ``query`` (see :mod:`starling.domain.search`) below ``max_id``,
        newest first, at most ``limit``, as ``viewer_id`` sees them (see
        :mod:`starling.domain.visibility`), with their engagement. An unknown ``from:``
        user gives an empty page. Raises :class:`~starling.domain.search.InvalidQuery`
        for an unusable query."""
        parsed = parse_query(query)
        author_id: int | None = None
        if parsed.from_username is not None:
            author = await self._store.get_user_by_username(parsed.from_username)
            if author is None:
                return NO_TWEETS
            author_id = author.id

        async def fetch(cursor: int | None, want: int) -> list[int]:
            if not parsed.words and not parsed.hashtags:
                assert author_id is not None  # parse_query guarantees one of the three
                return await self._store.tweet_ids_by_authors(
                    [author_id], max_id=cursor, limit=want
                )
            return await self._index.search_tweets(
                words=parsed.words,
                hashtags=parsed.hashtags,
                author_id=author_id,
                max_id=cursor,
                limit=want,
            )

        visibility = await self._reads.visibility(viewer_id)
        return await self._reads.page(fetch, visibility=visibility, max_id=max_id, limit=limit)

    async def users(self, *, query: str, offset: int, limit: int) -> tuple[list[User], int | None]:
        """Users whose username or display name starts with ``query`` (case-insensitive;
        a leading '@' is ignored), exact username first; returns the page and the offset
        of the next one (None at the end). Raises :class:`InvalidQuery` for an empty or
        over-long query, ``InvalidInput`` (``invalid_characters``) for one holding NUL
        or a lone surrogate, as a tweet search does; offsets past
        :data:`MAX_USER_OFFSET` give an empty page."""
        check_storable(query, "The query")
        prefix = query.strip().removeprefix("@").strip()
        if not prefix:
            raise InvalidQuery("The query is empty.")
        if len(prefix) > MAX_USER_QUERY_LENGTH:
            raise InvalidQuery(f"The query is longer than {MAX_USER_QUERY_LENGTH} characters.")
        if offset >= MAX_USER_OFFSET:
            return [], None
        ids = await self._index.search_users(prefix, offset=offset, limit=limit + 1)
        found = await self._store.get_users(ids[:limit])
        page = [found[i] for i in ids[:limit] if i in found]
        return page, offset + limit if len(ids) > limit else None

    # --- the consumer ----------------------------------------------------------------
    async def handle(self, event: AnyEvent) -> None:
        """Apply one event (the ``search`` consumer group's handler): index a posted
        tweet, remove a deleted one; other events are ignored. Retweets are not indexed:
        they have no text of their own, and their original is indexed already."""
        await self.handle_many([event])

    async def handle_many(self, events: Sequence[AnyEvent]) -> None:
        """:meth:`handle` for a batch, in one index write of the posted tweets that still
        exist (one deleted meanwhile is gone from the store, and its ``TweetDeleted``
        follows) and one removal of the deleted ones."""
        posted = [e.tweet_id for e in events if isinstance(e, TweetPosted)]
        deleted = [e.tweet_id for e in events if isinstance(e, TweetDeleted)]
        if posted:
            found = await self._store.get_tweets(posted)
            await self._index.index_tweets(
                [found[i] for i in posted if i in found and found[i].retweet_of_id is None]
            )
        if deleted:
            await self._index.remove_tweets(deleted)
