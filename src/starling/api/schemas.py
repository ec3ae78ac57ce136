"""Request and response bodies of docs/api.md, as msgspec Structs (encoded without dicts).

Ids travel as decimal strings (Twitter's ``id_str``) so JavaScript clients keep every
bit; times as RFC 3339 UTC strings with milliseconds.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from starling.api import patterns
from starling.domain.media import Media
from starling.domain.model import User


@functools.lru_cache(maxsize=65_536)
def rfc3339(ms: int) -> str:
    """Unix ms → ``"2026-11-21T10:30:00.123Z"``. Memoized: a hot tweet's time is
    formatted once per process, not once per page it appears on."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- requests ----------------------------------------------------------------------------
def documented(description: str, *, nullable: bool = False, **schema: Any) -> msgspec.Meta:
    """Field metadata for the OpenAPI document only: ``schema`` (JSON Schema keywords
    of a string, or an array) is shown, never enforced by the decoder, so a value
    breaking it still reaches the service and gets the service's own error code
    (``invalid_username``, not the framework's ``validation_error``). ``nullable``: the
    field takes ``null`` too (``schema`` then describes the non-null branch)."""
    extra: dict[str, Any] = schema
    if nullable:
        branch = {"type": "array" if "items" in schema else "string", **schema}
        extra = {"oneOf": [branch, {"type": "null"}]}
    return msgspec.Meta(extra_json_schema={"description": description, "extra": extra})


Password = Annotated[
    str,
    documented("8 to 256 characters.", minLength=8, maxLength=256),
]
BodyId = Annotated[
    str | None, documented("An id (decimal string).", nullable=True, pattern=patterns.ID)
]


class CreateUser(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[
        str,
        documented(
            "1 to 15 ASCII letters, digits or underscores; unique, case-insensitively.",
            pattern=patterns.USERNAME,
        ),
    ]
    email: Annotated[
        str,
        documented(
            "An e-mail address (at most 254 characters); unique, case-insensitively.",
            maxLength=254,
            pattern=patterns.EMAIL,
        ),
    ]
    password: Password
    display_name: Annotated[
        str | None,
        documented(
            "At most 50 characters; default: the username.",
            nullable=True,
            maxLength=50,
            pattern=patterns.STORABLE,
        ),
    ] = None


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, documented("A username, or the account's e-mail address.")]
    """A username, or the account's e-mail address (anything with an ``@``)."""
    password: str


class ChangePassword(msgspec.Struct, forbid_unknown_fields=True):
    current_password: str
    new_password: Password


class DeleteAccount(msgspec.Struct, forbid_unknown_fields=True):
    password: str


class UpdateProfile(msgspec.Struct, forbid_unknown_fields=True):
    display_name: Annotated[
        str | None,
        documented(
            "1 to 50 characters, not blank.",
            nullable=True,
            maxLength=50,
            pattern=patterns.NOT_BLANK,
        ),
    ] = None
    bio: Annotated[
        str | None,
        documented(
            "At most 160 characters.", nullable=True, maxLength=160, pattern=patterns.STORABLE
        ),
    ] = None


class CreateTweet(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[
        str,
        documented(
            "1 to 280 characters (Unicode code points after NFC normalisation), not all "
            "white space or invisible characters.",
            minLength=1,
            maxLength=280,
            pattern=patterns.TWEET_TEXT,
        ),
    ]
    reply_to_tweet_id: BodyId = None
    quote_tweet_id: BodyId = None
    media_ids: Annotated[
        list[str] | None,
        documented(
            "At most 4 of the poster's own uploads (their ids), in order.",
            nullable=True,
            maxItems=4,
            items={"type": "string", "pattern": patterns.ID},
        ),
    ] = None


# --- responses ---------------------------------------------------------------------------
class UserOut(msgspec.Struct):
    id: str
    username: str
    display_name: str
    bio: str
    verified: bool
    created_at: str
    followers_count: int
    following_count: int
    tweets_count: int


class UserSummary(msgspec.Struct, gc=False):
    id: str
    username: str
    display_name: str
    verified: bool


class Metrics(msgspec.Struct, gc=False):
    likes: int
    retweets: int
    replies: int


class Viewer(msgspec.Struct, gc=False):
    liked: bool
    retweeted: bool


class MediaOut(msgspec.Struct, gc=False):
    """The API's media object; ``type`` is ``"photo"`` (Twitter's name for images) and the
    URLs are paths on this service."""

    media_id: str
    type: str
    url: str
    width: int
    height: int
    thumbnail_url: str
    content_type: str


class TweetOut(msgspec.Struct, omit_defaults=True, gc=False):
    """The API's Tweet object: the documented shape. Bodies are written by
    :mod:`starling.api.render` (tests decode them into this Struct)."""

    id: str
    text: str
    user: UserSummary
    created_at: str
    reply_to_tweet_id: str | None
    quote_tweet_id: str | None
    retweeted_tweet: TweetOut | None
    quoted_tweet: TweetOut | None
    hashtags: list[str]
    mentions: list[str]
    media: list[MediaOut]
    metrics: Metrics
    viewer: Viewer | None = None


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str
    user: UserOut


class TweetsPage(msgspec.Struct, gc=False):
    """A page of tweets (documented shape; written by :mod:`starling.api.render`)."""

    tweets: list[TweetOut]
    next_cursor: str | None
    has_more: bool


class UsersPage(msgspec.Struct):
    users: list[UserOut]
    next_cursor: str | None
    has_more: bool


class LikeOut(msgspec.Struct):
    tweet_id: str
    liked: bool
    likes_count: int


class ContextOut(msgspec.Struct):
    """A tweet in its conversation: the tweets it replies to, root first."""

    ancestors: list[TweetOut]
    tweet: TweetOut


class ContextJson(msgspec.Struct):
    """What :class:`ContextOut` documents, with the tweets already rendered."""

    ancestors: list[msgspec.Raw]
    tweet: msgspec.Raw


class BookmarkOut(msgspec.Struct):
    tweet_id: str
    bookmarked: bool


class FollowOut(msgspec.Struct):
    follower_id: str
    followee_id: str
    following: bool


class ErrorBody(msgspec.Struct):
    code: str
    message: str


class ErrorOut(msgspec.Struct):
    error: ErrorBody


class Status(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str
    checks: dict[str, str]


# --- mapping -----------------------------------------------------------------------------
def user_out(user: User) -> UserOut:
    return UserOut(
        id=str(user.id),
        username=user.username,
        display_name=user.display_name,
        bio=user.bio,
        verified=user.verified,
        created_at=rfc3339(user.created_at_ms),
        followers_count=user.followers_count,
        following_count=user.following_count,
        tweets_count=user.tweets_count,
    )


def user_summary(user: User) -> UserSummary:
    return UserSummary(str(user.id), user.username, user.display_name, user.verified)


def media_out(item: Media) -> MediaOut:
    """The media JSON of an upload or attachment."""
    url = f"/api/starling/v1/media/{item.id}"
    return MediaOut(
        media_id=str(item.id),
        type="photo",
        url=url,
        width=item.width,
        height=item.height,
        thumbnail_url=f"{url}/thumb",
        content_type=item.content_type,
    )
