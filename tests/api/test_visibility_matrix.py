"""Who may see what, through the HTTP API, on both configurations: every read surface
against every relationship, for every place a hidden author can take in a tweet.

One rule (``starling.domain.visibility``), with three outcomes:

- **hidden**: a list (a timeline, results, replies, ancestors, bookmarks, the inbox,
  the stream) leaves out a tweet by a hidden author, a retweet of one, and a
  notification whose actor is one;
- **quoted_tweet null**: a quote of a hidden author's tweet stays in every list and
  read, without the quoted tweet;
- **404 / 403**: what is asked for by name (a tweet by id, replies or context of a
  tweet, a user's timeline) is shown although the viewer mutes or blocks its author,
  but not found (403 for a user timeline) when the author, or the retweeted original's
  author, blocks the viewer.

Relationships (the viewer ``V`` and the author ``A``; a third user ``C`` hides nobody):
``V`` blocks ``A``; ``A`` blocks ``V``; ``V`` mutes ``A``. A block ends follows both ways,
so a blocked author's own tweets are not pushed into ``V``'s home; ``C``'s are.

Placements of ``A``, per surface (what each cell builds, and its expected outcome):

=============== ======================== ============================ =========================
surface         author of the tweet      author of a retweeted        author of a quoted tweet
                                         original
=============== ======================== ============================ =========================
home            A's tweet: hidden        C's retweet of it: hidden    C's quote: quoted null
user timeline   A's own timeline: shown  C's timeline, C's retweet:   C's timeline, C's quote:
                (403 when A blocks V)    hidden                       quoted null
single tweet    A's tweet by id: shown   C's retweet by id: shown     C's quote by id: quoted
                (404 when A blocks V)    (404 when A blocks V)        null
search          a match by A: hidden     ``from:C`` lists C's         a matching quote by C:
                                         retweet: hidden              quoted null
replies         A's reply: hidden        replies of C's retweet are   C's reply quoting A:
                                         the original's (404 when A   quoted null
                                         blocks V)
context         A's tweet as ancestor:   context of C's retweet       C's quote as ancestor and
                hidden                   (404 when A blocks V)        as the tweet: quoted null
bookmarks       V's bookmark of A's      V's bookmark through C's     V's bookmark of C's
                tweet: hidden            retweet (of the original):   quote: quoted null
                                         hidden
notifications   A's mention of V:        A's retweet of V's tweet     C's mention of V quoting
                hidden                   (A the actor): hidden        A: quoted null
stream          A's tweet and A's live   C's retweet of A's tweet:    C's quote: quoted null
                mention: hidden; and     hidden; on replay too
                on replay (Last-Event-ID)
=============== ======================== ============================ =========================

Each test builds one surface's scenario with ``V``, ``A`` and ``C`` and a tweet of ``C``
nobody hides (so a list that shows nothing fails), sets the relationship after the
posts, and reads. Workers are waited for with ``drain()``, never a sleep.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from test_search import token
from test_stream import Event, SseReader, open_stream

from conftest import Account, Harness
from visibility_cast import RELATIONS, Cast, relate


async def get(starling: Harness, path: str, viewer: Account, **params: Any) -> Any:
    """``GET path`` as ``viewer``: the JSON body of a 200."""
    r = await starling.client.get(f"/api/starling/v1{path}", params=params, headers=viewer.headers)
    assert r.status_code == 200, (path, r.text)
    return r.json()


async def status(starling: Harness, path: str, viewer: Account) -> int:
    r = await starling.client.get(f"/api/starling/v1{path}", headers=viewer.headers)
    return r.status_code


def ids(tweets: list[dict[str, Any]]) -> list[int]:
    return [int(t["id"]) for t in tweets]


def of(tweets: list[dict[str, Any]], tweet_id: int) -> dict[str, Any]:
    (found,) = [t for t in tweets if int(t["id"]) == tweet_id]
    return found


def assert_quote_without_quoted(tweet: dict[str, Any], quoted_id: int) -> None:
    """A quote of a hidden author's tweet: shown, its quoted tweet left out."""
    assert tweet["quote_tweet_id"] == str(quoted_id)
    assert tweet["quoted_tweet"] is None


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

    tweets = (await starling.home_page(v, limit=50))["tweets"]
    assert ids(tweets) == [plain, quote]
    assert_quote_without_quoted(of(tweets, quote), by_author)


async def user_timeline(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    by_author = await starling.post(a, "by the author")
    await starling.retweet(c, by_author)
    quote = await starling.post(c, "quoting the author", quote=by_author)
    plain = await starling.post(c, "plain")
    await relate(starling, cast)

    tweets = (await get(starling, f"/users/{c.id}/tweets", v))["tweets"]
    assert ids(tweets) == [plain, quote]
    assert_quote_without_quoted(of(tweets, quote), by_author)
    if cast.blocked:
        assert await status(starling, f"/users/{a.id}/tweets", v) == 403
    else:
        own = (await get(starling, f"/users/{a.id}/tweets", v))["tweets"]
        assert ids(own) == [by_author]  # asked for by name


async def single_tweet(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    by_author = await starling.post(a, "by the author")
    retweet = await starling.retweet(c, by_author)
    quote = await starling.post(c, "quoting the author", quote=by_author)
    await relate(starling, cast)

    for tweet_id in (by_author, retweet):
        if cast.blocked:
            assert await status(starling, f"/tweets/{tweet_id}", v) == 404
        else:
            shown = await get(starling, f"/tweets/{tweet_id}", v)
            assert int(shown["id"]) == tweet_id
    if not cast.blocked:
        shown = await get(starling, f"/tweets/{retweet}", v)
        assert shown["retweeted_tweet"]["id"] == str(by_author)
    assert_quote_without_quoted(await get(starling, f"/tweets/{quote}", v), by_author)


async def search(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    word = token()
    by_author = await starling.post(a, f"{word} by the author")
    await starling.retweet(c, by_author)
    quote = await starling.post(c, f"{word} quoting the author", quote=by_author)
    plain = await starling.post(c, f"{word} plain")
    await starling.drain()  # indexed
    await relate(starling, cast)

    for q in (word, f"from:{c.username}"):
        tweets = (await get(starling, "/search/tweets", v, q=q))["tweets"]
        assert ids(tweets) == [plain, quote], q
        assert_quote_without_quoted(of(tweets, quote), by_author)


async def replies(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    by_author = await starling.post(a, "by the author")
    root = await starling.post(c, "root")
    await starling.post(a, "the author replies", reply_to=root)
    quoting = await starling.post(c, "a reply quoting", reply_to=root, quote=by_author)
    plain = await starling.post(c, "a plain reply", reply_to=root)
    retweet = await starling.retweet(c, by_author)
    to_original = await starling.post(c, "a reply to the author", reply_to=by_author)
    await relate(starling, cast)

    tweets = (await get(starling, f"/tweets/{root}/replies", v))["tweets"]
    assert ids(tweets) == [plain, quoting]
    assert_quote_without_quoted(of(tweets, quoting), by_author)
    if cast.blocked:
        assert await status(starling, f"/tweets/{retweet}/replies", v) == 404
    else:
        tweets = (await get(starling, f"/tweets/{retweet}/replies", v))["tweets"]
        assert ids(tweets) == [to_original]


async def context(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    by_author = await starling.post(a, "by the author")
    reply = await starling.post(c, "a reply to the author", reply_to=by_author)
    retweet = await starling.retweet(c, by_author)
    quote_root = await starling.post(c, "quoting the author", quote=by_author)
    quote_reply = await starling.post(c, "quoting again", reply_to=quote_root, quote=by_author)
    await relate(starling, cast)

    found = await get(starling, f"/tweets/{reply}/context", v)
    assert (found["ancestors"], int(found["tweet"]["id"])) == ([], reply)
    if cast.blocked:
        assert await status(starling, f"/tweets/{retweet}/context", v) == 404
    else:
        found = await get(starling, f"/tweets/{retweet}/context", v)
        assert (found["ancestors"], int(found["tweet"]["id"])) == ([], retweet)
    found = await get(starling, f"/tweets/{quote_reply}/context", v)
    assert ids(found["ancestors"]) == [quote_root]
    assert_quote_without_quoted(found["ancestors"][0], by_author)
    assert_quote_without_quoted(found["tweet"], by_author)


async def bookmarks(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    by_author = await starling.post(a, "by the author")
    second = await starling.post(a, "by the author, retweeted")
    retweet = await starling.retweet(c, second)
    quote = await starling.post(c, "quoting the author", quote=by_author)
    plain = await starling.post(c, "plain")
    for tweet_id in (by_author, retweet, quote, plain):  # the retweet's: the original's
        r = await starling.client.post(
            f"/api/starling/v1/tweets/{tweet_id}/bookmark", headers=v.headers
        )
        assert r.status_code == 200, r.text
    await relate(starling, cast)

    tweets = (await get(starling, "/bookmarks", v))["tweets"]
    assert ids(tweets) == [plain, quote]
    assert_quote_without_quoted(of(tweets, quote), by_author)


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

    found = (await get(starling, "/notifications", v))["notifications"]
    assert [(n["type"], n["actor"]["id"]) for n in found] == [("mention", str(c.id))] * 2
    tweets = [n["tweet"] for n in found]
    assert ids(tweets) == [plain, quote]
    assert_quote_without_quoted(of(tweets, quote), by_author)


async def read_until(stream: SseReader, tweet_id: int) -> list[Event]:
    """Events up to and including the tweet ``tweet_id``."""
    events = [await stream.next_event()]
    while (events[-1].event, events[-1].id) != ("tweet", str(tweet_id)):
        events.append(await stream.next_event())
    return events


async def stream(starling: Harness, cast: Cast) -> None:
    v, a, c = cast.viewer, cast.author, cast.other
    await starling.follow(v, a)
    await starling.follow(v, c)
    await starling.home_ids(v)
    by_author = await starling.post(a, "by the author")
    await starling.drain()
    await relate(starling, cast)

    async with open_stream(starling, v) as live:
        await starling.post(a, "live by the author")
        await starling.post(a, f"@{v.username} live mention by the author")
        await starling.retweet(c, by_author)
        quote = await starling.post(c, "quoting the author", quote=by_author)
        # Everything hidden is published before this one: it would have come first.
        await starling.drain()
        plain = await starling.post(c, "plain")
        events = await read_until(live, plain)
    assert [(e.event, e.id) for e in events] == [("tweet", str(quote)), ("tweet", str(plain))]
    assert_quote_without_quoted(events[0].data, by_author)

    # The replay on reconnection reads through the same rule.
    await starling.drain()
    async with open_stream(starling, v, last_event_id=str(by_author)) as replay:
        events = [await replay.next_event(), await replay.next_event()]
    assert [(e.event, e.id) for e in events] == [("tweet", str(quote)), ("tweet", str(plain))]
    assert_quote_without_quoted(events[0].data, by_author)


SURFACES: dict[str, Callable[[Harness, Cast], Awaitable[None]]] = {
    "home": home,
    "user timeline": user_timeline,
    "single tweet": single_tweet,
    "search": search,
    "replies": replies,
    "context": context,
    "bookmarks": bookmarks,
    "notifications": notifications,
    "stream": stream,
}


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("surface", list(SURFACES))
async def test_every_surface_applies_the_one_visibility_rule(
    starling: Harness, surface: str, relation: str
) -> None:
    viewer, author, other = [await starling.register() for _ in range(3)]
    await SURFACES[surface](starling, Cast(viewer, author, other, relation))
