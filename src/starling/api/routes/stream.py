"""The live stream: ``GET /api/starling/v1/stream`` (Server-Sent Events).

Events: ``event: tweet`` (a new home-timeline item; data is the Tweet JSON) and
``event: notification`` (data is a notification as in ``GET /api/starling/v1/notifications``),
each with ``id:`` its snowflake; a ``: heartbeat`` comment every
``STARLING_STREAM_HEARTBEAT_S`` seconds of silence; a ``: connected`` comment once the
stream listens. Reconnecting with ``Last-Event-ID`` replays what was missed (see
:mod:`starling.services.stream`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

import msgspec
from litestar import Controller, get
from litestar.background_tasks import BackgroundTask
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from starling.api.deps import Core, ViewerId
from starling.api.errors import ApiError
from starling.api.openapi import raises, string_schema
from starling.api.patterns import ID, OPTIONAL_ID
from starling.api.render import renderer
from starling.api.routes.moderation import notification_json
from starling.ports import BackendUnavailable
from starling.services.stream import (
    Heartbeat,
    LiveStream,
    NotificationItem,
    StreamItem,
    TweetItem,
)

_encoder = msgspec.json.Encoder()


def _event(name: str, component: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event", "id", "data"],
        "properties": {
            "event": {"const": name},
            "id": {"type": "string", "pattern": ID},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"$ref": f"#/components/schemas/{component}"},
            },
        },
    }


EVENTS: Final = {
    "text/event-stream": {
        # One event (OpenAPI before 3.2 describes each event with `schema`); comments
        # (`: connected`, `: heartbeat`) are not events.
        "schema": {
            "oneOf": [_event("tweet", "TweetOut"), _event("notification", "NotificationOut")]
        }
    }
}
"""The stream's events, each with its JSON body's schema."""

LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        description="The id of the last event received: replay what came after it.",
        schema_extra=string_schema(pattern=OPTIONAL_ID),
    ),
]


def parse_last_event_id(raw: str | None) -> int | None:
    """The ``Last-Event-ID`` header: an id this stream sent (a decimal snowflake), or
    absent. Raises ``ApiError`` 422 ``invalid_last_event_id`` for anything else."""
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > 2**63 - 1:
        raise ApiError(
            422, "invalid_last_event_id", "Last-Event-ID must be an id from this stream."
        )
    return int(value)


def sse_message(item: StreamItem) -> ServerSentEventMessage:
    """One stream item as an SSE message (a heartbeat is a comment)."""
    if isinstance(item, Heartbeat):
        return ServerSentEventMessage(data=None, comment="heartbeat")
    if isinstance(item, TweetItem):
        body = renderer.tweet(item.view, item.engagement)
        return ServerSentEventMessage(data=body.decode(), event="tweet", id=str(item.id))
    # This stream is opened without deletions (docs/api.md): no DeletedItem arrives.
    assert isinstance(item, NotificationItem)
    return ServerSentEventMessage(
        data=_notification_json(item), event="notification", id=str(item.id)
    )


def _notification_json(item: NotificationItem) -> str:
    return _encoder.encode(notification_json(item.entry, item.engagement)).decode()


async def _events(stream: LiveStream) -> AsyncIterator[ServerSentEventMessage]:
    try:
        yield ServerSentEventMessage(data=None, comment="connected")
        async for item in stream:
            yield sse_message(item)
    finally:
        await stream.close()


class StreamController(Controller):
    path = "/api/starling/v1"
    tags = ["stream"]

    @get(
        "/stream",
        summary="Live home-timeline tweets and notifications (Server-Sent Events)",
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/event-stream",
                description="An endless stream of `tweet` and `notification` events",
                generate_examples=False,
            )
        },
        opt=raises("invalid_last_event_id", "live_unavailable", content={200: EVENTS}),
    )
    async def stream(
        self,
        core: Core,
        viewer_id: ViewerId,
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        after = parse_last_event_id(last_event_id)
        try:
            stream = await core.stream.open(viewer_id=viewer_id, last_event_id=after)
        except BackendUnavailable as exc:
            raise ApiError(503, "live_unavailable", "Live updates are unavailable.") from exc
        # The background task closes a stream whose client left before it was iterated
        # (closing twice is harmless).
        return ServerSentEvent(_events(stream), background=BackgroundTask(stream.close))
