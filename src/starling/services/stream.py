"""Live streams of readers (Server-Sent Events): what the API's
``GET /api/v1/stream`` sends. Publishing: :mod:`starling.services.live`.

:meth:`StreamService.open` subscribes to the reader's channels (their own ``user:``
channel and the ``author:`` channels of the celebrities they follow) *before* it
replays what the reader missed, so nothing published in between is lost; duplicates
between the replay and the live messages (and re-delivered events) are dropped by id.
Block and mute apply to every item, live or replayed.

Resume (``Last-Event-ID``): each event's SSE id is the snowflake of its tweet or
notification; a reconnecting reader gets, oldest first, the home-timeline tweets and
notifications with a larger id, read from the timeline and the inbox, the durable
sources, rather than from a per-user ring buffer of sent events. So any API process can
resume any reader without shared buffer state, across restarts, and a replayed tweet is
filtered (deleted, blocked, muted) exactly as the home timeline is. The price: an item
whose fan-out finished only after a newer item reached the reader, in the instant
before the connection dropped, is not replayed (its id is below the resume point); the
reader's next home-timeline read shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from typing import Final

import msgspec

from starling.domain import live
from starling.domain.live import LiveKind, LiveMessage
from starling.domain.model import User
from starling.domain.notifications import Notification
from starling.ports import BackendUnavailable, LiveBus, LiveSubscription, Store
from starling.services.hydration import Engagement, Hydrator, TweetView
from starling.services.notifications import NotificationService
from starling.services.reader_context import ReaderContextCache
from starling.services.timelines import TimelineService

REPLAY_LIMIT: Final = 100
"""Most tweets (and, separately, notifications) replayed on resume. A reader who missed
more reloads the timeline; the stream is for what happens while one looks."""

RECENT_IDS: Final = 1_024
"""Ids a stream remembers to drop duplicates (replay overlap, re-delivered events)."""


# --- reading ------------------------------------------------------------------------------
class TweetItem(msgspec.Struct, frozen=True):
    """A new home-timeline tweet, hydrated, with its engagement as the reader sees it."""

    view: TweetView
    engagement: Engagement

    @property
    def id(self) -> int:
        return self.view.tweet.id


class NotificationItem(msgspec.Struct, frozen=True):
    """A new notification with its actor, its tweet (None for a follow) and whether it is
    read (below the reader's read mark)."""

    notification: Notification
    actor: User
    tweet: TweetView | None
    engagement: Engagement
    read: bool

    @property
    def id(self) -> int:
        return self.notification.id


class Heartbeat(msgspec.Struct, frozen=True):
    """Nothing happened for a heartbeat interval (the API sends an SSE comment)."""


StreamItem = TweetItem | NotificationItem | Heartbeat


class LiveStream:
    """One reader's stream: first the replay, then live items and heartbeats. Iterate
    with ``async for``; :meth:`close` (always, e.g. in ``finally``) unsubscribes."""

    def __init__(
        self,
        service: StreamService,
        viewer_id: int,
        subscription: LiveSubscription,
        replay: list[TweetItem | NotificationItem],
        heartbeat_s: float,
    ) -> None:
        self._service = service
        self._viewer_id = viewer_id
        self._subscription = subscription
        self._pending = replay
        self._heartbeat_s = heartbeat_s
        self._recent: OrderedDict[tuple[LiveKind, int], None] = OrderedDict()
        for item in replay:
            self._remember(_kind(item), item.id)

    def _remember(self, kind: LiveKind, item_id: int) -> bool:
        """Note ``(kind, id)``; False if it was seen already (a duplicate)."""
        key = (kind, item_id)
        if key in self._recent:
            return False
        self._recent[key] = None
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
        return True

    def __aiter__(self) -> LiveStream:
        return self

    async def __anext__(self) -> StreamItem:
        if self._pending:
            return self._pending.pop(0)
        while True:
            try:
                async with asyncio.timeout(self._heartbeat_s):
                    payload = await anext(self._subscription)
            except TimeoutError:
                await self._service.refresh_channels(self._viewer_id, self._subscription)
                return Heartbeat()
            message = live.decode(payload)
            if message is None or not self._remember(message.kind, message.id):
                continue
            item = await self._service.render(self._viewer_id, message)
            if item is not None:
                return item

    async def close(self) -> None:
        # Shielded: called while the response is being cancelled (client gone).
        await asyncio.shield(self._subscription.close())


def _kind(item: TweetItem | NotificationItem) -> LiveKind:
    return "tweet" if isinstance(item, TweetItem) else "notification"


class StreamService:
    """Opens readers' live streams (see the module docstring for channels and resume)."""

    def __init__(
        self,
        *,
        store: Store,
        bus: LiveBus,
        hydrator: Hydrator,
        timelines: TimelineService,
        notifications: NotificationService,
        reader_context: ReaderContextCache,
    ) -> None:
        self._store = store
        self._bus = bus
        self._hydrator = hydrator
        self._timelines = timelines
        self._notifications = notifications
        self._reader_context = reader_context

    async def channels(self, viewer_id: int) -> list[str]:
        """The reader's own channel and the author channels of the celebrities they follow."""
        celebrities = await self._reader_context.celebrity_followee_ids(viewer_id)
        return [live.user_channel(viewer_id), *map(live.author_channel, celebrities)]

    async def refresh_channels(self, viewer_id: int, subscription: LiveSubscription) -> None:
        """Follow changes of the celebrity set (new follows, authors crossing the
        threshold) while connected; called at each heartbeat."""
        with contextlib.suppress(BackendUnavailable):
            await subscription.update(await self.channels(viewer_id))

    async def open(
        self, *, viewer_id: int, last_event_id: int | None, heartbeat_s: float
    ) -> LiveStream:
        """Subscribe ``viewer_id``'s channels, then collect the replay of items newer than
        ``last_event_id`` (none when None). Raises ``BackendUnavailable`` when the bus
        cannot be reached."""
        subscription = await self._bus.subscribe(await self.channels(viewer_id))
        try:
            replay = [] if last_event_id is None else await self._replay(viewer_id, last_event_id)
        except BaseException:
            await subscription.close()
            raise
        return LiveStream(self, viewer_id, subscription, replay, heartbeat_s)

    async def _replay(self, viewer_id: int, after_id: int) -> list[TweetItem | NotificationItem]:
        page = await self._timelines.home(viewer_id=viewer_id, max_id=None, limit=REPLAY_LIMIT)
        fresh = [v for v in page.items if v.tweet.id > after_id]
        engagement = await self._hydrator.engagement(fresh, viewer_id=viewer_id)
        items: list[TweetItem | NotificationItem] = [TweetItem(v, engagement) for v in fresh]
        inbox = await self._notifications.inbox(user_id=viewer_id, max_id=None, limit=REPLAY_LIMIT)
        missed = [n for n in inbox.items if n.id > after_id]
        tweet_ids = [n.tweet_id for n in missed if n.tweet_id is not None]
        views = await self._hydrator.hydrate(tweet_ids)
        tweets = {v.tweet.id: v for v in views}
        engagement = await self._hydrator.engagement(views, viewer_id=viewer_id)
        for n in missed:
            item = _notification_item(n, inbox.actors, tweets, engagement, inbox.read_mark)
            if item is not None:
                items.append(item)
        items.sort(key=lambda i: i.id)
        return items

    async def render(self, viewer_id: int, message: LiveMessage) -> StreamItem | None:
        """The item a live message stands for, as ``viewer_id`` may see it; None when it is
        gone (deleted) or hidden from the reader (blocked either way, muted)."""
        if message.actor_id in await self._reader_context.hidden_author_ids(viewer_id):
            return None
        if message.kind == "tweet":
            views = await self._hydrator.hydrate([message.id])
            if not views:
                return None
            return TweetItem(views[0], await self._hydrator.engagement(views, viewer_id=viewer_id))
        rows = await self._store.notifications_page(viewer_id, max_id=message.id + 1, limit=1)
        if not rows or rows[0].id != message.id:
            return None
        notification = rows[0]
        actors = await self._store.get_users([notification.actor_id])
        views = (
            []
            if notification.tweet_id is None
            else await self._hydrator.hydrate([notification.tweet_id])
        )
        engagement = await self._hydrator.engagement(views, viewer_id=viewer_id)
        read_mark = await self._store.read_mark(viewer_id)
        tweets = {v.tweet.id: v for v in views}
        return _notification_item(notification, actors, tweets, engagement, read_mark)


def _notification_item(
    n: Notification,
    actors: dict[int, User],
    tweets: dict[int, TweetView],
    engagement: Engagement,
    read_mark: int,
) -> NotificationItem | None:
    actor = actors.get(n.actor_id)
    tweet = tweets.get(n.tweet_id) if n.tweet_id is not None else None
    if actor is None or (n.tweet_id is not None and tweet is None):
        return None  # the actor or the tweet is gone; the worker removes the notification
    return NotificationItem(n, actor, tweet, engagement, n.id <= read_mark)
