"""What the templates show of a tweet: its text as safe HTML with links, and cards.

A page's tweets come from the read pipeline as :class:`TweetView` objects with one
:class:`Engagement` for the whole page; :func:`cards` turns them into
:class:`TweetCard` objects without any further query. The text is escaped piece by
piece and only the entities of :func:`starling.domain.text.entities` become links:
``#tag`` to the search, ``@name`` to the profile, URLs to themselves with
``rel="nofollow noopener ugc"`` (what Mastodon and WordPress put on links users write).
A tweet's text never changes, so its HTML is kept per process by tweet id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from markupsafe import Markup, escape

from starling.domain.engagement import NO_COUNTS, Counts
from starling.domain.media import Media
from starling.domain.model import User
from starling.domain.text import entities
from starling.services.hydration import Engagement, TweetView

MAX_TEXT_CACHE: Final = 50_000
"""Tweets whose HTML is kept per process (~0.5 KB each: ~25 MB at most)."""

_texts: dict[int, Markup] = {}


def text_html(tweet_id: int, text: str) -> Markup:
    """The tweet's text as HTML: escaped, with its hashtags, mentions and URLs as links
    and line breaks kept (the stylesheet's ``white-space: pre-wrap``)."""
    known = _texts.get(tweet_id)
    if known is not None:
        return known
    html = linkify(text)
    if len(_texts) >= MAX_TEXT_CACHE:
        del _texts[next(iter(_texts))]
    _texts[tweet_id] = html
    return html


def linkify(text: str) -> Markup:
    """``text`` escaped, with its entities (:func:`~starling.domain.text.entities`) as
    links."""
    parts: list[str] = []
    at = 0
    for entity in entities(text):
        parts.append(escape(text[at : entity.start]))
        shown = escape(text[entity.start : entity.end])
        if entity.kind == "hashtag":
            href = "/search?q=" + quote("#" + entity.value, safe="")
            parts.append(Markup('<a href="{}">{}</a>').format(href, shown))
        elif entity.kind == "mention":
            parts.append(Markup('<a href="/@{}">{}</a>').format(entity.value, shown))
        else:
            parts.append(
                Markup('<a href="{}" rel="nofollow noopener ugc">{}</a>').format(
                    entity.value, shown
                )
            )
        at = entity.end
    parts.append(escape(text[at:]))
    return Markup("").join(parts)


def when(created_at_ms: int) -> str:
    """A tweet's time for people: ``29 Nov 2026 15:08`` (UTC)."""
    moment = dt.datetime.fromtimestamp(created_at_ms / 1000, tz=dt.UTC)
    return moment.strftime("%-d %b %Y %H:%M")


def iso(created_at_ms: int) -> str:
    """A tweet's time for machines (``<time datetime>``), RFC 3339 UTC."""
    moment = dt.datetime.fromtimestamp(created_at_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class TweetCard:
    """One tweet as a page shows it. ``id`` is the timeline entry's own id (a retweet's
    own id); what is shown (``tweet``, text, counts, actions) is the original of a
    retweet, whose retweeter is ``retweeted_by``."""

    id: int
    tweet_id: int
    author: User
    html: Markup
    created_at_ms: int
    media: tuple[Media, ...]
    reply_to_tweet_id: int | None
    retweeted_by: User | None
    quoted: TweetCard | None
    counts: Counts
    liked: bool
    retweeted: bool
    own: bool
    """The viewer wrote the shown tweet (they may delete it)."""
    own_retweet: bool
    """The entry is the viewer's own retweet."""

    @property
    def url(self) -> str:
        return f"/@{self.author.username}/{self.tweet_id}"

    @property
    def when(self) -> str:
        return when(self.created_at_ms)

    @property
    def iso(self) -> str:
        return iso(self.created_at_ms)


def card(view: TweetView, engagement: Engagement, viewer_id: int | None) -> TweetCard:
    """The card of ``view`` with ``engagement`` (counts and the viewer's flags)."""
    shown = view.retweeted or view
    tweet = shown.tweet
    flags = engagement.flags_of(tweet.id)
    quoted = None if shown.quoted is None else card(shown.quoted, engagement, viewer_id)
    return TweetCard(
        id=view.tweet.id,
        tweet_id=tweet.id,
        author=shown.author,
        html=text_html(tweet.id, tweet.text),
        created_at_ms=tweet.created_at_ms,
        media=shown.media,
        reply_to_tweet_id=tweet.reply_to_tweet_id,
        retweeted_by=view.author if view.retweeted is not None else None,
        quoted=quoted,
        counts=engagement.counts.get(tweet.id, NO_COUNTS),
        liked=flags is not None and flags.liked,
        retweeted=flags is not None and flags.retweeted,
        own=viewer_id is not None and shown.author.id == viewer_id,
        own_retweet=view.retweeted is not None and view.author.id == viewer_id,
    )


def cards(
    views: Sequence[TweetView] | Iterable[TweetView], engagement: Engagement, viewer_id: int | None
) -> list[TweetCard]:
    """The cards of a page, in order."""
    return [card(v, engagement, viewer_id) for v in views]
