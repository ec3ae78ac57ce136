"""Answers an attacker's probing gets: probes that HEAD, a body too large, an invisible
tweet, digits of other scripts, a wrong method. Each is a clean 2xx/4xx in the API's
error shape, never a 500 and never an accepted write."""

from __future__ import annotations

import pytest

from conftest import Harness

HTTP_LAYER = pytest.mark.embedded_only("parsing and routing: the same code on every backend")


@HTTP_LAYER
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_answer_head_with_no_body(starling: Harness, path: str) -> None:
    r = await starling.client.head(path)
    assert r.status_code == 200
    assert r.content == b""
    assert (await starling.client.get(path)).status_code == 200


@HTTP_LAYER
async def test_metrics_name_their_charset_once(starling: Harness) -> None:
    r = await starling.client.get("/metrics")
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


@HTTP_LAYER
async def test_a_body_over_the_limit_is_413_payload_too_large(starling: Harness) -> None:
    alice = await starling.register()
    body = b'{"text": "' + b"a" * 20_000_000 + b'"}'
    r = await starling.client.post(
        "/api/starling/v1/tweets",
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert (await starling.client.get(f"/api/starling/v1/users/{alice.id}/tweets")).json()[
        "tweets"
    ] == []


@pytest.mark.parametrize(
    "text",
    [
        "\u200b",  # zero width space
        "\u202e",  # right-to-left override
        "\u2060",  # word joiner
        "\ufeff",  # byte order mark
        "\u200b\u200c\u200d\u200e\u200f",
        " \u3000\u00a0\u2028\t\n",  # spaces of every kind, line separator
        "\u3164\u2800",  # Hangul filler, braille blank
        "\U000e0001\U000e0020",  # language tag, tag space
        "\ufe0f",  # a variation selector alone
    ],
)
async def test_a_tweet_of_only_invisible_characters_is_text_empty(
    starling: Harness, text: str
) -> None:
    alice = await starling.register()
    r = await starling.client.post(
        "/api/starling/v1/tweets", json={"text": text}, headers=alice.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "text_empty"


async def test_visible_text_around_invisible_characters_is_kept(starling: Harness) -> None:
    alice = await starling.register()
    tweet_id = await starling.post(alice, "\u200bhi\u2060")
    assert (await starling.tweet(tweet_id))["text"] == "\u200bhi\u2060"


@HTTP_LAYER
@pytest.mark.parametrize("limit", ["\u0665", "\uff15", "+5", " 5", "5_0", "0x5", "", "1" * 5000])
async def test_limit_takes_ascii_digits_only(starling: Harness, limit: str) -> None:
    alice = await starling.register()
    r = await starling.client.get(
        "/api/starling/v1/timeline/home", params={"limit": limit}, headers=alice.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_limit"


@HTTP_LAYER
async def test_a_plain_ascii_limit_still_works(starling: Harness) -> None:
    alice = await starling.register()
    r = await starling.client.get("/api/starling/v1/timeline/home?limit=5", headers=alice.headers)
    assert r.status_code == 200


@HTTP_LAYER
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/starling/v1/tweets", {"POST"}),
        ("PATCH", "/api/starling/v1/tweets/1", {"GET", "DELETE"}),
        ("POST", "/healthz", {"GET", "HEAD"}),
    ],
)
async def test_405_names_the_allowed_methods(
    starling: Harness, method: str, path: str, allowed: set[str]
) -> None:
    r = await starling.client.request(method, path)
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert allowed <= {m.strip() for m in r.headers["allow"].split(",")}
