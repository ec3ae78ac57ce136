"""Who may see what through the Mastodon-compatible API, on both configurations: every
Mastodon read surface against every relationship, for every place a hidden author can
take in a status. The same one rule as Starling's own surfaces
(``tests/api/test_visibility_matrix.py``, ``starling.domain.visibility``):

- **hidden**: a list (a timeline, results, context, the inbox, the stream) leaves out a
  status by a hidden author, a reblog of one, and a notification whose actor is one;
- **quote without its link**: Mastodon 4.x has no quote field; a Starling quote is a
  Status whose content ends with ``RE: <link to the quoted status>``
  (``<p class="quote-inline">``). A quote of a hidden author's status stays in every
  list and read, without that paragraph (the quoted status is dropped before
  rendering, so neither its link nor its id appears);
- **404**: what is asked for by id (a status, its context) is shown although the viewer
  mutes or blocks its author, but not found when the author, or the reblogged
  original's author, blocks the viewer; an account's statuses are a 403 then.

Relationships (the viewer ``V`` and the author ``A``; a third user ``C`` hides nobody):
``V`` blocks ``A``; ``A`` blocks ``V``; ``V`` mutes ``A``.

Placements of ``A``, per surface (what each cell builds, and its expected outcome):

================== ======================== ======================== ======================
surface            author of the status     author of a reblogged    author of a quoted
                                            original                 status
================== ======================== ======================== ======================
home timeline      A's status: hidden       C's reblog of it: hidden C's quote: no link
status by id       A's status: shown (404   C's reblog by id: shown  C's quote by id: no
                   when A blocks V)         (404 when A blocks V)    link
context            A's status as ancestor   context of C's reblog:   C's quote as ancestor,
                   and A's reply as         shown (404 when A blocks as the status and as
                   descendant: hidden       V)                       a descendant: no link
notifications      A's mention of V:        A's reblog of V's status C's mention of V
                   hidden                   (A the actor): hidden    quoting A: no link
search v2 statuses a match by A: hidden     ``from:C`` lists C's     a matching quote by C:
                                            reblog: hidden           no link
account statuses   A's own: shown (403 when C's statuses, C's        C's statuses, C's
                   A blocks V)              reblog: hidden           quote: no link
public timeline    A's status: hidden       no reblogs on public     C's quote: no link
                                            timelines: C's reblog
                                            never listed
user stream (SSE)  A's live status and live C's reblog of A's        C's quote: no link
                   mention: hidden          status: hidden
================== ======================== ======================== ======================

Each test builds one surface's scenario with ``V``, ``A`` and ``C`` and a status of
``C`` nobody hides (so a list that shows nothing fails), sets the relationship after the
posts, and reads. Workers are waited for with ``drain()``, never a sleep.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conftest import Account, Harness
from starling.api.app import create_app
from streaming import StreamingASGITransport
from visibility_cast import RELATIONS, Cast, relate

GUARD_S = 10.0
"""Failure guard for a stream event that must arrive."""


async def get(starling: Harness, path: str, viewer: Account, **params: Any) -> Any:
    """``GET path`` of the Mastodon API as ``viewer``: the JSON body of a 200."""
    r = await starling.client.get(path, params=params, headers=viewer.headers)
    assert r.status_code == 200, (path, r.text)
    return r.json()


async def status_code(starling: Harness, path: str, viewer: Account) -> int:
    return (await starling.client.get(path, headers=viewer.headers)).status_code


def ids(statuses: list[dict[str, Any]]) -> list[int]:
    return [int(s["id"]) for s in statuses]


def of(statuses: list[dict[str, Any]], status_id: int) -> dict[str, Any]:
    (found,) = [s for s in statuses if int(s["id"]) == status_id]
    return found


def assert_quote_without_link(status: dict[str, Any], quoted_id: int) -> None:
    """A quote of a hidden author's status: shown, without its ``RE:`` paragraph."""
    assert "quote-inline" not in status["content"]
    assert str(quoted_id) not in status["content"]


def assert_quote_with_link(status: dict[str, Any], quoted_id: int) -> None:
    assert 'class="quote-inline">RE: ' in status["content"]
    assert f"/{quoted_id}</a>" in status["content"]


def word() -> str:
    """A word no other test posts (letters only: the tokenizers keep it whole)."""
    return "zm" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:10])


# --- surfaces ----------------------------------------------------------------------------
async def home(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    await starling.follow(v, a)
    await starling.follow(v, c)
    await starling.home_ids(v)  # a cached timeline, which takes the pushes
    by_author = await starling.post(a, "by the author")
    await starling.retweet(c, by_author)
    quote = await starling.post(c, "quoting the author", quote=by_author)
    plain = await starling.post(c, "plain")
    await starling.drain()
    await relate(starling, cast)

    statuses = await get(starling, "/api/v1/timelines/home", v, limit=40)
    assert ids(statuses) == [plain, quote]
    assert_quote_without_link(of(statuses, quote), by_author)


async def status_by_id(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    by_author = await starling.post(a, "by the author")
    reblog = await starling.retweet(c, by_author)
    quote = await starling.post(c, "quoting the author", quote=by_author)
    await relate(starling, cast)

    for status_id in (by_author, reblog):
        path = f"/api/v1/statuses/{status_id}"
        if cast.blocked:
            assert await status_code(starling, path, v) == 404
        else:
            assert int((await get(starling, path, v))["id"]) == status_id
    if not cast.blocked:
        shown = await get(starling, f"/api/v1/statuses/{reblog}", v)
        assert shown["reblog"]["id"] == str(by_author)
    assert_quote_without_link(await get(starling, f"/api/v1/statuses/{quote}", v), by_author)


async def context(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    by_author = await starling.post(a, "by the author")
    reply = await starling.post(c, "a reply to the author", reply_to=by_author)
    reblog = await starling.retweet(c, by_author)
    root = await starling.post(c, "root")
    await starling.post(a, "the author replies", reply_to=root)
    quoting = await starling.post(c, "a reply quoting", reply_to=root, quote=by_author)
    quote_reply = await starling.post(c, "quoting again", reply_to=quoting, quote=by_author)
    await relate(starling, cast)

    found = await get(starling, f"/api/v1/statuses/{reply}/context", v)
    assert found["ancestors"] == []
    path = f"/api/v1/statuses/{reblog}/context"
    if cast.blocked:
        assert await status_code(starling, path, v) == 404
    else:
        assert (await get(starling, path, v))["ancestors"] == []
    found = await get(starling, f"/api/v1/statuses/{root}/context", v)
    assert ids(found["descendants"]) == [quoting, quote_reply]
    for status in found["descendants"]:
        assert_quote_without_link(status, by_author)
    found = await get(starling, f"/api/v1/statuses/{quote_reply}/context", v)
    assert ids(found["ancestors"]) == [root, quoting]
    assert_quote_without_link(of(found["ancestors"], quoting), by_author)
    assert_quote_without_link(await get(starling, f"/api/v1/statuses/{quoting}", v), by_author)


async def notifications(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    mine = await starling.post(v, "the viewer's own")
    await starling.post(a, f"@{v.username} from the author")
    await starling.retweet(a, mine)
    by_author = await starling.post(a, "by the author")
    quote = await starling.post(c, f"@{v.username} look", quote=by_author)
    plain = await starling.post(c, f"@{v.username} plain")
    await starling.drain()
    await relate(starling, cast)

    found = await get(starling, "/api/v1/notifications", v)
    assert [(n["type"], n["account"]["id"]) for n in found] == [("mention", str(c.id))] * 2
    statuses = [n["status"] for n in found]
    assert ids(statuses) == [plain, quote]
    assert_quote_without_link(of(statuses, quote), by_author)


async def search(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    token = word()
    by_author = await starling.post(a, f"{token} by the author")
    await starling.retweet(c, by_author)
    quote = await starling.post(c, f"{token} quoting the author", quote=by_author)
    plain = await starling.post(c, f"{token} plain")
    await starling.drain()  # indexed
    await relate(starling, cast)

    for q in (token, f"from:{c.username}"):
        found = await get(starling, "/api/v2/search", v, q=q, type="statuses")
        assert ids(found["statuses"]) == [plain, quote], q
        assert_quote_without_link(of(found["statuses"], quote), by_author)


async def account_statuses(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    by_author = await starling.post(a, "by the author")
    await starling.retweet(c, by_author)
    quote = await starling.post(c, "quoting the author", quote=by_author)
    plain = await starling.post(c, "plain")
    await relate(starling, cast)

    statuses = await get(starling, f"/api/v1/accounts/{c.id}/statuses", v)
    assert ids(statuses) == [plain, quote]
    assert_quote_without_link(of(statuses, quote), by_author)
    path = f"/api/v1/accounts/{a.id}/statuses"
    if cast.blocked:
        assert await status_code(starling, path, v) == 403
    else:
        assert ids(await get(starling, path, v)) == [by_author]  # asked for by id


async def public_timeline(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    by_author = await starling.post(a, "by the author")
    await starling.retweet(c, by_author)
    quote = await starling.post(c, "quoting the author", quote=by_author)
    plain = await starling.post(c, "plain")
    await relate(starling, cast)

    # The deployment is shared with other tests (whose clocks may have made higher ids):
    # read from just above this test's newest status, and keep the cast's.
    cast_ids = {str(u.id) for u in (v, a, c)}
    page = await get(starling, "/api/v1/timelines/public", v, limit=40, max_id=plain + 1)
    statuses = [s for s in page if s["account"]["id"] in cast_ids]
    assert ids(statuses) == [plain, quote]
    assert_quote_without_link(of(statuses, quote), by_author)


@dataclass
class SseEvent:
    event: str
    data: str

    @property
    def status_id(self) -> int:
        return int(json.loads(self.data)["id"])


@asynccontextmanager
async def user_stream(starling: Harness, who: Account) -> AsyncIterator[AsyncIterator[SseEvent]]:
    """``who``'s ``GET /api/v1/streaming/user``, listening once its first comment came."""
    transport = StreamingASGITransport(create_app(starling.core))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://starling.test") as client,
        client.stream("GET", "/api/v1/streaming/user", headers=who.headers) as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()

        async def events() -> AsyncIterator[SseEvent]:
            event: dict[str, str] = {}
            async for line in lines:
                if line == "" and event:
                    yield SseEvent(event.get("event", ""), event.get("data", ""))
                    event = {}
                elif line and not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    event[name] = value

        async with asyncio.timeout(GUARD_S):
            assert (await anext(lines)).startswith(":")  # connected
        yield events()


async def stream(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    await starling.follow(v, a)
    await starling.follow(v, c)
    await starling.home_ids(v)
    by_author = await starling.post(a, "by the author")
    await starling.drain()
    await relate(starling, cast)

    async with user_stream(starling, v) as events:
        await starling.post(a, "live by the author")
        await starling.post(a, f"@{v.username} live mention by the author")
        await starling.retweet(c, by_author)
        quote = await starling.post(c, "quoting the author", quote=by_author)
        # Everything hidden is published before this one: it would have come first.
        await starling.drain()
        plain = await starling.post(c, "plain")
        seen: list[SseEvent] = []
        async with asyncio.timeout(GUARD_S):
            async for event in events:
                seen.append(event)
                if event.event == "update" and event.status_id == plain:
                    break
    assert [(e.event, e.status_id) for e in seen] == [("update", quote), ("update", plain)]
    assert_quote_without_link(json.loads(seen[0].data), by_author)


SURFACES: dict[str, Callable[[Harness, Cast], Awaitable[None]]] = {
    "home timeline": home,
    "status by id": status_by_id,
    "context": context,
    "notifications": notifications,
    "search v2 statuses": search,
    "account statuses": account_statuses,
    "public timeline": public_timeline,
    "user stream": stream,
}


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("surface", list(SURFACES))
async def test_every_mastodon_surface_applies_the_one_visibility_rule(
    starling: Harness, surface: str, relation: str
) -> None:
    viewer, author, other = [await starling.register() for _ in range(3)]
    await SURFACES[surface](starling, Cast(viewer, author, other, relation))


async def test_a_quote_of_a_visible_author_shows_its_link(starling: Harness) -> None:
    """The control of the matrix's quote cells: without a relationship, the ``RE:``
    paragraph is there on a list and on a read by id."""
    viewer, author, other = [await starling.register() for _ in range(3)]
    by_author = await starling.post(author, "by the author")
    quote = await starling.post(other, "quoting the author", quote=by_author)
    statuses = await get(starling, f"/api/v1/accounts/{other.id}/statuses", viewer)
    assert_quote_with_link(of(statuses, quote), by_author)
    assert_quote_with_link(await get(starling, f"/api/v1/statuses/{quote}", viewer), by_author)
