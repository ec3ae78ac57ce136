"""The tweets to import: cleaned text and one unique id per CSV record.

Every record becomes a tweet (the data sets repeat some ids: 60,082 CrisisLexT6 rows
hold 60,078 distinct ids, CrisisLexT26 27,933 rows 27,932, the airline set 14,640 rows
14,485, and 47 ids are in both CrisisLex sets). A record keeps its original Twitter id
when no other record has it first; a later record with a taken id gets a fresh snowflake
at the same millisecond, worker ``DUPLICATE_TWEET_WORKER_ID`` (1023), so the posting time
read from the id stays the original one.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from starling.domain import ids
from starling.domain.errors import InvalidInput
from starling.domain.text import normalize_tweet_text
from starling.loading.import_ids import DUPLICATE_TWEET_WORKER_ID, FreshIds
from starling.loading.tweets_csv import RawTweet


class PoolTweet(msgspec.Struct, frozen=True):
    """A tweet ready to be given an author: unique snowflake ``id`` (its time part is the
    real posting time), cleaned ``text``, and the source's author screen name or None."""

    id: int
    text: str
    author: str | None


@dataclass(slots=True)
class TweetPool:
    """The cleaned tweets in file order, with what happened to the records.

    ``rows``: records read; ``skipped``: records dropped for a bad id or a text that is
    empty or over 280 code points after cleaning; ``renumbered``: records whose id was
    taken by an earlier record; ``fresh_ids``: the allocator, which knows every id used,
    for more made-up tweets (the celebrity overlay).
    """

    tweets: list[PoolTweet]
    rows: int
    skipped: int
    renumbered: int
    fresh_ids: FreshIds


def clean_text(raw: str) -> str | None:
    """Tweet text as Starling stores it: HTML entities unescaped once (``&amp;`` → ``&``;
    the sources keep Twitter's API escaping), then NFC. None when the result breaks the
    text rules of :func:`starling.domain.text.normalize_tweet_text` (empty or over 280
    code points)."""
    try:
        return normalize_tweet_text(html.unescape(raw))
    except InvalidInput:
        return None


def build_pool(records: Iterable[RawTweet]) -> TweetPool:
    """Clean ``records`` and give each one a unique id (see the module docstring).

    Deterministic: the same records in the same order give the same pool.
    """
    kept: list[tuple[int, str, str | None]] = []
    rows = 0
    for record in records:
        rows += 1
        text = clean_text(record.text)
        if record.tweet_id is not None and text is not None:
            kept.append((record.tweet_id, text, record.author))
    # All original ids are reserved before any fresh one is made, so a fresh id can never
    # take the place of a real id that a later record would keep.
    fresh = FreshIds(tweet_id for tweet_id, _, _ in kept)
    seen: set[int] = set()
    tweets: list[PoolTweet] = []
    renumbered = 0
    for tweet_id, text, author in kept:
        if tweet_id in seen:
            renumbered += 1
            new_id = fresh.allocate(ids.timestamp_ms(tweet_id), DUPLICATE_TWEET_WORKER_ID)
            tweets.append(PoolTweet(new_id, text, author))
        else:
            seen.add(tweet_id)
            tweets.append(PoolTweet(tweet_id, text, author))
    return TweetPool(
        tweets=tweets,
        rows=rows,
        skipped=rows - len(kept),
        renumbered=renumbered,
        fresh_ids=fresh,
    )
