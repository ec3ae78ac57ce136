"""Mastodon's streaming API (docs.joinmastodon.org/methods/streaming/) on Starling's live
streams (:class:`~starling.services.stream.StreamService`): the same channels, replay
rules and read pipeline as ``GET /api/starling/v1/stream``, rendered as Mastodon events.

- ``GET /api/v1/streaming/user`` (Server-Sent Events): ``event: update`` with a Status,
  ``event: notification`` with a Notification, ``event: delete`` with the id of a
  deleted status the user could have had; ``:thump`` comments as heartbeats.
- ``GET /api/v1/streaming/user/notification``: the notifications only.
- ``GET /api/v1/streaming/health``: ``OK``.
- ``/api/v1/streaming`` (WebSocket): ``{"type": "subscribe", "stream": "user"}`` (or
  ``user:notification``), ``{"type": "unsubscribe", ...}``; each event is
  ``{"stream": ["user"], "event": "update", "payload": "<JSON text>"}``.

The token comes in the ``Authorization`` header or the ``access_token`` query parameter
(browsers cannot set headers on a WebSocket), or as the WebSocket subprotocol. Any API
process serves any user: items arrive over the live bus (Redis on scale-out).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

import msgspec
from litestar import MediaType, Request, WebSocket, get, websocket
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import WebSocketDisconnect
from litestar.response import Stream

from starling.api.deps import Core
from starling.mastodon.entities import Renderer
from starling.mastodon.http import MastoError, auth, authenticate, base_url
from starling.ports import BackendUnavailable
from starling.services.stream import (
    DeletedItem,
    Heartbeat,
    LiveStream,
    NotificationItem,
    StreamItem,
    TweetItem,
)

_encode = msgspec.json.Encoder().encode

STREAMS: Final = ("user", "user:notification")
"""The streams served: a user's home timeline and notifications, or notifications only."""


async def _event(renderer: Renderer, viewer_id: int, item: StreamItem) -> tuple[str, str] | None:
    """``(event, payload)`` of a stream item: JSON text, or a ``delete``'s bare status
    id (as Mastodon sends it); None for a heartbeat."""
    if isinstance(item, Heartbeat):
        return None
    if isinstance(item, DeletedItem):
        return "delete", str(item.id)
    if isinstance(item, TweetItem):
        status = await renderer.status(item.view, item.engagement, viewer_id=viewer_id)
        return "update", _encode(status).decode()
    assert isinstance(item, NotificationItem)
    [rendered] = await renderer.notifications([item.entry], item.engagement, viewer_id=viewer_id)
    return "notification", _encode(rendered).decode()


async def _open(core: Core, viewer_id: int) -> LiveStream:
    try:
        return await core.stream.open(
            viewer_id=viewer_id,
            last_event_id=None,
            heartbeat_s=core.settings.stream_heartbeat_s,
            deletions=True,
        )
    except BackendUnavailable as exc:
        raise MastoError(503, "Streaming is unavailable.") from exc


async def _sse(
    stream: LiveStream, renderer: Renderer, viewer_id: int, *, notifications_only: bool
) -> AsyncIterator[bytes]:
    """The event stream, lines ended by ``\n`` as Mastodon's streaming server writes
    them (Mastodon.py splits on ``\n`` alone: a ``\r\n`` line would not parse)."""
    try:
        yield b":)\n\n"
        async for item in stream:
            if notifications_only and isinstance(item, TweetItem | DeletedItem):
                continue
            event = await _event(renderer, viewer_id, item)
            if event is None:
                yield b":thump\n\n"
            else:
                yield f"event: {event[0]}\ndata: {event[1]}\n\n".encode()
    finally:
        await stream.close()


async def _sse_response(
    request: Request[Any, Any, Any], core: Core, *, notifications_only: bool
) -> Stream:
    uid = (await auth(request, core)).need(
        "read:statuses" if not notifications_only else "read:notifications"
    )
    stream = await _open(core, uid)
    renderer = Renderer(base=base_url(request), store=core.store)
    return Stream(
        _sse(stream, renderer, uid, notifications_only=notifications_only),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(stream.close),
    )


@get("/api/v1/streaming/user", summary="The user's stream (Server-Sent Events)")
async def user_stream(request: Request[Any, Any, Any], core: Core) -> Stream:
    return await _sse_response(request, core, notifications_only=False)


@get(
    "/api/v1/streaming/user/notification",
    summary="The user's notifications (Server-Sent Events)",
)
async def notification_stream(request: Request[Any, Any, Any], core: Core) -> Stream:
    return await _sse_response(request, core, notifications_only=True)


@get(
    "/api/v1/streaming/health",
    summary="Whether the streaming API is up",
    media_type=MediaType.TEXT,
    opt={"rate_limit": None},
)
async def health() -> str:
    return "OK"


class _Command(msgspec.Struct):
    type: str
    stream: str = ""


@websocket("/api/v1/streaming")
async def streaming_socket(socket: WebSocket[Any, Any, Any], core: Core) -> None:
    """The multiplexed WebSocket stream (see the module docstring)."""
    token = socket.query_params.get("access_token")
    header = socket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    protocol = socket.headers.get("sec-websocket-protocol")
    if token is None and protocol:
        token = protocol.split(",")[0].strip()
    try:
        who = await authenticate(token, core)
        uid = who.need("read:statuses")
    except MastoError as exc:
        await socket.accept()
        await socket.send_text(_encode({"error": exc.message}).decode())
        await socket.close(code=4001 if exc.status == 401 else 4003)
        return
    try:
        # Listening before the handshake completes: whatever happens once the client
        # holds an open socket reaches it.
        stream = await _open(core, uid)
    except MastoError as exc:
        await socket.accept()
        await socket.send_text(_encode({"error": exc.message}).decode())
        await socket.close(code=1011)
        return
    try:
        await _serve_socket(socket, core, uid, stream, protocol)
    finally:
        await stream.close()


async def _serve_socket(
    socket: WebSocket[Any, Any, Any],
    core: Core,
    uid: int,
    stream: LiveStream,
    protocol: str | None,
) -> None:
    await socket.accept(subprotocols=protocol.split(",")[0].strip() if protocol else None)
    subscribed: set[str] = set()
    first = socket.query_params.get("stream")
    if first in STREAMS:
        subscribed.add(first)
    scheme = "https" if socket.url.scheme == "wss" else "http"
    host = socket.headers.get("host", socket.url.netloc)
    renderer = Renderer(base=f"{scheme}://{host}", store=core.store)

    async def forward() -> None:
        async for item in stream:
            wanted = [
                s
                for s in sorted(subscribed)
                if s == "user" or (s == "user:notification" and isinstance(item, NotificationItem))
            ]
            if not wanted:
                continue
            event = await _event(renderer, uid, item)
            if event is None:
                continue
            for name in wanted:
                await socket.send_text(
                    _encode({"stream": [name], "event": event[0], "payload": event[1]}).decode()
                )

    sender = asyncio.create_task(forward())
    try:
        while True:
            raw = await socket.receive_text()
            try:
                command = msgspec.json.decode(raw, type=_Command)
            except (msgspec.DecodeError, msgspec.ValidationError):
                await socket.send_text(_encode({"error": "Invalid message"}).decode())
                continue
            if command.stream not in STREAMS:
                await socket.send_text(_encode({"error": "Unknown stream type"}).decode())
            elif command.type == "subscribe":
                subscribed.add(command.stream)
            elif command.type == "unsubscribe":
                subscribed.discard(command.stream)
            else:
                await socket.send_text(_encode({"error": "Unknown message type"}).decode())
    except WebSocketDisconnect:
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


HANDLERS: Final = [user_stream, notification_stream, health, streaming_socket]
