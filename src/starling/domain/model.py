"""Entities of the feed: users, tweets, follows. Frozen msgspec Structs (cheap to build).

``gc=False`` on the structs read by the thousand (User, Tweet; also the hydration and
response structs): they hold only scalars or other such structs, so they can never be in
a reference cycle, and leaving them untracked keeps the garbage collector's full passes
(latency spikes) from walking every cached tweet.
"""

from __future__ import annotations

import msgspec


class User(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An account. Times are Unix ms; counts are maintained by the store."""

    id: int
    username: str
    display_name: str
    bio: str = ""
    verified: bool = False
    created_at_ms: int
    followers_count: int = 0
    following_count: int = 0
    tweets_count: int = 0


class NewUser(msgspec.Struct, frozen=True, kw_only=True):
    """A user about to be stored. ``password_hash`` is None for imported accounts."""

    id: int
    username: str
    display_name: str
    email: str | None
    password_hash: str | None
    created_at_ms: int
    bio: str = ""
    verified: bool = False


class Credentials(msgspec.Struct, frozen=True):
    """What login needs: the user id and the argon2 hash (None: cannot log in)."""

    user_id: int
    password_hash: str | None


class Tweet(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A stored tweet. ``created_at_ms`` equals ``ids.timestamp_ms(id)`` for new tweets.

    A *retweet* is a tweet row of the retweeter with ``retweet_of_id`` set to the original
    and empty ``text`` (Twitter's retweet is likewise a status of its own with a
    ``retweeted_status``): it has its own snowflake, so it takes its place in timelines,
    fan-out and pagination exactly like a tweet. ``reply_to_tweet_id`` and
    ``quote_tweet_id`` point at the replied-to and quoted tweets.
    """

    id: int
    author_id: int
    text: str
    created_at_ms: int
    reply_to_tweet_id: int | None = None
    quote_tweet_id: int | None = None
    retweet_of_id: int | None = None
    likes_count: int = 0
    retweets_count: int = 0
    replies_count: int = 0


class Page(msgspec.Struct, frozen=True):
    """One page of ids, newest (largest) first, and the cursor of the next page."""

    ids: list[int]
    next_max_id: int | None

    @property
    def has_more(self) -> bool:
        return self.next_max_id is not None
