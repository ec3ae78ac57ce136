"""Media through the HTTP API, on both configurations: upload (validated by
content), fetch with cache headers, thumbnails, attaching to tweets, and the 413/415/422
paths."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from PIL import Image

from conftest import Account, Harness
from starling.domain.media import MAX_MEDIA_BYTES, THUMBNAIL_PX


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (640, 480)) -> bytes:
    """A real image of ``size`` pixels, encoded as ``fmt``."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format=fmt)
    return out.getvalue()


async def upload(
    starling: Harness,
    who: Account,
    data: bytes,
    *,
    filename: str = "photo.png",
    content_type: str = "image/png",
) -> Any:
    return await starling.client.post(
        "/api/starling/v1/media",
        files={"file": (filename, data, content_type)},
        headers=who.headers,
    )


async def uploaded(starling: Harness, who: Account, data: bytes | None = None) -> dict[str, Any]:
    r = await upload(starling, who, data or image_bytes())
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def tweet_with_media(starling: Harness, who: Account, media_ids: list[str]) -> Any:
    return await starling.client.post(
        "/api/starling/v1/tweets",
        json={"text": "look", "media_ids": media_ids},
        headers=who.headers,
    )


# --- upload and fetch ---------------------------------------------------------------------
async def test_an_uploaded_image_is_served_as_uploaded_with_immutable_cache_headers(
    starling: Harness,
) -> None:
    alice = await starling.register()
    data = image_bytes("JPEG", (640, 480))
    # File name and declared type say PNG; the bytes are a JPEG, and the bytes decide.
    r = await upload(starling, alice, data, filename="x.png", content_type="image/png")
    assert r.status_code == 201, r.text
    media = r.json()
    assert media["type"] == "photo"
    assert (media["width"], media["height"]) == (640, 480)
    assert media["url"] == f"/api/starling/v1/media/{media['media_id']}"
    assert media["content_type"] == "image/jpeg"

    r = await starling.client.get(media["url"])  # public: no token needed
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = r.headers["etag"]

    again = await starling.client.get(media["url"], headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


async def test_the_thumbnail_fits_in_150_pixels_and_keeps_the_aspect_ratio(
    starling: Harness,
) -> None:
    alice = await starling.register()
    media = await uploaded(starling, alice, image_bytes("PNG", (600, 300)))
    r = await starling.client.get(media["thumbnail_url"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["etag"] != (await starling.client.get(media["url"])).headers["etag"]
    thumb = Image.open(io.BytesIO(r.content))
    assert thumb.size == (THUMBNAIL_PX, THUMBNAIL_PX // 2)


async def test_unknown_media_is_404(starling: Harness) -> None:
    for path in (
        "/api/starling/v1/media/123456789",
        "/api/starling/v1/media/abc",
        "/api/starling/v1/media/1/thumb",
    ):
        r = await starling.client.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "media_not_found"


# --- refused uploads ------------------------------------------------------------------------
async def test_bytes_that_are_not_an_image_are_415_whatever_the_name_says(
    starling: Harness,
) -> None:
    alice = await starling.register()
    for data in (b"#!/bin/sh\necho not an image\n", image_bytes("PNG")[:200], b""):
        r = await upload(starling, alice, data, filename="cat.png", content_type="image/png")
        assert r.status_code == 415, r.text
        assert r.json()["error"]["code"] == "unsupported_media_type"
    # A real image in a format Starling does not serve (BMP) is refused too.
    r = await upload(starling, alice, image_bytes("BMP"), filename="a.bmp")
    assert r.status_code == 415


async def test_an_upload_over_5_mb_is_413(starling: Harness) -> None:
    alice = await starling.register()
    png = image_bytes("PNG", (32, 32))
    # A valid PNG padded past the limit (bytes after IEND): only the size is wrong.
    r = await upload(starling, alice, png + b"\0" * (MAX_MEDIA_BYTES + 1 - len(png)))
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "media_too_large"
    # Far over: refused by the body limit while the request streams in.
    r = await upload(starling, alice, png + b"\0" * (2 * MAX_MEDIA_BYTES))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "media_too_large"
    # Exactly at the limit is fine.
    r = await upload(starling, alice, png + b"\0" * (MAX_MEDIA_BYTES - len(png)))
    assert r.status_code == 201, r.text


async def test_an_upload_needs_a_token_and_a_file_field(starling: Harness) -> None:
    r = await starling.client.post(
        "/api/starling/v1/media", files={"file": ("a.png", image_bytes())}
    )
    assert r.status_code == 401
    alice = await starling.register()
    r = await starling.client.post(
        "/api/starling/v1/media", files={"photo": ("a.png", image_bytes())}, headers=alice.headers
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "file_missing"
    r = await starling.client.post(
        "/api/starling/v1/media", json={"file": "x"}, headers=alice.headers
    )
    assert r.status_code == 422


# --- attaching ------------------------------------------------------------------------------
async def test_attached_media_appear_on_the_tweet_in_order_everywhere(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    await starling.follow(bob, alice)
    first = await uploaded(starling, alice, image_bytes("PNG", (100, 50)))
    second = await uploaded(starling, alice, image_bytes("JPEG", (30, 60)))
    r = await tweet_with_media(starling, alice, [second["media_id"], first["media_id"]])
    assert r.status_code == 201, r.text
    posted = r.json()
    assert [m["media_id"] for m in posted["media"]] == [second["media_id"], first["media_id"]]
    assert posted["media"][0] == second
    await starling.drain()

    read = (await starling.client.get(f"/api/starling/v1/tweets/{posted['id']}")).json()
    assert read["media"] == posted["media"]
    home = await starling.home_page(bob)
    assert home["tweets"][0]["media"] == posted["media"]
    plain = await starling.post(alice, "no pictures")
    assert (await starling.client.get(f"/api/starling/v1/tweets/{plain}")).json()["media"] == []


async def test_at_most_four_media_per_tweet(starling: Harness) -> None:
    alice = await starling.register()
    ids = [(await uploaded(starling, alice))["media_id"] for _ in range(5)]
    r = await tweet_with_media(starling, alice, ids)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "too_many_media"
    r = await tweet_with_media(starling, alice, ids[:4])
    assert r.status_code == 201
    assert len(r.json()["media"]) == 4


async def test_someone_elses_or_unknown_media_cannot_be_attached(starling: Harness) -> None:
    alice, mallory = await starling.register(), await starling.register()
    mine = await uploaded(starling, alice)
    r = await tweet_with_media(starling, mallory, [mine["media_id"]])
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "media_not_owned"
    r = await tweet_with_media(starling, alice, ["999999999"])
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "media_not_found"
    r = await tweet_with_media(starling, alice, ["not-an-id"])
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_id"
    # Nothing was posted by the refused requests.
    assert (await starling.client.get(f"/api/starling/v1/users/{mallory.id}")).json()[
        "tweets_count"
    ] == 0


@pytest.mark.embedded_only("reads the embedded media directory")
async def test_originals_and_thumbnails_are_files_in_the_media_directory(
    starling: Harness,
) -> None:
    alice = await starling.register()
    media = await uploaded(starling, alice, image_bytes("PNG", (300, 300)))
    names = sorted(os.listdir(starling.core.settings.media_dir))
    assert names == [f"{media['media_id']}.png", f"{media['media_id']}.thumb.png"]
