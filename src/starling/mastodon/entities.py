"""Mastodon's entities (docs.joinmastodon.org/entities/) as msgspec Structs, rendered
from what the read pipeline returns (:class:`~starling.services.hydration.TweetView`
with its :class:`~starling.services.hydration.Engagement`) and from users.

The mapping of concepts (docs/mastodon.md):

- a tweet is a public Status; a retweet is a Status whose ``reblog`` is the original
  (its own ``content`` empty), showing the original's counts and the viewer's flags;
- a quote is a Status whose content ends with a link to the quoted tweet;
- a user is an Account (``acct`` is the bare username: every account is local);
- ``favourited``/``reblogged`` are the viewer's like and retweet, ``bookmarked`` their
  bookmark; ``muted`` (a muted conversation) and ``pinned`` are always false;
- ids are decimal strings of Starling's snowflakes; ``uri`` and ``url`` point at the
  web app's pages (``/@username/<id>``, ``/@username``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Final

import msgspec

from starling.api.schemas import rfc3339
from starling.domain import ids as snowflake
from starling.domain.media import MAX_MEDIA_BYTES, MAX_MEDIA_PER_TWEET, Media
from starling.domain.model import User
from starling.domain.notifications import NotificationType
from starling.domain.text import hashtags, mentions
from starling.mastodon.content import to_html
from starling.ports import Store
from starling.services.hydration import Engagement, TweetView
from starling.services.read_pipeline import NotificationEntry

MASTODON_VERSION: Final = "4.3.0"
"""The Mastodon API level served. Clients gate features on the version text before the
first space (Mastodon.py's ``version_check_mode``), so it leads the version string."""


def _starling_version() -> str:
    try:
        return metadata.version("starling")
    except metadata.PackageNotFoundError:
        return "0"


VERSION: Final = f"{MASTODON_VERSION} (compatible; Starling {_starling_version()})"

MAX_CHARACTERS: Final = 280
AVATAR_PATH: Final = "/avatars/original/missing.png"
"""Every account's avatar and header (Starling has no profile pictures): a small PNG,
served at this path as Mastodon serves its placeholder."""

NOTIFICATION_TYPES: Final[dict[NotificationType, str]] = {
    "like": "favourite",
    "retweet": "reblog",
    "reply": "mention",
    "mention": "mention",
    "follow": "follow",
}
"""Starling's notification types as Mastodon's."""

STARLING_TYPES: Final[dict[str, tuple[NotificationType, ...]]] = {
    "favourite": ("like",),
    "reblog": ("retweet",),
    "mention": ("mention", "reply"),
    "follow": ("follow",),
}
"""Mastodon's notification types as Starling's (the others have no Starling kind)."""


def date_of(ms: int) -> str:
    """Unix ms → ``"2026-11-21"`` (Account.last_status_at is a date)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def midnight_of(ms: int) -> str:
    """Unix ms → that day's midnight, UTC (Mastodon shows an account's creation day)."""
    return date_of(ms) + "T00:00:00.000Z"


# --- structs ------------------------------------------------------------------------------
class Field(msgspec.Struct):
    name: str
    value: str
    verified_at: str | None = None


class Source(msgspec.Struct):
    """What ``verify_credentials`` adds: the profile as the owner edits it."""

    note: str
    fields: list[Field]
    privacy: str = "public"
    sensitive: bool = False
    language: str = ""
    follow_requests_count: int = 0


class Account(msgspec.Struct, omit_defaults=False):
    id: str
    username: str
    acct: str
    display_name: str
    locked: bool
    bot: bool
    discoverable: bool
    indexable: bool
    group: bool
    created_at: str
    note: str
    url: str
    uri: str
    avatar: str
    avatar_static: str
    header: str
    header_static: str
    followers_count: int
    following_count: int
    statuses_count: int
    last_status_at: str | None
    hide_collections: bool
    noindex: bool
    emojis: list[Any]
    roles: list[Any]
    fields: list[Field]
    source: Source | None = None


class MediaMeta(msgspec.Struct):
    width: int
    height: int
    size: str
    aspect: float


class MediaMetaSet(msgspec.Struct):
    original: MediaMeta
    small: MediaMeta


class MediaAttachment(msgspec.Struct):
    id: str
    type: str
    url: str
    preview_url: str
    remote_url: str | None
    meta: MediaMetaSet
    description: str | None
    blurhash: str | None
    text_url: str | None = None


class Mention(msgspec.Struct):
    id: str
    username: str
    url: str
    acct: str


class StatusTag(msgspec.Struct):
    name: str
    url: str


class Status(msgspec.Struct):
    id: str
    uri: str
    url: str
    created_at: str
    account: Account
    content: str
    visibility: str
    sensitive: bool
    spoiler_text: str
    media_attachments: list[MediaAttachment]
    application: dict[str, Any] | None
    mentions: list[Mention]
    tags: list[StatusTag]
    emojis: list[Any]
    reblogs_count: int
    favourites_count: int
    replies_count: int
    in_reply_to_id: str | None
    in_reply_to_account_id: str | None
    reblog: Status | None
    poll: None
    card: None
    language: str | None
    text: str | None
    edited_at: str | None
    favourited: bool | None = None
    reblogged: bool | None = None
    muted: bool | None = None
    bookmarked: bool | None = None
    pinned: bool | None = None
    filtered: list[Any] | None = None


class Notification(msgspec.Struct):
    id: str
    type: str
    created_at: str
    account: Account
    status: Status | None
    group_key: str


class Relationship(msgspec.Struct):
    id: str
    following: bool
    showing_reblogs: bool
    notifying: bool
    languages: list[str] | None
    followed_by: bool
    blocking: bool
    blocked_by: bool
    muting: bool
    muting_notifications: bool
    requested: bool
    requested_by: bool
    domain_blocking: bool
    endorsed: bool
    note: str


class TagHistory(msgspec.Struct):
    day: str
    uses: str
    accounts: str


class Tag(msgspec.Struct):
    name: str
    url: str
    history: list[TagHistory]
    following: bool | None = None


class Context(msgspec.Struct):
    ancestors: list[Status]
    descendants: list[Status]


class Search(msgspec.Struct):
    accounts: list[Account]
    statuses: list[Status]
    hashtags: list[Tag]


class Application(msgspec.Struct):
    """An app as ``POST /api/v1/apps`` answers it (with its credentials)."""

    id: str
    name: str
    website: str | None
    scopes: list[str]
    redirect_uri: str
    redirect_uris: list[str]
    client_id: str
    client_secret: str
    client_secret_expires_at: int = 0
    vapid_key: str = ""


class Token(msgspec.Struct):
    """An OAuth token response (RFC 6749 section 5.1, as Mastodon answers it)."""

    access_token: str
    token_type: str
    scope: str
    created_at: int


class Error(msgspec.Struct, omit_defaults=True):
    """Mastodon's error body; ``error_description`` on OAuth errors."""

    error: str
    error_description: str | None = None


class Preferences(
    msgspec.Struct,
    rename={
        "posting_default_visibility": "posting:default:visibility",
        "posting_default_sensitive": "posting:default:sensitive",
        "posting_default_language": "posting:default:language",
        "reading_expand_media": "reading:expand:media",
        "reading_expand_spoilers": "reading:expand:spoilers",
    },
):
    posting_default_visibility: str = "public"
    posting_default_sensitive: bool = False
    posting_default_language: str | None = None
    reading_expand_media: str = "default"
    reading_expand_spoilers: bool = False


# --- rendering ----------------------------------------------------------------------------
class Renderer:
    """Renders entities for one request: ``base`` is the server's URL as the client
    reached it (``http://host:port``), which every ``url`` starts with. Batch methods
    look up what a page needs besides its views in a fixed number of store calls:
    replied-to tweets' authors, mentioned accounts, the viewer's bookmarks."""

    def __init__(self, *, base: str, store: Store) -> None:
        self.base = base.rstrip("/")
        self._store = store
        self._users_by_name: dict[str, User | None] = {}

    # --- urls ----------------------------------------------------------------------------
    def profile_url(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def status_url(self, username: str, tweet_id: int) -> str:
        return f"{self.base}/@{username}/{tweet_id}"

    def tag_url(self, tag: str) -> str:
        return f"{self.base}/tags/{tag}"

    def media_url(self, media_id: int, *, thumb: bool = False) -> str:
        return f"{self.base}/api/starling/v1/media/{media_id}" + ("/thumb" if thumb else "")

    # --- accounts ------------------------------------------------------------------------
    def account(
        self, user: User, *, last_status_at: str | None = None, with_source: bool = False
    ) -> Account:
        """``user`` as an Account. ``last_status_at``: the day of their newest status
        (:meth:`account_read` looks it up; accounts inside statuses leave it null)."""
        avatar = self.base + AVATAR_PATH
        note = to_html(user.bio, mentioned={}, tag_url=self.tag_url)
        return Account(
            id=str(user.id),
            username=user.username,
            acct=user.username,
            display_name=user.display_name,
            locked=False,
            bot=False,
            discoverable=True,
            indexable=True,
            group=False,
            created_at=midnight_of(user.created_at_ms),
            note=note,
            url=self.profile_url(user.username),
            uri=self.profile_url(user.username),
            avatar=avatar,
            avatar_static=avatar,
            header=avatar,
            header_static=avatar,
            followers_count=user.followers_count,
            following_count=user.following_count,
            statuses_count=user.tweets_count,
            last_status_at=last_status_at,
            hide_collections=False,
            noindex=False,
            emojis=[],
            roles=[],
            fields=[],
            source=Source(note=user.bio, fields=[]) if with_source else None,
        )

    async def account_read(self, user: User, *, with_source: bool = False) -> Account:
        """An Account read directly (one account: its newest status's day looked up)."""
        newest = await self._store.tweet_ids_by_authors([user.id], max_id=None, limit=1)
        last = date_of(snowflake.timestamp_ms(newest[0])) if newest else None
        return self.account(user, last_status_at=last, with_source=with_source)

    # --- statuses ------------------------------------------------------------------------
    async def statuses(
        self, views: Sequence[TweetView], engagement: Engagement, *, viewer_id: int | None
    ) -> list[Status]:
        """Statuses of ``views`` (in order) with their engagement for ``viewer_id``."""
        inner = [i for v in views for i in v.nested()]
        parents = await self._store.get_tweets(
            {i.tweet.reply_to_tweet_id for i in inner if i.tweet.reply_to_tweet_id is not None}
        )
        await self._load_names(n.lower() for i in inner for n in mentions(i.tweet.text))
        bookmarked = (
            await self._store.bookmarked_ids(viewer_id, {i.content_id for i in views})
            if viewer_id is not None and views
            else set()
        )
        parent_authors = {t.id: t.author_id for t in parents.values()}
        return [
            self._status(v, engagement, parent_authors, bookmarked, viewer_id is not None)
            for v in views
        ]

    async def status(
        self, view: TweetView, engagement: Engagement, *, viewer_id: int | None
    ) -> Status:
        """One Status (see :meth:`statuses`)."""
        return (await self.statuses([view], engagement, viewer_id=viewer_id))[0]

    async def _load_names(self, names: Iterable[str]) -> None:
        for name in set(names):
            if name not in self._users_by_name:
                self._users_by_name[name] = await self._store.get_user_by_username(name)

    def _status(
        self,
        view: TweetView,
        engagement: Engagement,
        parent_authors: dict[int, int],
        bookmarked: set[int],
        has_viewer: bool,
    ) -> Status:
        tweet = view.tweet
        reblog = (
            self._status(view.retweeted, engagement, parent_authors, bookmarked, has_viewer)
            if view.retweeted is not None
            else None
        )
        shown = view.content_id
        counts = engagement.counts.get(shown)
        flags = engagement.flags_of(shown)
        named = [
            u for n in mentions(tweet.text) if (u := self._users_by_name.get(n.lower())) is not None
        ]
        content = to_html(
            tweet.text,
            mentioned={u.username.lower(): self.profile_url(u.username) for u in named},
            tag_url=self.tag_url,
        )
        if view.quoted is not None:
            quoted = self.status_url(view.quoted.author.username, view.quoted.tweet.id)
            content += (
                f'<p class="quote-inline">RE: <a href="{quoted}" rel="nofollow noopener" '
                f'target="_blank">{quoted}</a></p>'
            )
        reply_to = tweet.reply_to_tweet_id
        url = self.status_url(view.author.username, tweet.id)
        return Status(
            id=str(tweet.id),
            uri=url,
            url=url,
            created_at=rfc3339(tweet.created_at_ms),
            account=self.account(view.author),
            content=content,
            visibility="public",
            sensitive=False,
            spoiler_text="",
            media_attachments=[self.media(m) for m in view.media],
            application=None,
            mentions=[
                Mention(str(u.id), u.username, self.profile_url(u.username), u.username)
                for u in named
            ],
            tags=[StatusTag(t.lower(), self.tag_url(t.lower())) for t in hashtags(tweet.text)],
            emojis=[],
            reblogs_count=counts.retweets if counts else 0,
            favourites_count=counts.likes if counts else 0,
            replies_count=counts.replies if counts else 0,
            in_reply_to_id=None if reply_to is None else str(reply_to),
            in_reply_to_account_id=(
                str(parent_authors[reply_to])
                if reply_to is not None and reply_to in parent_authors
                else None
            ),
            reblog=reblog,
            poll=None,
            card=None,
            language=None,
            text=None,
            edited_at=None,
            favourited=flags.liked if flags is not None else None,
            reblogged=flags.retweeted if flags is not None else None,
            muted=False if has_viewer else None,
            bookmarked=(shown in bookmarked) if has_viewer else None,
            pinned=False if has_viewer else None,
            filtered=[] if has_viewer else None,
        )

    def media(self, item: Media) -> MediaAttachment:
        """An upload as a MediaAttachment (images only: ``type`` ``image``)."""
        tw, th = item.thumb_width, item.thumb_height
        return MediaAttachment(
            id=str(item.id),
            type="image",
            url=self.media_url(item.id),
            preview_url=self.media_url(item.id, thumb=True),
            remote_url=None,
            meta=MediaMetaSet(
                original=MediaMeta(
                    item.width,
                    item.height,
                    f"{item.width}x{item.height}",
                    round(item.width / max(item.height, 1), 4),
                ),
                small=MediaMeta(tw, th, f"{tw}x{th}", round(tw / max(th, 1), 4)),
            ),
            description=None,
            blurhash=None,
        )

    # --- notifications -------------------------------------------------------------------
    async def notifications(
        self, entries: Sequence[NotificationEntry], engagement: Engagement, *, viewer_id: int
    ) -> list[Notification]:
        """Notifications of ``entries``: a retweet notification shows the original (the
        status that was reblogged), as Mastodon's ``reblog`` notification does."""
        views = [self._notified_view(e) for e in entries]
        present = [v for v in views if v is not None]
        statuses = iter(await self.statuses(present, engagement, viewer_id=viewer_id))
        out: list[Notification] = []
        for entry, view in zip(entries, views, strict=True):
            n = entry.notification
            kind = NOTIFICATION_TYPES[n.type]
            out.append(
                Notification(
                    id=str(n.id),
                    type=kind,
                    created_at=rfc3339(n.created_at_ms),
                    account=self.account(entry.actor),
                    status=next(statuses) if view is not None else None,
                    group_key=f"ungrouped-{n.id}",
                )
            )
        return out

    @staticmethod
    def _notified_view(entry: NotificationEntry) -> TweetView | None:
        view = entry.tweet
        if view is not None and entry.notification.type == "retweet" and view.retweeted:
            return view.retweeted
        return view

    # --- tags ----------------------------------------------------------------------------
    def tag(self, name: str, *, uses: int = 0, day_ms: int = 0) -> Tag:
        """A hashtag; ``uses`` in the day starting at ``day_ms`` (Unix ms) as its history."""
        history = [TagHistory(str(day_ms // 1000), str(uses), str(uses))] if day_ms else []
        return Tag(name=name, url=self.tag_url(name), history=history)


def instance_v1(base: str, *, host: str, streaming: str) -> dict[str, Any]:
    """The V1_Instance entity. ``uri`` is ``host[:port]``: clients key saved logins by it
    (toot), so it must name where they connect."""
    return {
        "uri": host,
        "title": "Starling",
        "short_description": "A Twitter-style feed service with a Mastodon-compatible API.",
        "description": "A Twitter-style feed service with a Mastodon-compatible API.",
        "email": "",
        "version": VERSION,
        "urls": {"streaming_api": streaming},
        "stats": {"user_count": 0, "status_count": 0, "domain_count": 0},
        "thumbnail": None,
        "languages": ["en"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": _configuration(base, streaming),
        "contact_account": None,
        "rules": [],
    }


def instance_v2(base: str, *, host: str, streaming: str) -> dict[str, Any]:
    """The Instance (v2) entity."""
    return {
        "domain": host,
        "title": "Starling",
        "version": VERSION,
        "source_url": "https://example.invalid/starling",
        "description": "A Twitter-style feed service with a Mastodon-compatible API.",
        "usage": {"users": {"active_month": 0}},
        "thumbnail": {"url": base + AVATAR_PATH},
        "icon": [],
        "languages": ["en"],
        "configuration": {
            **_configuration(base, streaming),
            "urls": {"streaming": streaming, "status": None},
            "vapid": {"public_key": ""},
            "translation": {"enabled": False},
            # Mastodon 4.4: who may read the public timelines. Every account is local.
            "timelines_access": {
                "live_feeds": {"local": "public", "remote": "disabled"},
                "hashtag_feeds": {"local": "public", "remote": "disabled"},
                "trending_link_feeds": {"local": "disabled", "remote": "disabled"},
            },
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": None},
        "rules": [],
    }


def _configuration(base: str, streaming: str) -> dict[str, Any]:
    return {
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {
            "max_characters": MAX_CHARACTERS,
            "max_media_attachments": MAX_MEDIA_PER_TWEET,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"],
            "image_size_limit": MAX_MEDIA_BYTES,
            "image_matrix_limit": 40_000_000,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        "polls": {
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 0,
            "max_expiration": 0,
        },
    }
