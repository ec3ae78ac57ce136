"""Mastodon's streaming API on a live server, with a real WebSocket client library
(``websockets``) and plain HTTP for the health check; both configurations (on scale-out
the events cross processes over Redis)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from mastodon_live import LiveServer, User, live_fixture  # noqa: F401

TIMEOUT_S = 20.0


def token_of(live: LiveServer, user: User) -> str:
    app = httpx.post(
        f"{live.base_url}/api/v1/apps",
        data={
            "client_name": "ws",
            "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write",
        },
    ).json()
    r = httpx.post(
        f"{live.base_url}/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": user.username,
            "password": user.password,
            "scope": "read write",
        },
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def post(live: LiveServer, token: str, path: str, **data: str) -> dict[str, Any]:
    r = httpx.post(
        f"{live.base_url}{path}", data=data, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def next_event(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(timeout=TIMEOUT_S))
    return message


def settle(socket: ClientConnection) -> None:
    """Wait until the server has read every message sent so far: messages are handled in
    order, and a malformed one is answered at once."""
    socket.send("not json")
    assert next_event(socket) == {"error": "Invalid message"}


def test_health(live: LiveServer) -> None:
    r = httpx.get(f"{live.base_url}/api/v1/streaming/health")
    assert r.status_code == 200
    assert r.text == "OK"


def test_websocket_stream_subscribes_and_receives_updates_and_notifications(
    live: LiveServer,
) -> None:
    alice, bob = live.register("wa"), live.register("wb")
    a, b = token_of(live, alice), token_of(live, bob)
    post(live, a, f"/api/v1/accounts/{bob.id}/follow")
    live.drain()
    ws_url = live.base_url.replace("http://", "ws://") + "/api/v1/streaming"
    with connect(f"{ws_url}?access_token={a}&stream=user") as socket:
        status = post(live, b, "/api/v1/statuses", status="over the socket")
        event = next_event(socket)
        assert event["stream"] == ["user"]
        assert event["event"] == "update"
        assert json.loads(event["payload"])["id"] == status["id"]

        socket.send(json.dumps({"type": "unsubscribe", "stream": "user"}))
        socket.send(json.dumps({"type": "subscribe", "stream": "user:notification"}))
        settle(socket)
        mine = post(live, a, "/api/v1/statuses", status="like this")
        post(live, b, f"/api/v1/statuses/{mine['id']}/favourite")
        event = next_event(socket)  # not the update of alice's own status: unsubscribed
        assert event["stream"] == ["user:notification"]
        assert event["event"] == "notification"
        notification = json.loads(event["payload"])
        assert notification["type"] == "favourite"
        assert notification["account"]["id"] == bob.id
        assert notification["status"]["id"] == mine["id"]


def test_websocket_without_a_valid_token_is_closed(live: LiveServer) -> None:
    ws_url = live.base_url.replace("http://", "ws://") + "/api/v1/streaming"
    with connect(f"{ws_url}?access_token=nonsense") as socket:
        assert next_event(socket) == {"error": "The access token is invalid"}
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=TIMEOUT_S)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4001
