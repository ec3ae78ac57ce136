"""The read path's per-process shortcuts (docs/decisions/0009): tweet JSON rendered from cached
pieces, cached author rows, cached engagement counts, remembered tokens. Each must answer
what the store would: changes made through this process show at once, changes it did
not see (written through ``starling.core.store.inner`` directly, as another process would)
within one TTL, and every body keeps the documented shape.
"""

from __future__ import annotations

from typing import Any

import msgspec

from conftest import Account, Harness
from starling.api.schemas import TweetOut, TweetsPage


async def _body(starling: Harness, path: str, viewer: Account | None) -> bytes:
    r = await starling.client.get(path, headers=viewer.headers if viewer else {})
    assert r.status_code == 200, r.text
    return r.content


async def test_every_tweet_body_has_the_documented_shape(starling: Harness) -> None:
    viewer, author, other = [await starling.register() for _ in range(3)]
    await starling.follow(viewer, author)
    root = await starling.post(other, "root with #tags and @mentions")
    reply = await starling.post(author, "a reply", reply_to=root)
    quote = await starling.post(other, "a quote", quote=reply)
    await starling.retweet(author, quote)  # a retweet of a quote of a reply
    await starling.post(author, 'quotes "and" \\ escapes \u2603')
    await starling.drain()
    like = await starling.client.post(
        f"/api/starling/v1/tweets/{quote}/like", headers=viewer.headers
    )
    assert like.status_code == 200

    home = msgspec.json.decode(
        await _body(starling, "/api/starling/v1/timeline/home", viewer), type=TweetsPage
    )
    mine = msgspec.json.decode(
        await _body(starling, f"/api/starling/v1/users/{author.id}/tweets", None), type=TweetsPage
    )
    one = msgspec.json.decode(
        await _body(starling, f"/api/starling/v1/tweets/{quote}", None), type=TweetOut
    )

    assert [t.text for t in home.tweets] == [
        'quotes "and" \\ escapes \u2603',
        "",
        "a reply",
    ]
    retweet = home.tweets[1]
    assert retweet.retweeted_tweet is not None
    assert retweet.retweeted_tweet.id == str(quote)
    assert retweet.retweeted_tweet.quoted_tweet is not None
    assert retweet.retweeted_tweet.quoted_tweet.id == str(reply)
    assert retweet.metrics.likes == 1
    assert retweet.metrics.retweets == 1
    assert retweet.viewer is not None
    assert retweet.viewer.liked is True
    assert home.tweets[2].reply_to_tweet_id == str(root)
    assert all(t.viewer is None for t in mine.tweets)  # anonymous: no viewer object
    assert one.viewer is None
    assert one.metrics.likes == 1
    assert one.quote_tweet_id == str(reply)
    raw: dict[str, Any] = msgspec.json.decode(
        await _body(starling, f"/api/starling/v1/tweets/{root}", None)
    )
    assert "viewer" not in raw
    assert raw["hashtags"] == ["tags"]
    assert raw["mentions"] == ["mentions"]


async def test_a_new_display_name_shows_on_tweets_read_before(starling: Harness) -> None:
    viewer, author = await starling.register(), await starling.register()
    await starling.follow(viewer, author)
    tweet_id = await starling.post(author, "hello")
    await starling.drain()
    assert (await starling.home_page(viewer))["tweets"][0]["user"]["display_name"] == (
        author.username
    )

    r = await starling.client.patch(
        "/api/starling/v1/users/me", json={"display_name": "Renamed"}, headers=author.headers
    )
    assert r.status_code == 200

    assert (await starling.home_page(viewer))["tweets"][0]["user"]["display_name"] == "Renamed"
    assert (await starling.tweet(tweet_id))["user"]["display_name"] == "Renamed"


async def test_counts_changed_by_another_process_show_within_one_ttl(starling: Harness) -> None:
    author, fan = await starling.register(), await starling.register()
    tweet_id = await starling.post(author, "count me")
    assert (await starling.tweet(tweet_id))["metrics"]["likes"] == 0

    # A like this process did not make (no invalidation here): another API process's.
    assert await starling.core.store.inner.like(fan.id, tweet_id, [])
    assert (await starling.tweet(tweet_id))["metrics"]["likes"] == 0

    await starling.advance(round(starling.core.settings.counts_cache_ttl * 1000))
    assert (await starling.tweet(tweet_id))["metrics"]["likes"] == 1


async def test_counts_changed_here_show_at_once(starling: Harness) -> None:
    author, fan = await starling.register(), await starling.register()
    tweet_id = await starling.post(author, "count me")
    reply_to = await starling.post(author, "parent")
    assert (await starling.tweet(tweet_id))["metrics"] == {"likes": 0, "retweets": 0, "replies": 0}
    assert (await starling.tweet(reply_to))["metrics"]["replies"] == 0

    await starling.client.post(f"/api/starling/v1/tweets/{tweet_id}/like", headers=fan.headers)
    retweet = await starling.retweet(fan, tweet_id)
    reply = await starling.post(fan, "a reply", reply_to=reply_to)
    assert (await starling.tweet(tweet_id))["metrics"] == {"likes": 1, "retweets": 1, "replies": 0}
    assert (await starling.tweet(reply_to))["metrics"]["replies"] == 1

    await starling.delete(fan, retweet)
    await starling.delete(fan, reply)
    assert (await starling.tweet(tweet_id))["metrics"]["retweets"] == 0
    assert (await starling.tweet(reply_to))["metrics"]["replies"] == 0


async def test_a_remembered_token_is_refused_once_it_expires(starling: Harness) -> None:
    viewer = await starling.register()
    assert (
        await starling.client.get("/api/starling/v1/timeline/home", headers=viewer.headers)
    ).is_success

    await starling.advance(starling.core.settings.token_ttl_s * 1000)

    r = await starling.client.get("/api/starling/v1/timeline/home", headers=viewer.headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
