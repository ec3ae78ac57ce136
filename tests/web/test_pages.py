"""The web app's pages over HTTP, in process (no browser): every page renders for the
viewers it is for, errors keep each surface's shape, and tweet text is escaped."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from starling.api.app import create_app
from starling.bootstrap import App, build
from starling.config import load_settings
from starling.web.render import linkify

CHEAP = {"argon2_time_cost": 1, "argon2_memory_kib": 8}


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(
        {},
        database_url=f"sqlite:///{tmp_path}/starling.db",
        media_dir=str(tmp_path / "media"),
        **CHEAP,
    )
    running = await build(settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def _client(core: App) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(core))
    return httpx.AsyncClient(transport=transport, base_url="http://starling.test")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


async def _sign_up(client: httpx.AsyncClient, username: str) -> str:
    token = _csrf((await client.get("/signup")).text)
    answer = await client.post(
        "/signup",
        data={
            "csrf_token": token,
            "username": username,
            "email": f"{username}@example.org",
            "password": "long enough secret",
        },
    )
    assert answer.status_code == 303, answer.text
    return _csrf((await client.get("/")).text)


async def test_every_page_renders_for_a_visitor_and_for_a_member(core: App) -> None:
    async with _client(core) as visitor, _client(core) as member:
        welcome = await visitor.get("/")
        assert welcome.status_code == 200
        assert "Welcome to Starling" in welcome.text
        csrf = await _sign_up(member, "ada")
        posted = await member.post(
            "/compose", data={"csrf_token": csrf, "text": "Hello #world from @ada"}
        )
        assert posted.status_code == 303
        await core.event_log.drain()
        home = await member.get(posted.headers["location"])
        tweet_id = re.search(r'data-tweet-id="(\d+)"', home.text)
        assert tweet_id, home.text
        pages = [
            "/",
            "/@ada",
            f"/@ada/{tweet_id.group(1)}",
            "/@ada/followers",
            "/@ada/following",
            "/notifications",
            "/search?q=%23world",
            "/search?q=from%3Aada",
            "/bookmarks",
            "/settings/profile",
            f"/compose?quote={tweet_id.group(1)}",
        ]
        for path in pages:
            page = await member.get(path)
            assert page.status_code == 200, (path, page.text)
            assert page.headers["content-type"].startswith("text/html")
            assert "script-src 'self'" in page.headers["content-security-policy"]
        for path in ("/@ada", f"/@ada/{tweet_id.group(1)}", "/search?q=hello"):
            assert (await visitor.get(path)).status_code == 200, path


async def test_member_pages_send_a_visitor_to_the_login_page(core: App) -> None:
    async with _client(core) as visitor:
        answer = await visitor.get("/notifications")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fnotifications"


async def test_unknown_paths_answer_a_page_to_browsers_and_json_to_the_rest(core: App) -> None:
    async with _client(core) as client:
        page = await client.get("/nothing/at/all", headers={"Accept": "text/html"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        for path in ("/nothing/at/all", "/api/starling/v1/nothing", "/api/v1"):
            answer = await client.get(
                path, headers={"Accept": "text/html"} if "api" in path else {}
            )
            assert answer.status_code == 404
            assert answer.json()["error"]["code"] == "not_found"
        profile = await client.get("/@nobody")
        assert profile.status_code == 404
        assert "Not found" in profile.text


async def test_a_form_posted_without_its_token_is_refused(core: App) -> None:
    async with _client(core) as client:
        await _sign_up(client, "grace")
        refused = await client.post("/compose", data={"text": "forged"})
        assert refused.status_code == 403
        wrong = await client.post("/compose", data={"text": "forged", "csrf_token": "0" * 32})
        assert wrong.status_code == 403
        login_form = await client.post("/login", data={"username": "grace", "password": "x"})
        assert login_form.status_code == 403


async def test_a_revoked_session_is_a_visitor(core: App) -> None:
    async with _client(core) as client:
        csrf = await _sign_up(client, "linus")
        session = client.cookies["starling_session"]
        logout = await client.post("/logout", data={"csrf_token": csrf})
        assert logout.status_code == 303
        client.cookies.set("starling_session", session)
        assert "Welcome to Starling" in (await client.get("/")).text


def test_tweet_text_is_escaped_and_its_entities_are_links() -> None:
    html = linkify('<b>hi</b> #tag @bob https://x.org/a?b=1&c="2" <img src=x onerror=alert(1)>')
    assert "<b>" not in html
    assert "<img" not in html
    assert '<a href="/search?q=%23tag">#tag</a>' in html
    assert '<a href="/@bob">@bob</a>' in html
    assert 'href="https://x.org/a?b=1&amp;c=" rel="nofollow noopener ugc"' in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


async def _post(client: httpx.AsyncClient, csrf: str, text: str) -> str:
    answer = await client.post("/compose", data={"csrf_token": csrf, "text": text})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].removeprefix("/?posted=")


@pytest.mark.parametrize(
    "relation", ["viewer blocks author", "author blocks viewer", "viewer mutes author"]
)
async def test_pages_apply_the_visibility_rule(core: App, relation: str) -> None:
    async with _client(core) as viewer, _client(core) as author, _client(core) as other:
        v = await _sign_up(viewer, "vera")
        a = await _sign_up(author, "arno")
        o = await _sign_up(other, "cleo")
        for name in ("arno", "cleo"):
            assert (
                await viewer.post(f"/@{name}/follow", data={"csrf_token": v})
            ).status_code == 303
        hidden = await _post(author, a, "by the author nobody should see #hidden")
        shown = await _post(other, o, "by a third user everyone sees #hidden")
        await core.event_log.drain()
        if relation == "viewer blocks author":
            await viewer.post("/@arno/block", data={"csrf_token": v})
        elif relation == "viewer mutes author":
            await viewer.post("/@arno/mute", data={"csrf_token": v})
        else:
            await author.post("/@vera/block", data={"csrf_token": a})
        await core.event_log.drain()

        for path in ("/", "/search?q=%23hidden"):
            page = (await viewer.get(path)).text
            assert f'data-tweet-id="{shown}"' in page, path
            assert f'data-tweet-id="{hidden}"' not in page, path
        profile = await viewer.get("/@arno")
        tweet = await viewer.get(f"/@arno/{hidden}")
        if relation == "author blocks viewer":
            assert "has blocked you" in profile.text
            assert f'data-tweet-id="{hidden}"' not in profile.text
            assert tweet.status_code == 404
        else:
            # Asked for by name: shown, as the API shows it.
            assert f'data-tweet-id="{hidden}"' in profile.text
            assert tweet.status_code == 200
