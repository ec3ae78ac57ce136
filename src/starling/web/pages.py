"""The web app's pages (GET): each parses, makes the read the JSON API makes for the same
thing (the same service, so the same read pipeline and visibility rule), and renders.

A list page answers its list alone (:func:`~starling.web.views.fragment`) when the
page's script asks for the next items of "Load more".
"""

from __future__ import annotations

import time
from typing import Any, Final

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from starling.api.deps import Core
from starling.api.params import decode_cursor, parse_id
from starling.bootstrap import App
from starling.domain.errors import Forbidden, TweetNotFound
from starling.domain.model import User
from starling.domain.search import InvalidQuery
from starling.domain.trends import Trend
from starling.services.read_pipeline import NotificationEntry, TweetPage
from starling.web.render import TweetCard, card, cards
from starling.web.session import Viewer
from starling.web.views import (
    NOBODY,
    PAGE_SIZE,
    WebViewer,
    fragment,
    more_url,
    page,
    relationship,
    require_user,
    wants_fragment,
)

TRENDS_SHOWN = 10
TRENDS_TTL_S: Final = 10.0
"""Seconds one process shows the same trends: they are counted in one-minute buckets,
and asking the counter on every page would add its cost to every home-page read."""

_trends: dict[int, tuple[float, list[Trend]]] = {}


async def current_trends(core: App) -> list[Trend]:
    """The top :data:`TRENDS_SHOWN` trends, recomputed at most every
    :data:`TRENDS_TTL_S` seconds per process."""
    now = time.monotonic()
    known = _trends.get(id(core))
    if known is not None and known[0] > now:
        return known[1]
    trends = await core.trends.current(limit=TRENDS_SHOWN)
    _trends[id(core)] = (now + TRENDS_TTL_S, trends)
    return trends


VERBS = {
    "like": "liked your tweet",
    "reply": "replied to your tweet",
    "retweet": "retweeted your tweet",
    "mention": "mentioned you",
    "follow": "followed you",
}
"""What a notification says after the actor's name, by type."""


async def _feed(
    core: App,
    request: Request[Any, Any, Any],
    viewer: Viewer,
    template: str,
    tweets: TweetPage,
    *,
    path: str,
    params: dict[str, str] | None = None,
    prepend: list[TweetCard] | None = None,
    **context: Any,
) -> Template:
    """A page whose main part is a list of tweets (or, for the page's script, the list)."""
    shown = [*(prepend or []), *cards(tweets.items, tweets.engagement, viewer.id)]
    values: dict[str, Any] = {
        "cards": shown,
        "more_url": more_url(path, tweets.next_max_id, **(params or {})),
        "bookmarked": False,
        **context,
    }
    if wants_fragment(request):
        return fragment(request, viewer, "_feed.html", **values)
    return await page(core, request, viewer, template, **values)


def _username(handle: str) -> str:
    """``@name`` of a profile path; anything else is not a page of this site."""
    if not handle.startswith("@") or len(handle) < 2:
        raise NotFoundException()
    return handle[1:]


class PagesController(Controller):
    """Home, profiles, tweets, notifications, search, bookmarks."""

    @get("/", name="web:home")
    async def home(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        viewer: WebViewer,
        cursor: FromQuery[str | None] = None,
        posted: FromQuery[str | None] = None,
    ) -> Template:
        """The home timeline (logged in), else the welcome page with the trends."""
        trends = await current_trends(core)
        if viewer.user is None:
            return await page(core, request, viewer, "welcome.html", section="home", trends=trends)
        timeline = await core.timelines.home(
            viewer_id=viewer.user.id, max_id=decode_cursor(cursor), limit=PAGE_SIZE
        )
        prepend: list[TweetCard] = []
        if posted is not None and cursor is None and posted.isascii() and posted.isdigit():
            # Just posted: fan-out puts the tweet in the author's own timeline a moment
            # later, so it is shown from the store until then.
            posted_id = int(posted)
            if all(v.tweet.id != posted_id for v in timeline.items[:PAGE_SIZE]):
                try:
                    read = await core.reads.read(posted_id, viewer_id=viewer.user.id)
                except TweetNotFound:
                    pass
                else:
                    if read.view.author.id == viewer.user.id:
                        prepend.append(card(read.view, read.engagement, viewer.user.id))
        return await _feed(
            core,
            request,
            viewer,
            "home.html",
            timeline,
            path="/",
            prepend=prepend,
            section="home",
            trends=trends,
        )

    @get("/{handle:str}", name="web:profile")
    async def profile(
        self,
        request: Request[Any, Any, Any],
        handle: FromPath[str],
        core: Core,
        viewer: WebViewer,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """A profile: the user, how the viewer stands with them, their tweets."""
        user = await core.accounts.get_by_username(username=_username(handle))
        rel = await relationship(core, viewer.id, user.id)
        section = "profile" if viewer.id == user.id else None
        try:
            tweets = await core.timelines.user_timeline(
                user_id=user.id,
                max_id=decode_cursor(cursor),
                limit=PAGE_SIZE,
                viewer_id=viewer.id,
            )
        except Forbidden:
            return await page(
                core, request, viewer, "profile.html", user=user, rel=rel, blocked=True, cards=[]
            )
        return await _feed(
            core,
            request,
            viewer,
            "profile.html",
            tweets,
            path=f"/@{user.username}",
            user=user,
            rel=rel,
            blocked=False,
            section=section,
        )

    @get("/{handle:str}/followers", name="web:followers")
    async def followers(
        self,
        request: Request[Any, Any, Any],
        handle: FromPath[str],
        core: Core,
        viewer: WebViewer,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """Who follows the user."""
        user = await core.accounts.get_by_username(username=_username(handle))
        users, found = await core.graph.followers(
            user_id=user.id, max_id=decode_cursor(cursor), limit=PAGE_SIZE
        )
        return await _users(core, request, viewer, user, users, found.next_max_id, "followers")

    @get("/{handle:str}/following", name="web:following")
    async def following(
        self,
        request: Request[Any, Any, Any],
        handle: FromPath[str],
        core: Core,
        viewer: WebViewer,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """Whom the user follows."""
        user = await core.accounts.get_by_username(username=_username(handle))
        users, found = await core.graph.following(
            user_id=user.id, max_id=decode_cursor(cursor), limit=PAGE_SIZE
        )
        return await _users(core, request, viewer, user, users, found.next_max_id, "following")

    @get("/{handle:str}/{tweet_id:str}", name="web:tweet")
    async def tweet(
        self,
        request: Request[Any, Any, Any],
        handle: FromPath[str],
        tweet_id: FromPath[str],
        core: Core,
        viewer: WebViewer,
        cursor: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        """A tweet with the conversation: the tweets it replies to, then its replies."""
        username = _username(handle)
        found = await core.conversations.context(
            tweet_id=parse_id(tweet_id, TweetNotFound), viewer_id=viewer.id
        )
        focus = card(found.tweet, found.engagement, viewer.id)
        if focus.author.username != username or focus.id != focus.tweet_id:
            # Another name in the path, or a retweet's id: the original's own address.
            return Redirect(path=focus.url, status_code=301)
        replies = await core.conversations.replies(
            tweet_id=focus.tweet_id,
            viewer_id=viewer.id,
            max_id=decode_cursor(cursor),
            limit=PAGE_SIZE,
        )
        return await _feed(
            core,
            request,
            viewer,
            "tweet.html",
            replies,
            path=focus.url,
            focus=focus,
            ancestors=cards(found.ancestors, found.engagement, viewer.id),
        )

    @get("/i/tweets/{tweet_id:str}", name="web:tweet_by_id")
    async def tweet_by_id(self, tweet_id: FromPath[str], core: Core, viewer: WebViewer) -> Redirect:
        """A tweet known by id only (a reply's parent): to its address."""
        read = await core.reads.read(parse_id(tweet_id, TweetNotFound), viewer_id=viewer.id)
        shown = read.view.retweeted or read.view
        return Redirect(path=f"/@{shown.author.username}/{shown.tweet.id}", status_code=302)

    @get("/notifications", name="web:notifications")
    async def notifications(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        viewer: WebViewer,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """The viewer's notifications, newest first."""
        user_id = require_user(viewer)
        inbox = await core.notifications.inbox(
            user_id=user_id, max_id=decode_cursor(cursor), limit=PAGE_SIZE
        )
        entries = [_entry(e, inbox.engagement, user_id) for e in inbox.items]
        return await page(
            core,
            request,
            viewer,
            "notifications.html",
            section="notifications",
            entries=entries,
            more_url=more_url("/notifications", inbox.next_max_id),
        )

    @get("/search", name="web:search")
    async def search(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        viewer: WebViewer,
        q: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """Tweets matching ``q`` (words, #tags, ``from:name``), people whose name starts
        with it, and the trends."""
        trends = await current_trends(core)
        query = (q or "").strip()
        common: dict[str, Any] = {"section": "search", "q": query, "trends": trends}
        if not query:
            return await page(core, request, viewer, "search.html", users=[], cards=[], **common)
        users: list[User] = []
        if cursor is None:
            try:
                users, _ = await core.search.users(query=query, offset=0, limit=5)
            except InvalidQuery:
                users = []
        try:
            tweets = await core.search.tweets(
                query=query, viewer_id=viewer.id, max_id=decode_cursor(cursor), limit=PAGE_SIZE
            )
        except InvalidQuery as exc:
            return await page(
                core,
                request,
                viewer,
                "search.html",
                status_code=422,
                users=users,
                cards=[],
                error=exc.message,
                **common,
            )
        return await _feed(
            core,
            request,
            viewer,
            "search.html",
            tweets,
            path="/search",
            params={"q": query},
            users=users,
            **common,
        )

    @get("/bookmarks", name="web:bookmarks")
    async def bookmarks(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        viewer: WebViewer,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """The viewer's bookmarks, most recently bookmarked first."""
        user_id = require_user(viewer)
        marked = await core.engagement.bookmarks(
            user_id=user_id, max_id=decode_cursor(cursor), limit=PAGE_SIZE
        )
        return await _feed(
            core,
            request,
            viewer,
            "bookmarks.html",
            marked,
            path="/bookmarks",
            section="bookmarks",
            bookmarked=True,
        )

    @get("/compose", name="web:compose")
    async def compose(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        viewer: WebViewer,
        quote: FromQuery[str | None] = None,
        reply_to: FromQuery[str | None] = None,
    ) -> Template:
        """A compose page for a quote or a reply (with the tweet it refers to)."""
        require_user(viewer)
        ref = quote or reply_to
        target = None
        if ref is not None:
            read = await core.reads.read(parse_id(ref, TweetNotFound), viewer_id=viewer.id)
            target = card(read.view, read.engagement, viewer.id)
        return await page(
            core,
            request,
            viewer,
            "compose.html",
            target=target,
            quote=target.tweet_id if target is not None and quote else None,
            reply_to=target.tweet_id if target is not None and not quote else None,
        )


class NotificationView:
    """A notification as the page lists it: who, what, and the tweet's card."""

    __slots__ = ("actor", "card", "id", "read", "verb")

    def __init__(self, entry: NotificationEntry, tweet: TweetCard | None) -> None:
        self.id = entry.id
        self.actor = entry.actor
        self.verb = VERBS.get(entry.notification.type, entry.notification.type)
        self.read = entry.read
        self.card = tweet


def _entry(entry: NotificationEntry, engagement: Any, viewer_id: int) -> NotificationView:
    tweet = None if entry.tweet is None else card(entry.tweet, engagement, viewer_id)
    return NotificationView(entry, tweet)


async def _users(
    core: App,
    request: Request[Any, Any, Any],
    viewer: Viewer,
    user: User,
    users: list[User],
    next_max_id: int | None,
    kind: str,
) -> Template:
    heading = (
        f"Followers of @{user.username}"
        if kind == "followers"
        else (f"Followed by @{user.username}")
    )
    return await page(
        core,
        request,
        viewer,
        "users.html",
        heading=heading,
        user=user,
        users=users,
        more_url=more_url(f"/@{user.username}/{kind}", next_max_id),
        rel=NOBODY,
    )
