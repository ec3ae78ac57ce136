"""The Mastodon-compatible API through HTTP in process (both configurations): what real
clients rely on besides the flows the client tests drive: body shapes, the ``Link``
header, error shapes, entity details, rate limits."""

from __future__ import annotations

import re
from typing import Any

from conftest import Account, Harness, HarnessFactory


def bearer(user: Account) -> dict[str, str]:
    return user.headers  # Starling's own token holds every scope


async def test_follow_takes_a_form_a_json_body_or_none(starling: Harness) -> None:
    reader = await starling.register()
    others = [await starling.register() for _ in range(3)]
    bodies: list[dict[str, Any]] = [{}, {"json": {"reblogs": True}}, {"data": {"reblogs": "1"}}]
    for other, body in zip(others, bodies, strict=True):
        r = await starling.client.post(
            f"/api/v1/accounts/{other.id}/follow", headers=bearer(reader), **body
        )
        assert r.status_code == 200, r.text
        assert r.json()["following"] is True
        assert r.json()["id"] == str(other.id)
    r = await starling.client.get(
        "/api/v1/accounts/relationships",
        params=[("id[]", str(o.id)) for o in others],
        headers=bearer(reader),
    )
    assert [x["following"] for x in r.json()] == [True, True, True]


async def test_link_header_names_next_first_then_prev(starling: Harness) -> None:
    user = await starling.register()
    ids = [await starling.post(user, f"t{i}") for i in range(3)]
    await starling.drain()
    r = await starling.client.get(
        "/api/v1/timelines/home", params={"limit": 2}, headers=bearer(user)
    )
    assert [s["id"] for s in r.json()] == [str(ids[2]), str(ids[1])]
    link = r.headers["link"]
    assert re.fullmatch(
        r'<http://starling\.test/api/v1/timelines/home\?limit=2&max_id=(\d+)>; rel="next", '
        r'<http://starling\.test/api/v1/timelines/home\?limit=2&min_id=(\d+)>; rel="prev"',
        link,
    )
    assert f"max_id={ids[1]}" in link
    assert f"min_id={ids[2]}" in link


async def test_errors_have_mastodons_shape(starling: Harness) -> None:
    user = await starling.register()
    r = await starling.client.get("/api/v1/statuses/not-a-number")
    assert (r.status_code, r.json()) == (404, {"error": "Record not found"})
    r = await starling.client.get("/api/v1/timelines/home")
    assert (r.status_code, r.json()) == (401, {"error": "The access token is invalid"})
    r = await starling.client.post("/api/v1/statuses", json={"status": ""}, headers=bearer(user))
    assert r.status_code == 422
    assert set(r.json()) == {"error"}
    r = await starling.client.post(
        "/api/v1/statuses",
        content=b"{not json",
        headers={**bearer(user), "content-type": "application/json"},
    )
    assert (r.status_code, set(r.json())) == (400, {"error"})


async def test_instance_answers_with_and_without_a_trailing_slash(starling: Harness) -> None:
    for path in ("/api/v1/instance", "/api/v1/instance/", "/api/v2/instance/"):
        r = await starling.client.get(path)
        assert r.status_code == 200, path
        assert r.json()["version"].split(" ")[0] == "4.3.0"
    assert (await starling.client.get("/api/v1/instance")).json()["uri"] == "starling.test"


async def test_an_account_shows_the_day_of_its_last_status(starling: Harness) -> None:
    user = await starling.register()
    r = await starling.client.get(f"/api/v1/accounts/{user.id}")
    assert r.json()["last_status_at"] is None
    await starling.post(user, "hello")
    r = await starling.client.get(f"/api/v1/accounts/{user.id}")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r.json()["last_status_at"])
    assert r.json()["statuses_count"] == 1


async def test_an_idempotency_key_answers_a_retry_with_the_same_status(
    starling: Harness,
) -> None:
    user = await starling.register()
    headers = {**bearer(user), "Idempotency-Key": "abc-1"}
    first = await starling.client.post("/api/v1/statuses", json={"status": "once"}, headers=headers)
    again = await starling.client.post("/api/v1/statuses", json={"status": "once"}, headers=headers)
    assert first.json()["id"] == again.json()["id"]
    r = await starling.client.get(f"/api/v1/accounts/{user.id}/statuses")
    assert len(r.json()) == 1


async def test_account_statuses_leave_out_replies_and_reblogs_on_request(
    starling: Harness,
) -> None:
    user, other = await starling.register(), await starling.register()
    theirs = await starling.post(other, "theirs")
    own = await starling.post(user, "own")
    reply = await starling.post(user, "reply", reply_to=theirs)
    reblog = await starling.retweet(user, theirs)
    path = f"/api/v1/accounts/{user.id}/statuses"
    every = await starling.client.get(path)
    assert [s["id"] for s in every.json()] == [str(reblog), str(reply), str(own)]
    plain = await starling.client.get(
        path, params={"exclude_replies": "true", "exclude_reblogs": "true"}
    )
    assert [s["id"] for s in plain.json()] == [str(own)]


async def test_a_refused_request_is_a_mastodon_429(make_starling: HarnessFactory) -> None:
    starling = await make_starling(rate_posts="1/hour")
    user = await starling.register()
    ok = await starling.client.post("/api/v1/statuses", json={"status": "1"}, headers=bearer(user))
    assert ok.status_code == 200
    assert "x-ratelimit-remaining" in ok.headers
    refused = await starling.client.post(
        "/api/v1/statuses", json={"status": "2"}, headers=bearer(user)
    )
    assert refused.status_code == 429
    assert set(refused.json()) == {"error"}
    assert int(refused.headers["retry-after"]) > 0


async def test_openapi_describes_both_apis(starling: Harness) -> None:
    doc = (await starling.client.get("/openapi.json")).json()
    assert "/api/starling/v1/tweets" in doc["paths"]
    home = doc["paths"]["/api/v1/timelines/home"]["get"]
    assert home["tags"] == ["mastodon"]
    assert {"200", "401", "403"} <= set(home["responses"])
