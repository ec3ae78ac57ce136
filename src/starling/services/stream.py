"""Live streams of readers (Server-Sent Events): what the API's
``GET /api/starling/v1/stream`` sends. Publishing: :mod:`starling.services.live`.

:meth:`StreamService.open` subscribes to the reader's channels (their own ``user:``
channel and the ``author:`` channels of the celebrities they follow) *before* it
replays what the reader missed, so nothing published in between is lost; duplicates
between the replay and the live messages (and re-delivered events) are dropped by id.
Every item, live or replayed, is read through the
:class:`~starling.services.read_pipeline.ReadPipeline`: what the home timeline and the
inbox would show (block and mute included: a retweet of a hidden author, a quote of one
without the quoted tweet).

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
from starling.ports import BackendUnavailable, LiveBus, LiveSubscription
from starling.services.hydration import Engagement, TweetView
from starling.services.read_pipeline import NotificationEntry, ReadPipeline
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
    """A new notification as the inbox shows it, with its tweet's engagement."""

    entry: NotificationEntry
    engagement: Engagement

    @property
    def id(self) -> int:
        return self.entry.id


class DeletedItem(msgspec.Struct, frozen=True):
    """A tweet the reader could have had (in their home timeline, or by a celebrity they
    follow) was deleted: its id. Only on streams opened with ``deletions=True``."""

    id: int


class Heartbeat(msgspec.Struct, frozen=True):
    """Nothing happened for a heartbeat interval (the API sends an SSE comment)."""


StreamItem = TweetItem | NotificationItem | DeletedItem | Heartbeat


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
        deletions: bool = False,
    ) -> None:
        self._service = service
        self._deletions = deletions
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
            if message is None or (message.kind == "deleted" and not self._deletions):
                continue
            if not self._remember(message.kind, message.id):
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
    """Opens readers' live streams (see the module docstring for channels and resume).
    Every item is read through the :class:`ReadPipeline`, as the home timeline and the
    inbox read it."""

    def __init__(
        self,
        *,
        bus: LiveBus,
        reads: ReadPipeline,
        timelines: TimelineService,
        heartbeat_s: float,
    ) -> None:
        self._bus = bus
        self._reads = reads
        self._timelines = timelines
        self.heartbeat_s = heartbeat_s
        """Seconds of silence before a stream sends a heartbeat
        (``STARLING_STREAM_HEARTBEAT_S``)."""

    async def channels(self, viewer_id: int) -> list[str]:
        """The reader's own channel and the author channels of the celebrities they follow."""
        celebrities = await self._reads.followed_celebrities(viewer_id)
        return [live.user_channel(viewer_id), *map(live.author_channel, celebrities)]

    async def refresh_channels(self, viewer_id: int, subscription: LiveSubscription) -> None:
        """Follow changes of the celebrity set (new follows, authors crossing the
        threshold) while connected; called at each heartbeat."""
        with contextlib.suppress(BackendUnavailable):
            await subscription.update(await self.channels(viewer_id))

    async def open(
        self,
        *,
        viewer_id: int,
        last_event_id: int | None,
        heartbeat_s: float | None = None,
        deletions: bool = False,
    ) -> LiveStream:
        """Subscribe ``viewer_id``'s channels, then collect the replay of items newer than
        ``last_event_id`` (none when None). A heartbeat follows every ``heartbeat_s``
        seconds of silence (None: :attr:`heartbeat_s`, the setting). ``deletions``: also
        :class:`DeletedItem` for tweets deleted while connected (never replayed).
        Raises ``BackendUnavailable`` when the bus cannot be reached."""
        subscription = await self._bus.subscribe(await self.channels(viewer_id))
        try:
            replay = [] if last_event_id is None else await self._replay(viewer_id, last_event_id)
        except BaseException:
            await subscription.close()
            raise
        interval = self.heartbeat_s if heartbeat_s is None else heartbeat_s
        return LiveStream(self, viewer_id, subscription, replay, interval, deletions)

    async def _replay(self, viewer_id: int, after_id: int) -> list[TweetItem | NotificationItem]:
        page = await self._timelines.home(viewer_id=viewer_id, max_id=None, limit=REPLAY_LIMIT)
        items: list[TweetItem | NotificationItem] = [
            TweetItem(v, page.engagement) for v in page.items if v.tweet.id > after_id
        ]
        inbox = await self._reads.notifications(
            viewer_id=viewer_id, max_id=None, limit=REPLAY_LIMIT
        )
        items.extend(NotificationItem(e, inbox.engagement) for e in inbox.items if e.id > after_id)
        items.sort(key=lambda i: i.id)
        return items

    async def render(self, viewer_id: int, message: LiveMessage) -> StreamItem | None:
        """The item a live message stands for, as ``viewer_id`` may see it (the home
        timeline's and the inbox's rule); None when it is gone (deleted) or hidden. A
        deletion is passed on unless its author is hidden from the viewer (whose
        timeline never showed the tweet)."""
        if message.kind == "deleted":
            hidden = (await self._reads.visibility(viewer_id)).hides(message.actor_id)
            return None if hidden else DeletedItem(message.id)
        if message.kind == "tweet":
            read = await self._reads.live_tweet(message.id, viewer_id=viewer_id)
            return None if read is None else TweetItem(read.view, read.engagement)
        found = await self._reads.notification(message.id, viewer_id=viewer_id)
        return None if found is None else NotificationItem(*found)
