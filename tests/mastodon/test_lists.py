"""Mastodon.py (an unmodified client library) against a live Starling, in both
configurations: the public timeline, favourites, who favourited or reblogged a status,
and dismissing and clearing notifications, each walked with the client's own
``fetch_next`` / ``fetch_previous`` where the list pages."""

from __future__ import annotations

import io

import httpx
import pytest
from mastodon.errors import MastodonNotFoundError
from PIL import Image
from test_mastodon_py import logged_in

from mastodon import Mastodon
from mastodon_live import LiveServer, live_fixture  # noqa: F401


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 40)).save(out, format="PNG")
    return out.getvalue()


def ids(items: list[object] | None) -> list[str]:
    return [item.id for item in items or []]  # type: ignore[attr-defined]


def test_the_public_timeline_pages_everyones_statuses_without_reblogs(live: LiveServer) -> None:
    alice, bob = live.register("pa"), live.register("pb")
    a, b = logged_in(live, alice), logged_in(live, bob)
    first = a.status_post("public one")
    second = b.status_post("public two", in_reply_to_id=first.id)
    b.status_reblog(first.id)  # public timelines show no reblogs, as on Mastodon
    third = a.status_post("public three")
    # On scale-out the deployment is shared with other tests, whose injected clocks may
    # have made ids above these: read from just above the newest of this test's.
    top = int(third.id) + 1

    page = a.timeline_public(max_id=top, limit=2)
    assert ids(page) == [third.id, second.id]
    older = a.fetch_next(page)
    assert ids(older)[:1] == [first.id]
    newer = a.fetch_previous(older)
    assert ids(newer) == [third.id, second.id]
    assert ids(a.timeline_local(max_id=top, limit=3)) == [third.id, second.id, first.id]
    between = a.timeline_public(max_id=top, since_id=first.id, limit=3)
    assert ids(between) == [third.id, second.id]
    anonymous = Mastodon(api_base_url=live.base_url)
    assert ids(anonymous.timeline_public(max_id=top, limit=3)) == [third.id, second.id, first.id]

    # Every account is local: remote statuses are none; only_media keeps images.
    remote = httpx.get(f"{live.base_url}/api/v1/timelines/public", params={"remote": "true"})
    assert remote.json() == []
    media = a.media_post(io.BytesIO(_png()), mime_type="image/png", file_name="g.png")
    pictured = a.status_post("with a picture", media_ids=[media.id])
    without = a.status_post("without")
    only = a.timeline_public(only_media=True, max_id=int(without.id) + 1, limit=1)
    assert ids(only) == [pictured.id]


def test_favourites_come_most_recent_favourite_first_and_page_by_an_opaque_cursor(
    live: LiveServer,
) -> None:
    alice, bob = live.register("fa"), live.register("fb")
    a, b = logged_in(live, alice), logged_in(live, bob)
    statuses = [a.status_post(f"favourite me {i}") for i in range(3)]
    for status in (statuses[1], statuses[0], statuses[2]):  # not in posting order
        b.status_favourite(status.id)

    page = b.favourites(limit=2)
    assert ids(page) == [statuses[2].id, statuses[0].id]
    assert all(s.favourited for s in page)
    rest = b.fetch_next(page)
    assert ids(rest) == [statuses[1].id]
    assert b.fetch_next(rest) is None  # no next link after the last page
    b.status_unfavourite(statuses[0].id)
    assert ids(b.favourites()) == [statuses[2].id, statuses[1].id]
    assert ids(a.favourites()) == []
    r = httpx.get(
        f"{live.base_url}/api/v1/favourites",
        params={"max_id": statuses[0].id},  # a status id is a cursor too, of another list
        headers={"Authorization": f"Bearer {b.access_token}"},
    )
    assert r.status_code == 200
    r = httpx.get(
        f"{live.base_url}/api/v1/favourites",
        params={"max_id": "x"},
        headers={"Authorization": f"Bearer {b.access_token}"},
    )
    assert r.status_code == 422


def test_favourited_by_and_reblogged_by_list_accounts_and_page(live: LiveServer) -> None:
    author = live.register("ba")
    fans = [live.register("bf") for _ in range(3)]
    a = logged_in(live, author)
    clients = [logged_in(live, f) for f in fans]
    status = a.status_post("who likes this")
    for client in clients:
        client.status_favourite(status.id)
    for client in clients[:2]:
        client.status_reblog(status.id)

    favourited = a.status_favourited_by(status.id)
    assert sorted(ids(favourited)) == sorted(f.id for f in fans)
    reblogged = a.status_reblogged_by(status.id)
    assert ids(reblogged) == [fans[1].id, fans[0].id]  # most recent reblog first

    # Pages of one account, followed through the Link header.
    seen: list[str] = []
    url: str | None = f"{live.base_url}/api/v1/statuses/{status.id}/favourited_by?limit=1"
    while url is not None:
        r = httpx.get(url)
        assert r.status_code == 200
        seen.extend(x["id"] for x in r.json())
        url = r.links.get("next", {}).get("url")
    assert seen == ids(favourited)
    assert len(seen) == 3

    # A muted account is left out of the viewer's lists, as Mastodon does.
    a.account_mute(fans[0].id)
    assert fans[0].id not in ids(a.status_favourited_by(status.id))
    assert ids(a.status_reblogged_by(status.id)) == [fans[1].id]
    with pytest.raises(MastodonNotFoundError):
        a.status_favourited_by("123")


def test_a_dismissed_notification_is_gone_and_clear_empties_the_inbox(live: LiveServer) -> None:
    alice, bob = live.register("na"), live.register("nb")
    a, b = logged_in(live, alice), logged_in(live, bob)
    mine = a.status_post("notify me")
    b.status_favourite(mine.id)
    b.account_follow(alice.id)
    b.status_post(f"hello @{alice.username}")
    live.drain()

    found = a.notifications()
    assert [n.type for n in found] == ["mention", "follow", "favourite"]
    a.notifications_dismiss(found[1].id)
    assert [n.id for n in a.notifications()] == [found[0].id, found[2].id]
    with pytest.raises(MastodonNotFoundError):
        a.notifications_dismiss(found[1].id)
    with pytest.raises(MastodonNotFoundError):
        b.notifications_dismiss(found[0].id)  # not bob's
    a.notifications_clear()
    assert a.notifications() == []
