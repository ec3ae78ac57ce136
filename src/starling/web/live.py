"""Live updates of the web app: ``GET /live`` (Server-Sent Events, authenticated by the
session cookie) and ``GET /fragments/new`` (the new tweets of the home timeline as HTML).

The stream is the API's (:class:`~starling.services.stream.StreamService`: the same
channels, replay on ``Last-Event-ID`` and visibility rule); the page needs only to
know that something arrived, so events carry ids, not tweets:

- ``event: tweet``, data the tweet's id: the page announces "N new tweets" and, on a
  click, fetches them as HTML from ``/fragments/new?after=<newest shown>``;
- ``event: notification``, data ``{"type": ...}``: the navigation's badge goes up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.background_tasks import BackgroundTask
from litestar.params import FromQuery
from litestar.response import ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from starling.api.deps import Core
from starling.api.errors import ApiError
from starling.api.params import is_ascii_number
from starling.api.routes.stream import parse_last_event_id
from starling.ports import BackendUnavailable
from starling.services.stream import Heartbeat, LiveStream, NotificationItem, TweetItem
from starling.web.render import cards
from starling.web.views import WebViewer, fragment, require_user

NEW_TWEETS_MAX = 50
"""Most new tweets shown at once (a reader away longer reloads the page)."""

_encode = msgspec.json.Encoder().encode


async def _events(stream: LiveStream) -> AsyncIterator[ServerSentEventMessage]:
    try:
        yield ServerSentEventMessage(data=None, comment="connected")
        async for item in stream:
            if isinstance(item, Heartbeat):
                yield ServerSentEventMessage(data=None, comment="heartbeat")
            elif isinstance(item, TweetItem):
                yield ServerSentEventMessage(data=str(item.id), event="tweet", id=str(item.id))
            elif isinstance(item, NotificationItem):
                data = _encode({"type": item.entry.notification.type}).decode()
                yield ServerSentEventMessage(data=data, event="notification", id=str(item.id))
            # A deletion (DeletedItem) needs nothing live: the page drops it on its next load.
    finally:
        await stream.close()


class LiveController(Controller):
    """The page's live stream and the fragment of new tweets."""

    @get("/live", name="web:live")
    async def live(
        self, request: Request[Any, Any, Any], core: Core, viewer: WebViewer
    ) -> ServerSentEvent:
        user_id = require_user(viewer)
        last_event_id = parse_last_event_id(request.headers.get("last-event-id"))
        try:
            stream = await core.stream.open(
                viewer_id=user_id,
                last_event_id=last_event_id,
                heartbeat_s=core.settings.stream_heartbeat_s,
            )
        except BackendUnavailable as exc:
            raise ApiError(503, "live_unavailable", "Live updates are unavailable.") from exc
        return ServerSentEvent(_events(stream), background=BackgroundTask(stream.close))

    @get("/fragments/new", name="web:new_tweets")
    async def new_tweets(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        viewer: WebViewer,
        after: FromQuery[str | None] = None,
    ) -> Template:
        """Home-timeline entries newer than ``after`` (an entry id), newest first."""
        user_id = require_user(viewer)
        newest = int(after) if after and is_ascii_number(after) else 0
        page = await core.timelines.home(viewer_id=user_id, max_id=None, limit=NEW_TWEETS_MAX)
        fresh = [v for v in page.items if v.tweet.id > newest]
        return fragment(
            request,
            viewer,
            "_feed.html",
            cards=cards(fresh, page.engagement, user_id),
            more_url=None,
            bookmarked=False,
            here="/",
        )
