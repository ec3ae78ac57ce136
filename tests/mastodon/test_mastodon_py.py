"""Mastodon.py (an unmodified client library) against a live Starling, in both
configurations: app registration, both logins, posting, engagement, following, the home
timeline walked both ways across pushed and pulled entries, notifications, search, and
the user stream."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
import threading
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from PIL import Image

from conftest import TEST_THRESHOLD
from mastodon import Mastodon, StreamListener
from mastodon_live import LiveServer, User, live_fixture  # noqa: F401

SCOPES = ["read", "write", "follow", "push"]


def app_credentials(
    live: LiveServer, redirect_uris: str = "urn:ietf:wg:oauth:2.0:oob"
) -> tuple[str, str]:
    client_id, client_secret = Mastodon.create_app(
        "starling-tests", scopes=SCOPES, redirect_uris=redirect_uris, api_base_url=live.base_url
    )
    return client_id, client_secret


def logged_in(live: LiveServer, user: User) -> Mastodon:
    """A Mastodon.py client logged in with the password grant (``log_in``)."""
    client_id, client_secret = app_credentials(live)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live.base_url)
    api.log_in(user.email, user.password, scopes=SCOPES, allow_http=True)
    return api


class _Form(HTMLParser):
    """The fields and labels of the authorization page's form."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.buttons: list[str] = []
        self.labels: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.inputs[found["name"] or ""] = found.get("value") or ""
        self._in = tag

    def handle_data(self, data: str) -> None:
        if self._in == "button" and data.strip():
            self.buttons.append(data.strip())
        if self._in == "label" and data.strip():
            self.labels.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def approve(live: LiveServer, url: str, user: User) -> httpx.Response:
    """Open the authorization page at ``url``, fill in the user's name and password and
    press Authorize, as a person would."""
    page = httpx.get(url)
    assert page.status_code == 200, page.text
    form = _Form()
    form.feed(page.text)
    assert form.labels[:2] == ["Username", "Password"]
    assert form.buttons == ["Authorize"]
    fields = {**form.inputs, "username": user.username, "password": user.password}
    return httpx.post(f"{live.base_url}/oauth/authorize", data=fields)


def test_an_app_logs_in_with_a_password_and_verifies_its_credentials(live: LiveServer) -> None:
    user = live.register()
    api = logged_in(live, user)
    me = api.account_verify_credentials()
    assert me.id == user.id
    assert me.username == user.username
    assert me.acct == user.username
    assert me.source.note == ""


def test_the_authorization_code_flow_with_pkce_through_the_html_page(live: LiveServer) -> None:
    user = live.register()
    redirect = "http://127.0.0.1:9/callback"
    client_id, client_secret = app_credentials(live, redirect)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live.base_url)
    verifier, challenge = pkce_pair()
    url = api.auth_request_url(redirect_uris=redirect, scopes=SCOPES, state="s1", allow_http=True)
    url += f"&code_challenge={challenge}&code_challenge_method=S256"
    answer = approve(live, url, user)
    assert answer.status_code == 302
    location = urlparse(answer.headers["location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    assert query["state"] == ["s1"]
    token = httpx.post(
        f"{live.base_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": query["code"][0],
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "read write follow push"
    authed = Mastodon(access_token=token.json()["access_token"], api_base_url=live.base_url)
    assert authed.account_verify_credentials().username == user.username


def test_the_out_of_band_code_is_shown_and_log_in_exchanges_it(live: LiveServer) -> None:
    user = live.register()
    client_id, client_secret = app_credentials(live)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live.base_url)
    url = api.auth_request_url(scopes=SCOPES, allow_http=True)
    page = approve(live, url, user)
    assert page.status_code == 200
    code = re.search(r'<code id="authorization-code">([^<]+)</code>', page.text)
    assert code is not None
    api.log_in(code=code.group(1), scopes=SCOPES, allow_http=True)
    assert api.account_verify_credentials().id == user.id


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def test_posting_replying_with_an_image_engaging_and_deleting(live: LiveServer) -> None:
    alice, bob = live.register("a"), live.register("b")
    a, b = logged_in(live, alice), logged_in(live, bob)

    first = a.status_post(f"Hello @{bob.username}, see #Starling at https://example.org/x?a=1&b=2")
    assert first.account.id == alice.id
    assert first.content == (
        f'<p>Hello <span class="h-card"><a href="{live.base_url}/@{bob.username}" '
        f'class="u-url mention">@<span>{bob.username}</span></a></span>, see '
        f'<a href="{live.base_url}/tags/Starling" class="mention hashtag" rel="tag">'
        '#<span>Starling</span></a> at <a href="https://example.org/x?a=1&amp;b=2" '
        'rel="nofollow noopener" target="_blank">https://example.org/x?a=1&amp;b=2</a></p>'
    )
    assert [m.username for m in first.mentions] == [bob.username]
    assert [t.name for t in first.tags] == ["starling"]
    assert first.url == f"{live.base_url}/@{alice.username}/{first.id}"

    media = b.media_post(io.BytesIO(_png()), mime_type="image/png", file_name="red.png")
    assert media.type == "image"
    assert media.meta.original.width == 64
    reply = b.status_post("Nice <b>one</b>", in_reply_to_id=first.id, media_ids=[media.id])
    assert reply.in_reply_to_id == first.id
    assert reply.in_reply_to_account_id == alice.id
    assert reply.content == "<p>Nice &lt;b&gt;one&lt;/b&gt;</p>"
    assert [m.id for m in reply.media_attachments] == [media.id]
    assert httpx.get(reply.media_attachments[0].url).content == _png()

    reblog = b.status_reblog(first.id)
    assert reblog.reblog.id == first.id
    assert reblog.reblogged is True
    favourited = b.status_favourite(first.id)
    assert favourited.favourited is True
    assert favourited.favourites_count == 1
    bookmarked = b.status_bookmark(first.id)
    assert bookmarked.bookmarked is True
    assert [s.id for s in b.bookmarks()] == [first.id]
    seen = b.status(first.id)
    assert (seen.favourited, seen.reblogged, seen.bookmarked) == (True, True, True)
    assert seen.reblogs_count == 1
    assert seen.replies_count == 1

    context = a.status_context(first.id)
    assert [s.id for s in context.descendants] == [reply.id]
    assert [s.id for s in a.status_context(reply.id).ancestors] == [first.id]

    deleted = b.status_delete(reply.id)
    assert deleted.id == reply.id
    assert deleted.text == "Nice <b>one</b>"
    with pytest.raises(Exception, match="404"):
        a.status(reply.id)


def test_home_timeline_walked_both_ways_across_push_and_pull(live: LiveServer) -> None:
    reader, friend, celebrity = live.register("r"), live.register("f"), live.register("c")
    r, f, c = logged_in(live, reader), logged_in(live, friend), logged_in(live, celebrity)
    r.account_follow(friend.id)
    r.account_follow(celebrity.id)
    for _ in range(TEST_THRESHOLD - 1):
        fan = logged_in(live, live.register("x"))
        fan.account_follow(celebrity.id)
    assert c.account(celebrity.id).followers_count >= TEST_THRESHOLD  # pulled, not pushed
    stranger = logged_in(live, live.register("s")).status_post("not followed")
    posted: list[Any] = []
    for i in range(9):
        posted.append((f if i % 2 else c).status_post(f"entry {i}"))
        if i == 4:
            posted.append(r.status_reblog(stranger.id))  # the reader's own entry
    live.drain()
    expected = [s.id for s in reversed(posted)]

    page = r.timeline_home(limit=4)
    pages = [page]
    while True:
        page = r.fetch_next(page)
        if not page:
            break
        pages.append(page)
    walked = [s.id for p in pages for s in p]
    assert walked == expected

    backwards: list[int] = []
    page = pages[-1]
    while page:
        backwards = [s.id for s in page] + backwards
        page = r.fetch_previous(page)
    assert backwards == expected

    newer = r.timeline_home(since_id=posted[6].id)
    assert [s.id for s in newer] == expected[:3]
    just_above = r.timeline_home(min_id=posted[2].id, limit=2)
    assert [s.id for s in just_above] == [posted[4].id, posted[3].id]
    assert posted[5].reblog.id == stranger.id


def test_follow_notifications_and_search(live: LiveServer) -> None:
    alice, bob = live.register("na"), live.register("nb")
    a, b = logged_in(live, alice), logged_in(live, bob)
    relationship = b.account_follow(alice.id)
    assert relationship.following is True
    mine = a.status_post(f"a tweet about #tea for @{bob.username}")
    b.status_favourite(mine.id)
    b.status_reblog(mine.id)
    b.status_post(f"@{alice.username} indeed", in_reply_to_id=mine.id)
    live.drain()
    notes = a.notifications()
    assert [n.type for n in notes] == ["mention", "reblog", "favourite", "follow"]
    assert all(n.account.id == bob.id for n in notes)
    assert notes[1].status.id == mine.id
    assert notes[2].status.id == mine.id
    only = a.notifications(types=["favourite", "follow"])
    assert [n.type for n in only] == ["favourite", "follow"]
    mentions = b.notifications(exclude_types=["follow", "favourite", "reblog"])
    assert [n.type for n in mentions] == ["mention"]

    found = b.search_v2(alice.username)
    assert [x.username for x in found.accounts] == [alice.username]
    found = b.search_v2("#tea", result_type="statuses")
    assert mine.id in [s.id for s in found.statuses]
    assert [t.name for t in b.search_v2("tea", result_type="hashtags").hashtags] == ["tea"]


class _Recorder(StreamListener):
    def __init__(self) -> None:
        super().__init__()
        self.updates: list[Any] = []
        self.notifications: list[Any] = []
        self.got_update = threading.Event()
        self.got_notification = threading.Event()
        self.connected = threading.Event()

    def handle_heartbeat(self) -> None:
        # The server's first comment line comes once the stream listens.
        self.connected.set()

    def on_update(self, status: Any) -> None:
        self.updates.append(status)
        self.got_update.set()

    def on_notification(self, notification: Any) -> None:
        self.notifications.append(notification)
        self.got_notification.set()


def test_stream_user_receives_an_update_and_a_notification(live: LiveServer) -> None:
    alice, bob = live.register("sa"), live.register("sb")
    a, b = logged_in(live, alice), logged_in(live, bob)
    a.account_follow(bob.id)
    live.drain()
    listener = _Recorder()
    handle = a.stream_user(listener, run_async=True, reconnect_async=False)
    try:
        assert listener.connected.wait(20)
        posted = b.status_post("live from bob")
        assert listener.got_update.wait(20)
        assert listener.updates[0].id == posted.id
        b.status_favourite(a.status_post("like me").id)
        assert listener.got_notification.wait(20)
        assert [n.type for n in listener.notifications] == ["favourite"]
        assert listener.notifications[0].account.id == bob.id
    finally:
        handle.close()
